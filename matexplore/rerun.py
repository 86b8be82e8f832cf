"""Re-executing a recorded session and checking that the numbers match.

A session header records the experiment id, every parameter and the seed, so a rerun is a
fresh :class:`~matexplore.runner.Run` with exactly those values. Results are compared
*exactly* (same machine and versions give bit-identical numbers); any difference is listed
with both values. When the numbers differ and the experiment's ``version`` changed since
the recording (header key ``experiment_version``; sessions from before it was recorded are
version ``"1"``), one sentence says so — the new version was declared to give different
numbers, so the difference is expected; otherwise a different plugin or library version is
pointed out as the likely cause.
"""

from __future__ import annotations

from typing import Any

from .params import ParamError, resolve_params
from .plugins import Registry
from .runner import Run
from .session import Session, SessionError

__all__ = ["rerun_session", "compare_results"]


def rerun_session(session: Session, registry: Registry) -> Run:
    """A not-yet-started Run of the session's experiment with its params and seed."""
    entry = registry.get(session.experiment)
    params = dict(session.header.get("params") or {})
    params["seed"] = session.header.get("seed")
    try:
        resolved = resolve_params(entry.experiment.all_params(), params)
    except ParamError as exc:
        raise SessionError(f"{session.path}: the recorded parameters are no longer valid for "
                           f"{session.experiment} ({exc})") from None
    return Run(entry, resolved)


def _diff(path: str, old: Any, new: Any, out: list[str], limit: int = 20) -> None:
    if len(out) >= limit:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            _diff(f"{path}.{key}", old.get(key, "<missing>"), new.get(key, "<missing>"), out)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new)):
            _diff(f"{path}[{i}]", a, b, out)
    elif old != new:
        out.append(f"{path}: recorded {old!r}, now {new!r}")


def recorded_version(session: Session) -> str:
    """The experiment version a session was recorded with ("1" before it was recorded)."""
    header = session.header
    version = header.get("experiment_version") or (header.get("info") or {}).get("version")
    return str(version) if version is not None else "1"


def current_version(experiment_id: str) -> str | None:
    """The installed experiment's version (None if it is not installed)."""
    from .plugins import get_registry

    entry = get_registry().experiments.get(experiment_id)
    return str(getattr(entry.experiment, "version", "1")) if entry is not None else None


def version_note(session: Session, now: str | None) -> str | None:
    """One sentence when the experiment's version changed since the recording."""
    then = recorded_version(session)
    if now is None or now == then:
        return None
    return (f"{session.experiment} is now version {now} (the session was recorded with "
            f"version {then}), and a new version is declared to change the numbers for the "
            "same params and seed")


def compare_results(session: Session, result: dict[str, Any],
                    version: str | None = None) -> dict[str, Any]:
    """Compare the recorded result with a rerun's: summary, tables and series.

    ``version`` is the rerun experiment's version (default: the installed one)."""
    recorded = session.result()
    diffs: list[str] = []
    note = None
    if session.status == "finished" and result["status"] == "finished":
        for part in ("summary", "tables", "series"):
            _diff(part, recorded[part], result[part], diffs)
    match = not diffs and result["status"] == "finished" and session.status == "finished"
    lines = [f"rerun of {session.experiment} (seed {result['seed']}): "
             f"recorded {session.status}, rerun {result['status']}"]
    if session.status != "finished":
        lines.append("the recorded run did not finish, so there is nothing complete to compare")
    elif result["status"] != "finished":
        lines.append(f"the rerun did not finish: {result.get('error') or result['status']}")
    elif match:
        lines.append(f"MATCH: all {len(recorded['summary'])} summary values, "
                     f"{sum(len(t['rows']) for t in recorded['tables'].values())} table rows "
                     "and all series are identical")
    else:
        note = version_note(session, version or current_version(session.experiment))
        if note:
            lines.append(f"DIFFER, as expected: {note}.")
        else:
            lines.append(f"DIFFER: {len(diffs)} difference(s) (first ones below)")
        lines.extend("  " + d for d in diffs)
        from . import __version__

        then = (session.header.get("plugin_version"), session.header.get("matexplore"))
        if not note and then != (result.get("plugin_version", then[0]), __version__):
            lines.append(f"  note: recorded with matexplore {then[1]}, plugin {then[0]}")
    return {"match": match, "version_changed": note is not None,
            "experiment": session.experiment, "seed": result["seed"],
            "recorded_status": session.status, "rerun_status": result["status"],
            "differences": diffs, "lines": lines}
