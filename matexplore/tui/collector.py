"""When the app's garbage collector may pause the UI, and for how long.

A full (generation-2) collection walks every tracked object. In the TUI that is NumPy,
numba, the plugins and Textual (about 120,000 objects once the first screen is up) plus
Textual's render caches, which grow to some 180,000 objects while run tabs stream (each
cached ``Strip`` holds seven small caches). Walking them all took 120–200 ms on the
2-core reference machine, every few seconds of a live run: the largest single stall in
``benchmarks/ui_latency.py``.

The policy, with :func:`gc.freeze` (which moves every object alive now into a permanent
generation the collector no longer walks; they are still freed by reference counting):

* when the first screen is up, freeze what is alive: it lives as long as the app;
* while a run is live, freeze the survivors of every full collection, so the next full
  collection walks only what was allocated since (young garbage cycles are still found
  by the generation-0/1 collections as before);
* once no run has been live for :data:`SETTLE` seconds, unfreeze and collect everything
  once (cycles among frozen objects that have become garbage since, e.g. the widgets of
  a closed tab, are freed there), then freeze the survivors again.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

__all__ = ["CollectorPolicy", "SETTLE"]

SETTLE = 1.0  # seconds without a live run before the one full collection


class CollectorPolicy:
    """Apply the policy above for an app: it tells :meth:`runs_changed` whether a run is
    live; ``later(delay, fn)`` schedules ``fn`` on the app's event loop (``App.set_timer``).
    The collector's callback reads only a flag: it may run in any thread."""

    def __init__(self, later: Callable[[float, Callable[[], None]], Any]) -> None:
        self._later = later
        self._live = False
        self._installed = False

    def start(self) -> None:
        """Freeze what is alive and watch full collections."""
        gc.freeze()
        if not self._installed:
            gc.callbacks.append(self._after_collection)
            self._installed = True

    def stop(self) -> None:
        """Hand everything back to the collector (the app is closing)."""
        if self._installed:
            gc.callbacks.remove(self._after_collection)
            self._installed = False
        gc.unfreeze()

    def runs_changed(self, live: bool) -> None:
        """A run started or ended; ``live``: is one live now. Once none has been live for
        SETTLE seconds, compact."""
        was, self._live = self._live, live
        if was and not live:
            self._later(SETTLE, self._compact)

    def _after_collection(self, phase: str, info: dict[str, int]) -> None:
        if phase == "stop" and info.get("generation") == 2 and self._live:
            gc.freeze()

    def _compact(self) -> None:
        if self._installed and not self._live:
            gc.unfreeze()
            gc.collect()
            gc.freeze()
