"""Running an experiment: one code path for the CLI, the TUI and sweeps.

A :class:`Run` executes ``experiment.run(params, ctx)`` — in a background thread with
:meth:`Run.start`, or in the calling thread with :meth:`Run.execute`. Every frame goes,
in order, to

* the session file (appended and flushed at once: nothing is lost if the process dies),
* the run's :class:`~matexplore.frames.RunState` (the final ``run --json`` result),
* a pending buffer that a view drains with :meth:`Run.take_update`, which returns all
  frames since the last call *merged into one* — a view polling at 10–15 Hz redraws at most
  that often however fast the kernel is.

Cancellation is cooperative: :meth:`Run.cancel` sets ``ctx.cancelled``; the runner also
stops pulling frames. An exception ends the run ``failed`` with a one-sentence message
(the traceback is kept for ``--debug``). Either way the session file gets its end record.
"""

from __future__ import annotations

import secrets
import threading
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import describe_exception
from .experiment import Cancelled, ExperimentError, RunContext
from .frames import (Frame, FrameBuffer, FrameError, RunState, check_frame, output_warnings,
                     to_json_value)
from .params import Params, resolve_params
from .plugins import ExperimentEntry
from .session import Recording, SessionWriter

__all__ = ["Run", "draw_seed", "failure_message", "limit_blas_threads"]


def limit_blas_threads() -> None:
    """Use ``$MATEXPLORE_BLAS_THREADS`` (default 1) BLAS threads in this process.

    Runs execute in threads beside the UI (or one per Dask worker process). Measured on the
    2-core development machine, multithreaded OpenBLAS made the small QR/eigenvalue calls of
    the plugins 3–20× slower than one thread, so each run uses one core for BLAS."""
    import os

    from threadpoolctl import threadpool_limits

    raw = os.environ.get("MATEXPLORE_BLAS_THREADS", "1")
    threadpool_limits(limits=int(raw) if raw.isdigit() and int(raw) > 0 else 1, user_api="blas")


def draw_seed() -> int:
    """A fresh random seed (recorded in the result, so the run can be repeated)."""
    return secrets.randbits(63)


def failure_message(exc: BaseException) -> str:
    """One sentence for a failed run: the experiment's own message, or type + message."""
    if isinstance(exc, (ExperimentError, FrameError)):
        return str(exc)
    if type(exc).__module__.startswith("numba"):  # keep the offending expression, file:line
        return describe_exception(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Run:
    """One execution of an experiment (see the module docstring)."""

    def __init__(self, entry: ExperimentEntry, params: Params | Mapping[str, Any] | None = None,
                 *, record: str | Path | Recording | None = None,
                 series_limit: int | None = None,
                 meta: Mapping[str, Any] | None = None, threads: int | None = None,
                 cancel_after: int | None = None) -> None:
        exp = entry.experiment
        self.threads = threads  # cores for the kernels (None: $MATEXPLORE_THREADS or all)
        self.cancel_after = cancel_after  # cancel once this many frames arrived (tests)
        self.meta = dict(meta or {})  # extra top-level keys for header and result (sweeps)
        self.entry = entry
        self.params = params if isinstance(params, Params) else resolve_params(
            exp.all_params(), params or {})
        seed = self.params.get("seed")
        self.seed: int = int(seed) if seed is not None else draw_seed()
        self.recording = record if isinstance(record, Recording) or record is None \
            else Recording(path=Path(record))
        self.record_path = self.recording.path if self.recording else None  # set when opened
        self.warnings: list[str] = []  # e.g. a declared plot column that never appeared
        self._writer: SessionWriter | None = None
        self.status = "pending"
        self.error: str | None = None
        self.traceback: str | None = None
        self.state = RunState(series_limit=series_limit)
        self.started: float | None = None
        self.elapsed = 0.0
        self.done = threading.Event()
        self._cancel = threading.Event()
        self._lock = threading.Lock()  # guards self.state
        self._updates = FrameBuffer()
        self._thread: threading.Thread | None = None

    @property
    def experiment_id(self) -> str:
        return self.entry.experiment.id

    def header(self) -> dict[str, Any]:
        """What a session file records about this run before its first frame."""
        from . import __version__

        exp = self.entry.experiment
        params = dict(self.params.to_dict(), seed=self.seed)
        return {"matexplore": __version__, "plugin": self.entry.plugin.name,
                "plugin_version": self.entry.plugin.version, "experiment": exp.id,
                "experiment_version": str(getattr(exp, "version", "1")),
                "info": exp.info(), "params": params, "seed": self.seed, **self.meta}

    # -- control --------------------------------------------------------------------------
    def start(self) -> Run:
        """Open the session file (``OSError`` if it cannot be created), then execute in a
        daemon thread and return at once."""
        self._open_session()
        self._thread = threading.Thread(target=self.execute, name=f"run:{self.experiment_id}",
                                        daemon=True)
        self._thread.start()
        return self

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelling(self) -> bool:
        return self._cancel.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the run to end; True if it has."""
        return self.done.wait(timeout)

    def abandon(self, reason: str) -> None:
        """End the session file now as ``cancelled`` with ``reason`` (from any thread),
        without waiting for the experiment; its later frames and footer are dropped."""
        self.status, self.error = "cancelled", reason
        if self._writer is not None:
            self._writer.finish("cancelled", reason, time.monotonic() - (self.started or 0.0))

    def take_update(self) -> Frame | None:
        """All frames since the last call, merged into one (None if there were none)."""
        return self._updates.take()

    # -- execution ------------------------------------------------------------------------
    def execute(self) -> Run:
        """Run to the end in the calling thread (what the worker thread runs)."""
        try:
            writer = self._open_session()
        except OSError as exc:  # e.g. the file exists (no --overwrite) or is not writable
            self.status = "failed"
            self.error = f"cannot create the session file {exc.filename}: {exc.strerror or exc}"
            self.done.set()
            return self
        ctx = RunContext(self.seed, self._cancel, threads=self.threads)
        self.started = time.monotonic()
        self.status = "running"
        gen = None
        try:
            params = Params(dict(self.params.to_dict(), seed=self.seed))
            gen = self.entry.experiment.run(params, ctx)
            for frame in gen:
                check_frame(frame, self.experiment_id)
                self._deliver(frame, writer)
                if self._cancel.is_set():
                    break
            self.status = "cancelled" if self._cancel.is_set() else "finished"
            if self.status == "finished":
                with self._lock:
                    exp = self.entry.experiment
                    self.warnings = output_warnings(exp.plot, exp.compare, self.state)
        except Cancelled:
            self.status = "cancelled"
        except Exception as exc:  # the plugin's bug or its ExperimentError
            self.status = "failed"
            self.error = failure_message(exc)
            if not isinstance(exc, ExperimentError):
                self.traceback = traceback.format_exc()
        finally:
            if gen is not None and hasattr(gen, "close"):
                try:
                    gen.close()
                except Exception:  # a generator's cleanup failing must not hide the status
                    pass
            self.elapsed = time.monotonic() - self.started
            if self._writer is not None:
                self._writer.finish(self.status, self.error, self.elapsed, self.warnings)
            self.done.set()
        return self

    def _open_session(self) -> SessionWriter | None:
        if self._writer is None and self.recording is not None:
            self._writer = self.recording.open(self.header())
            self.record_path = self._writer.path
        return self._writer

    def _deliver(self, frame: Frame, writer: SessionWriter | None) -> None:
        if writer is not None:
            writer.write_frame(frame, time.monotonic() - (self.started or 0.0))
        with self._lock:
            self.state.apply(frame)
        self._updates.push(frame)
        if self.cancel_after is not None and self.state.frames >= self.cancel_after:
            self.cancel()  # as if the user cancelled right after this frame

    # -- results --------------------------------------------------------------------------
    def result(self) -> dict[str, Any]:
        """The public ``matexplore run --json`` object."""
        with self._lock:
            body = self.state.result()
        return {"experiment": self.experiment_id,
                "params": to_json_value(dict(self.params.to_dict(), seed=self.seed)),
                "seed": self.seed,
                "status": self.status, "error": self.error, **body, **self.meta}
