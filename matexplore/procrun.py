"""Running an experiment in a child process: the TUI's frame source for :class:`~.runner.Run`.

:class:`InProcess` is a frame source (see :data:`matexplore.runner.FrameSource`): it starts
one worker process per run, from a ``forkserver`` that has preloaded matexplore, NumPy,
numba and the entry-point plugins (never a plain ``fork`` of the threaded UI process). The
child loads the same registry (plugin directories, entry points, environment), runs
``experiment.run(params, ctx)`` with the run's params, seed and threads — kernels still run
in ``nogil`` threads inside it — and streams every frame to the parent over a pipe as its
JSON encoding (:meth:`Frame.to_json`). The parent decodes it and hands it to the shared
runner path (``check_frame``, session writer, ``RunState``, buffer, warnings): the parent
stays the only writer of the session file, and its interpreter only draws.

What a child does cannot take the parent down. A child that crashes (a segfault), exits
(``os._exit``) or exceeds its memory limit (``RLIMIT_AS`` = ``$MATEXPLORE_RUN_MEMORY``,
default half the machine's RAM) ends its run ``failed`` with one sentence; one that does
not stop within :data:`GRACE` seconds of a cancel is terminated and ends ``cancelled``.
The child's stdout/stderr go to a temporary file (they would garble the terminal UI); its
tail is kept as the run's traceback for ``--debug``. If the parent dies, the child sees
its control pipe close, cancels and exits.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from .experiment import Cancelled, ExperimentError, RunContext
from .frames import Frame, check_frame

if TYPE_CHECKING:
    from .plugins import Registry
    from .runner import Run

__all__ = ["InProcess", "memory_limit", "run_nice", "warm_up", "ChildFailed", "GRACE"]

GRACE = 2.0  # seconds a cancelled child may take to stop before it is terminated
_POLL = 0.1  # seconds between checks of the child while no message arrives
_PRELOAD = ["__main__", "matexplore.runner", "matexplore.procrun", "numpy", "numba"]
_lock = threading.Lock()
_context: Any = None


class ChildFailed(ExperimentError):
    """The child process failed; ``traceback`` is its own (for ``--debug``), if any."""

    def __init__(self, message: str, traceback: str | None = None) -> None:
        super().__init__(message)
        self.traceback = traceback


def memory_limit() -> int | None:
    """The address-space limit of a run's process in bytes, from ``$MATEXPLORE_RUN_MEMORY``
    (``8G``, ``512M``, ``1.5GiB``, bytes; ``0`` or ``none`` for no limit); default half the
    machine's RAM. Raises :class:`ExperimentError` for a value that is not a size."""
    raw = os.environ.get("MATEXPLORE_RUN_MEMORY", "").strip()
    if raw.upper() in ("0", "NONE"):
        return None
    if not raw:
        try:
            return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
        except (ValueError, OSError):
            return None
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?", raw.upper())
    if m is None:
        raise ExperimentError(f"MATEXPLORE_RUN_MEMORY={raw!r} is not a size (e.g. 8G, 512M, "
                              "or none)")
    return int(float(m[1]) * 1024 ** " KMGT".index(m[2] or " "))


def run_nice() -> int:
    """How much lower than the UI's the scheduling priority of a run's process is:
    ``$MATEXPLORE_RUN_NICE`` (0–19), default 19, so the UI gets a core whenever it needs
    one while runs saturate the machine; an idle core still goes to the runs."""
    raw = os.environ.get("MATEXPLORE_RUN_NICE", "").strip()
    return min(19, int(raw)) if raw.isdigit() else 19


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"


def _get_context(registry: Registry) -> Any:
    """The forkserver context, its preload set once: matexplore + entry-point plugins."""
    global _context
    with _lock:
        if _context is None:
            ctx = multiprocessing.get_context("forkserver")
            modules = [p.source.split(" ", 2)[2].split(":")[0] for p in registry.plugins
                       if p.source.startswith("entry point ") and p.error is None]
            ctx.set_forkserver_preload(_PRELOAD + modules)
            _context = ctx
        return _context


def warm_up(registry: Registry) -> None:
    """Start the forkserver (it imports NumPy, numba and the plugins once) if it is not
    running yet; call it early (from any thread) so that the first run starts quickly."""
    from multiprocessing import forkserver

    _get_context(registry)
    with _lock:
        # The resource tracker started with it passes sys.stderr's descriptor on; a
        # terminal UI replaces sys.stderr by an object without one.
        saved, sys.stderr = sys.stderr, sys.__stderr__ or sys.stderr
        try:
            forkserver.ensure_running()
        finally:
            sys.stderr = saved


# -- the parent side ------------------------------------------------------------------------
class InProcess:
    """The frame source "a child process loading ``registry``'s plugins" (pass it as
    ``Run(..., frames=InProcess(registry))``; see the module docstring)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def __call__(self, run: Run, ctx: RunContext) -> Iterator[Frame]:
        child = _Child(self.registry, run, ctx)
        try:
            yield from child.frames(ctx)
        finally:
            child.stop()


class _Child:
    """One worker process, its two pipes and its output file."""

    def __init__(self, reg: Registry, run: Run, ctx: RunContext) -> None:
        warm_up(reg)
        mp = _get_context(reg)
        self.limit = memory_limit()
        self.frames_r, frames_w = mp.Pipe(duplex=False)
        ctrl_r, self.ctrl_w = mp.Pipe(duplex=False)
        fd, self.log = tempfile.mkstemp(prefix="matexplore-run-", suffix=".log")
        os.close(fd)
        job = {"experiment": run.experiment_id, "params": run.run_params().to_dict(),
               "seed": run.seed, "threads": ctx.threads, "limit": self.limit, "nice": run_nice(),
               "plugin_dirs": [str(d) for d in reg.plugin_dirs],
               "entry_points": reg.use_entry_points, "env": dict(os.environ), "log": self.log}
        self.proc = mp.Process(target=_child_main, args=(job, frames_w, ctrl_r),
                               name=f"run:{run.experiment_id}", daemon=True)
        self.proc.start()
        frames_w.close()  # the child holds the other ends now
        ctrl_r.close()
        self.cancelled_at: float | None = None

    def frames(self, ctx: RunContext) -> Iterator[Frame]:
        while True:
            if ctx.cancelled and self.cancelled_at is None:
                self.cancel()
            if self.cancelled_at is not None and time.monotonic() - self.cancelled_at > GRACE:
                return  # the run ends cancelled; stop() terminates the child
            if not self.frames_r.poll(_POLL):
                if not self.proc.is_alive() and not self.frames_r.poll(0):
                    raise self._died()
                continue
            try:
                msg = json.loads(self.frames_r.recv_bytes())
            except EOFError:
                raise self._died() from None
            if "frame" in msg:
                yield Frame.from_json(msg["frame"])
            elif "error" in msg:
                raise ChildFailed(msg["error"], msg.get("traceback"))
            else:  # {"end": ...}: the generator ended or stopped after a cancel
                return

    def cancel(self) -> None:
        self.cancelled_at = time.monotonic()
        try:
            self.ctrl_w.send_bytes(b"cancel")
        except OSError:  # the child has gone already
            pass

    def _died(self) -> Exception:
        self.proc.join(1.0)
        code = self.proc.exitcode
        tail = self._log_tail()
        if self.cancelled_at is not None:  # e.g. it ended by a signal after the cancel
            return Cancelled()
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            what = {"SIGSEGV": "crashed (segmentation fault)", "SIGKILL": "was killed (SIGKILL"
                    ", e.g. by the out-of-memory killer)", "SIGABRT": "aborted (SIGABRT)",
                    "SIGBUS": "crashed (bus error)"}.get(name, f"was killed by {name}")
            return ChildFailed(f"the experiment's process {what}; the results end early",
                               tail)
        return ChildFailed(f"the experiment's process exited with code {code} before the "
                           "run ended; the results end early", tail)

    def _log_tail(self, limit: int = 8000) -> str | None:
        try:
            with open(self.log, "rb") as fh:
                fh.seek(max(0, os.path.getsize(self.log) - limit))
                return fh.read().decode("utf-8", "replace").strip() or None
        except OSError:
            return None

    def stop(self) -> None:
        """End the child: let a cancelled one stop within the grace period, then
        terminate (and kill) it; close the pipes and remove the output file."""
        if self.proc.is_alive():
            if self.cancelled_at is None:
                self.cancel()
            self.proc.join(max(0.0, GRACE - (time.monotonic() - (self.cancelled_at or 0))))
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(1.0)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(1.0)
        for conn in (self.frames_r, self.ctrl_w):
            conn.close()
        try:
            os.unlink(self.log)
        except OSError:
            pass


# -- the child side -------------------------------------------------------------------------
def _child_main(job: Mapping[str, Any], out: Any, ctrl: Any) -> None:
    """Run one experiment and stream its frames (in the worker process)."""
    _redirect_output(job["log"])
    os.environ.clear()
    os.environ.update(job["env"])
    os.nice(job["nice"])
    if job["limit"]:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (job["limit"], job["limit"]))
    cancel = threading.Event()
    threading.Thread(target=_watch_parent, args=(ctrl, cancel), daemon=True).start()

    def send(obj: dict[str, Any]) -> None:
        out.send_bytes(json.dumps(obj, allow_nan=False).encode())

    try:
        entry = _load_entry(job)
        from .params import Params

        ctx = RunContext(job["seed"], cancel, threads=job["threads"])
        gen = entry.experiment.run(Params(dict(job["params"])), ctx)
        try:
            for frame in gen:
                check_frame(frame, job["experiment"])
                send({"frame": frame.to_json()})
                if cancel.is_set():
                    break
        finally:
            if hasattr(gen, "close"):
                gen.close()
        send({"end": "cancelled" if cancel.is_set() else "finished"})
    except MemoryError:  # no traceback: formatting it needs memory the run may not have
        limit = f": it exceeded its limit of {_gib(job['limit'])} ($MATEXPLORE_RUN_MEMORY)" \
            if job["limit"] else ""
        send({"error": f"the run ran out of memory{limit}"})
    except Cancelled:
        send({"end": "cancelled"})
    except Exception as exc:  # the plugin's bug or its ExperimentError
        from .runner import failure_message

        tb = None if isinstance(exc, ExperimentError) else traceback.format_exc()
        send({"error": failure_message(exc), "traceback": tb})


def _redirect_output(path: str) -> None:
    import faulthandler

    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    faulthandler.enable()


def _watch_parent(ctrl: Any, cancel: threading.Event) -> None:
    """Cancel on the parent's word; if the parent has gone, cancel and exit after GRACE."""
    try:
        ctrl.recv_bytes()
        cancel.set()
    except (EOFError, OSError):
        cancel.set()
        time.sleep(GRACE)
        os._exit(1)


def _load_entry(job: Mapping[str, Any]) -> Any:
    from .plugins import load_registry, set_registry
    from .runner import limit_blas_threads

    limit_blas_threads()
    registry = load_registry(job["plugin_dirs"], use_entry_points=job["entry_points"],
                             use_env=False)
    set_registry(registry)
    return registry.get(job["experiment"])
