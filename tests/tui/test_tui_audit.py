"""The Audit tab (F8): claims grouped by source with their last recorded verdict; run one,
a source or all; verdicts fill in live; Enter replays a claim's recorded run."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable

from matexplore.audit import run_claim
from matexplore.plugins import load_registry
from matexplore.session import read_session
from matexplore.tui.app import MatexploreApp
from matexplore.tui.audit import AuditPane
from test_tui_flows import SIZE, aio, wait_for
from tuitest_plugin import write_plugins

CLAIMS = '''
from matexplore import AllHold, Claim, ErrorBelow, hookimpl

def _c(cid, source, rule, **params):
    return Claim(id=cid, source=source, source_title=source.title(), location="Eq. 1",
                 statement="s", experiment="tuitest.walk", params=params, seed=3, rule=rule)

@hookimpl
def matexplore_claims():
    return [_c("tuitest.steps", "paper-a", AllHold("k", expect=4), steps=4),
            _c("tuitest.small", "paper-a", ErrorBelow("final", 1e-9), steps=4),
            _c("tuitest.other", "paper-b", AllHold("k", expect=2), steps=2)]
'''


def _registry(tmp_path: Path):
    plugins = write_plugins(tmp_path / "plugins")
    (plugins / "tuiclaims.py").write_text(CLAIMS, encoding="utf-8")
    return load_registry([plugins], use_entry_points=False, use_env=False)


def _verdicts(pane: AuditPane) -> dict[str, str]:
    table = pane.query_one(DataTable)
    return {cid: str(table.get_row_at(i)[0]) for i, cid in enumerate(pane._keys) if cid}


@aio
async def test_audit_tab_runs_claims_live_and_opens_their_sessions(tmp_path: Path) -> None:
    registry = _registry(tmp_path)
    sessions = tmp_path / "sessions"
    # one claim already recorded by an earlier audit: its verdict shows on opening
    run_claim(registry, registry.claims["tuitest.other"], sessions / "audit-20260101-000000")
    app = MatexploreApp(registry=registry, session_dirs=[sessions])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f8")
        pane = app.main.query_one(AuditPane)
        await wait_for(pilot, lambda: app.focused is pane.query_one(DataTable))
        assert _verdicts(pane) == {"tuitest.steps": "—", "tuitest.small": "—",
                                   "tuitest.other": "holds"}
        assert pane.selected.id == "tuitest.steps"  # the first claim, under its source row
        await pilot.press("g")  # the whole source paper-a
        await wait_for(pilot, lambda: not pane.pending, timeout=30)
        assert _verdicts(pane) == {"tuitest.steps": "holds", "tuitest.small": "fails",
                                   "tuitest.other": "holds"}
        recorded = pane.outcomes["tuitest.small"].session
        assert recorded.parent.name.startswith("audit-") and recorded.parent != \
            sessions / "audit-20260101-000000"
        # the verdict shown is the one the recorded run gives, read back independently
        session = read_session(recorded)
        assert registry.claims["tuitest.small"].evaluate(session.result()).verdict == "fails"
        await pilot.press("down", "enter")  # tuitest.small → its recorded run in a replay tab
        await wait_for(pilot, lambda: app.main.active_view is not None)
        view = app.main.active_view
        assert view.mode == "replay"
        await wait_for(pilot, lambda: not view.running)
        assert view.result()["summary"] == session.result()["summary"]
        await pilot.press("f8", "a")  # everything again: a new verdict for every claim
        await wait_for(pilot, lambda: not pane.pending, timeout=30)
        assert set(_verdicts(pane).values()) == {"holds", "fails"}
