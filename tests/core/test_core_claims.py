"""Claims and rules: verdicts follow the evidence, bad claims break only their plugin."""

from __future__ import annotations

import math

import pytest

from matexplore import AllHold, AllOf, Claim, Close, ErrorBelow, SourceWithinSE
from matexplore.claims import lookup
from matexplore.plugins import load_registry


def result(summary, tables=None, status="finished"):
    return {"status": status, "error": None, "summary": summary, "tables": tables or {}}


def test_source_within_se_flips_with_the_evidence():
    rule = SourceWithinSE("src", "mc", "se", exact="ex")
    # |src − mc| = 0.39 < 4·0.1: holds; 0.41: fails (the exact value 1.0 agrees)
    assert rule.evaluate(result({"src": 1.39, "mc": 1.0, "se": 0.1, "ex": 1.0})).verdict == "holds"
    v = rule.evaluate(result({"src": 1.41, "mc": 1.0, "se": 0.1, "ex": 1.0}))
    assert (v.verdict, v.source_value, v.exact, v.measured, v.se) == ("fails", 1.41, 1.0, 1.0, 0.1)
    # the measurement agrees with neither: the run, not the source, is in question
    assert rule.evaluate(result({"src": 3.0, "mc": 1.0, "se": 0.1, "ex": 2.0})).verdict \
        == "inconclusive"
    # no SE, or a NaN measurement: no evidence
    assert rule.evaluate(result({"src": 1.0, "mc": 1.0, "se": None})).verdict == "inconclusive"
    assert rule.evaluate(result({"src": 1.0, "mc": math.nan, "se": 0.1})).verdict \
        == "inconclusive"


def test_close_uses_the_shared_tolerance_rule():
    rule = Close("a", "b", tol=1e-6)
    assert rule.evaluate(result({"a": 10.0, "b": 10.0 + 9e-6})).verdict == "holds"  # tol·|a|
    assert rule.evaluate(result({"a": 10.0, "b": 10.0 + 1.1e-5})).verdict == "fails"
    assert rule.evaluate(result({"a": None, "b": 1.0})).verdict == "inconclusive"


def test_all_hold_error_below_and_all_of():
    assert AllHold("ok").evaluate(result({"ok": 1})).verdict == "holds"
    assert AllHold("ok").evaluate(result({"ok": 0})).verdict == "fails"
    assert AllHold("n", expect=0).evaluate(result({"n": 3})).verdict == "fails"
    assert AllHold("ok").evaluate(result({})).verdict == "inconclusive"
    assert ErrorBelow("e", 1e-2).evaluate(result({"e": 5e-3})).verdict == "holds"
    assert ErrorBelow("e", 1e-2, "ex").evaluate(result({"e": 0.08, "ex": 1e-3})).verdict \
        == "fails"
    assert ErrorBelow("e", 1e-2, "ex").evaluate(result({"e": 0.08, "ex": 0.5})).verdict \
        == "inconclusive"
    both = AllOf((AllHold("a"), AllHold("b")), ("A", "B"))
    assert both.evaluate(result({"a": 1, "b": 1})).verdict == "holds"
    assert both.evaluate(result({"a": 0, "b": 0})).verdict == "fails"
    v = both.evaluate(result({"a": 1, "b": 0}))
    assert v.verdict == "holds-partly" and v.detail == "A: holds; B: fails"
    assert both.evaluate(result({"a": 1})).verdict == "inconclusive"


def test_lookup_reads_summary_keys_and_table_cells():
    tables = {"inits": {"columns": ["scheme", "v"], "rows": [["LeCun", 1.5], ["He", 2.5]]}}
    r = result({"k": 3}, tables)
    assert lookup(r, "k") == 3
    assert lookup(r, "inits[scheme=He].v") == 2.5
    assert lookup(r, "inits[-1].v") == 2.5 and lookup(r, "inits[0].v") == 1.5
    assert lookup(r, "inits[scheme=Glorot].v") is None and lookup(r, "inits[5].v") is None
    assert lookup(r, "nope[scheme=He].v") is None and lookup(r, "missing") is None


def test_a_run_that_did_not_finish_is_inconclusive():
    claim = Claim(id="t.c", source="s", source_title="S", location="L", statement="x",
                  experiment="toy.walk", rule=AllHold("ok"))
    v = claim.evaluate(result({"ok": 1}, status="failed") | {"error": "boom"})
    assert v.verdict == "inconclusive" and "boom" in v.detail


CLAIMS_PLUGIN = '''
from matexplore import AllHold, Claim, hookimpl

def _claim(cid, exp, **params):
    return Claim(id=cid, source="toy-paper", source_title="Toy paper", location="Eq. 1",
                 statement="x", experiment=exp, params=params, rule=AllHold("k"))

@hookimpl
def matexplore_claims():
    return [_claim("toy.ok", "toy.walk", steps=3), {CLAIMS}]
'''


@pytest.mark.parametrize("bad, sentence", [
    ('_claim("toy.bad", "toy.wlak")', "claim toy.bad names unknown experiment 'toy.wlak'"),
    ('_claim("Bad Id", "toy.walk")', "claim id 'Bad Id' is invalid"),
    ('_claim("toy.p", "toy.walk", steps=-1)', "claim toy.p has invalid params for toy.walk"),
    ('_claim("toy.ok", "toy.walk")', "claim id 'toy.ok' is already declared"),
    ('"not a claim"', "matexplore_claims returned 'not a claim', not a Claim"),
])
def test_a_bad_claim_marks_its_plugin_broken_with_one_sentence(toy_dir, bad, sentence):
    (toy_dir / "toyclaims.py").write_text(CLAIMS_PLUGIN.replace("{CLAIMS}", bad))
    reg = load_registry([toy_dir], use_entry_points=False, use_env=False)
    info = reg.plugin("toyclaims")
    assert info.error is not None and sentence in info.error and "\n" not in info.error
    assert "toy.ok" in reg.claims and reg.plugin("toy").error is None
