"""The claims audit: run every selected claim's experiment and compute its verdict.

Each claim is one ordinary :class:`~matexplore.runner.Run` of its experiment with the
claim's parameters and seed, recorded as a session ``<claim id>.jsonl`` in the audit
directory (default ``<sessions>/audit-<UTC time>/``), so every verdict can be replayed and
rerun. Claims run in parallel: on a thread pool locally (the plugins' numba kernels release
the GIL), or as tasks on a Dask cluster when a scheduler address is given (the worker
writes the session; the directory must then be shared). Verdicts are computed here, from
the finished run's result, by :meth:`Claim.evaluate` — never stored.
"""

from __future__ import annotations

import datetime as _dt
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .claims import Claim, Verdict, group_by_source
from .params import suggest
from .plugins import Registry

__all__ = ["ClaimOutcome", "select_claims", "audit_dir", "run_claim", "run_audit",
           "outcome_from_session", "latest_outcomes", "UnknownClaim"]


class UnknownClaim(LookupError):
    """A --claim or --source that no plugin declares (the message suggests one)."""


@dataclass
class ClaimOutcome:
    """A claim with its run's result and the verdict computed from it."""

    claim: Claim
    result: dict[str, Any]
    verdict: Verdict
    session: Path | None = None
    elapsed: float = 0.0
    info: dict[str, Any] | None = None   # the experiment's info (for figures and reports)
    versions: dict[str, str] | None = None

    @property
    def failed(self) -> bool:
        """True when the claim's run could not be executed to the end."""
        return self.result.get("status") != "finished"

    def to_json(self) -> dict[str, Any]:
        return {**self.claim.to_json(), **self.verdict.to_json(),
                "status": self.result.get("status"), "error": self.result.get("error"),
                "session": str(self.session) if self.session else None,
                "elapsed": round(self.elapsed, 3), "versions": self.versions or {}}


def select_claims(registry: Registry, sources: Sequence[str] = (),
                  ids: Sequence[str] = ()) -> list[Claim]:
    """The registered claims of the given sources and ids (all when both are empty)."""
    claims = list(registry.claims.values())
    known_sources = sorted({c.source for c in claims})
    for s in sources:
        if s not in known_sources:
            raise UnknownClaim(f"Unknown source {s!r}{suggest(s, known_sources)}; known "
                               f"sources: {', '.join(known_sources)}.")
    for i in ids:
        if i not in registry.claims:
            raise UnknownClaim(f"Unknown claim {i!r}{suggest(i, list(registry.claims))}; "
                               "run 'matexplore audit --list' to see them.")
    chosen = claims if not sources and not ids else \
        [c for c in claims if c.source in sources or c.id in ids]
    return [c for group in group_by_source(chosen).values() for c in group]


def audit_dir(base: Path) -> Path:
    """A fresh ``audit-<UTC time>`` directory name under ``base`` (not created)."""
    stem = f"audit-{_dt.datetime.now(_dt.timezone.utc):%Y%m%d-%H%M%S}"
    path, n = base / stem, 2
    while path.exists():
        path, n = base / f"{stem}-{n}", n + 1
    return path


def run_claim(registry: Registry, claim: Claim, directory: Path | None,
              cancel: Callable[[], bool] | None = None) -> ClaimOutcome:
    """Run one claim (one kernel thread) and evaluate it; ``cancel`` (polled every 0.1 s)
    ends the run early, its verdict then ``inconclusive``."""
    from .runner import Run
    from .session import Recording, _versions

    entry = registry.get(claim.experiment)
    record = directory / f"{claim.id}.jsonl" if directory is not None else None
    # an audit directory holds one session per claim: auditing into it again replaces it
    recording = Recording(record, overwrite=True) if record is not None else None
    run = Run(entry, claim.run_params(), record=recording, threads=1)
    if cancel is None:
        run.execute()
    else:  # a worker thread, cancelled cooperatively (the session is still finalised)
        if cancel():
            run.cancel()
        run.start()
        while not run.wait(0.1):
            if cancel():
                run.cancel()
    result = run.result()
    return ClaimOutcome(claim, result, claim.evaluate(result), record, run.elapsed,
                        entry.experiment.info(), _versions() | {
                            "matexplore": run.header()["matexplore"],
                            entry.plugin.name: entry.plugin.version})


def _dask_task(claim_id: str, plugin_dirs: list[str], directory: str | None) -> dict:
    """What a Dask worker runs: one claim, in the worker's cached registry."""
    from .sweep import worker_registry

    registry = worker_registry(plugin_dirs)
    out = run_claim(registry, registry.claims[claim_id],
                    Path(directory) if directory else None)
    return {"result": out.result, "elapsed": out.elapsed, "info": out.info,
            "versions": out.versions}


def run_audit(registry: Registry, claims: Sequence[Claim], directory: Path | None, *,
              threads: int = 2, scheduler: str | None = None,
              cancel: Callable[[], bool] | None = None) -> Iterator[ClaimOutcome]:
    """Run the claims in parallel; yield each outcome as it finishes."""
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
    if scheduler:
        yield from _run_dask(registry, claims, directory, scheduler)
        return
    stop = threading.Event()

    def stopped() -> bool:
        return stop.is_set() or (cancel is not None and cancel())

    pool = ThreadPoolExecutor(max_workers=max(1, threads))
    try:
        futures = [pool.submit(run_claim, registry, c, directory, stopped) for c in claims]
        for fut in as_completed(futures):
            yield fut.result()
    finally:  # Ctrl-C or the caller stopped early: cancel the rest, end the running ones
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)


def _run_dask(registry: Registry, claims: Sequence[Claim], directory: Path | None,
              scheduler: str) -> Iterator[ClaimOutcome]:
    from distributed import Client, as_completed as dask_completed

    dirs = [str(d) for d in registry.plugin_dirs]
    with Client(scheduler, timeout="10s") as client:
        futures = {client.submit(_dask_task, c.id, dirs,
                                 str(directory.resolve()) if directory else None,
                                 key=f"matexplore-claim-{c.id}-{time.time_ns()}",
                                 pure=False): c for c in claims}
        for fut in dask_completed(list(futures)):
            claim = futures[fut]
            try:
                out = fut.result()
            except Exception as exc:  # infrastructure failure (worker lost after retries)
                result = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
                yield ClaimOutcome(claim, result, claim.evaluate(result))
                continue
            session = directory / f"{claim.id}.jsonl" if directory else None
            yield ClaimOutcome(claim, out["result"], claim.evaluate(out["result"]), session,
                               out["elapsed"], out["info"], out["versions"])


def outcome_from_session(claim: Claim, path: Path) -> ClaimOutcome:
    """Re-evaluate a recorded claim session (raises SessionError if unreadable)."""
    from .session import read_session

    session = read_session(path)
    result = session.result()
    versions = dict(session.header.get("versions") or {})
    versions["matexplore"] = str(session.header.get("matexplore"))
    elapsed = float(session.end.get("elapsed", 0.0)) if session.end else 0.0
    return ClaimOutcome(claim, result, claim.evaluate(result), path, elapsed, session.info,
                        versions)


def latest_outcomes(registry: Registry, base_dirs: Sequence[Path]) -> dict[str, ClaimOutcome]:
    """For each claim, the outcome of its newest recorded audit session under
    ``<dir>/audit-*/`` (verdicts recomputed from the recorded runs)."""
    from .session import SessionError

    found: dict[str, tuple[float, Path]] = {}
    for base in base_dirs:
        for path in base.glob("audit-*/*.jsonl") if base.is_dir() else ():
            cid, mtime = path.stem, path.stat().st_mtime
            if cid in registry.claims and (cid not in found or found[cid][0] < mtime):
                found[cid] = (mtime, path)
    out = {}
    for cid, (_, path) in found.items():
        try:
            out[cid] = outcome_from_session(registry.claims[cid], path)
        except SessionError:
            continue  # an unreadable file does not hide the others
    return out
