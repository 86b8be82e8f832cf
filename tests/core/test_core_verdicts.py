"""The summary-panel rows and the shared verdict rule (4 SE, or a tolerance)."""

from __future__ import annotations

import math

from matexplore import Check, Compare
from matexplore.verdicts import agrees, error_of, summary_rows


def test_rule_uses_se_when_there_is_one_else_tolerance_else_none():
    assert agrees(1.0, 1.39, se=0.1) is True
    assert agrees(1.0, 1.41, se=0.1) is False
    assert agrees(1.0, 1.0 + 1e-10, tol=1e-9) is True
    assert agrees(100.0, 100.0 + 2e-7, tol=1e-9) is False
    assert agrees(1.0, 1.2) is None
    assert agrees(None, 1.0, se=0.1) is None and agrees(math.nan, 1.0, se=1) is None


def test_error_units():
    assert error_of(1.0, 1.5, 0.25) == (2.0, "se")
    assert error_of(2.0, 1.0) == (-50.0, "%")
    assert error_of(0.0, 0.5) == (0.5, "abs")
    assert error_of(None, 1.0) == (None, "")


def test_rows_separate_compare_check_source_outputs_and_hide_inputs():
    info = {"compare": [Compare("E X", theory="x_exact", measured="x_mc", se="x_se",
                                source="x_source", help="E X = 1").to_json()],
            "checks": [Check("bound A", holds="a_holds", detail="worst",
                             detail_label="worst ratio").to_json()],
            "params": {"eta": {}}}
    summary = {"x_exact": 1.0, "x_mc": 1.05, "x_se": 0.02, "x_source": 2.0, "a_holds": 0,
               "worst": 55.4, "median_source": 0.1, "eta": 0.01, "other": 3, "seed": 1}
    rows = summary_rows(info, summary)
    kinds = [(r.kind, r.label) for r in rows]
    assert kinds == [("compare", "E X"), ("check", "bound A"),
                     ("source", "median_source"), ("output", "other")]
    cmp_row = rows[0]
    assert cmp_row.ok is True and cmp_row.source_ok is False
    assert cmp_row.error_unit == "se" and abs(cmp_row.error - 2.5) < 1e-12
    assert rows[1].ok is False and rows[1].text == "bound A violated (worst ratio 55.4)"


def test_text_cells():
    from matexplore.verdicts import error_text, mark, value_text

    assert error_text(*error_of(1.0, 1.5, 0.25)) == "+2.0 SE"
    assert error_text(*error_of(2.0, 1.94)) == "−3 %"
    assert error_text(*error_of(1.0, 251.0)) == "+25000 %"
    assert error_text(*error_of(0.0, -0.00123)) == "−0.00123"
    assert error_text(*error_of(None, 1.0)) == "—"
    assert value_text(0.123456789, 0.00123) == "0.123457 ± 0.0012"
    assert value_text(None) == "—" and value_text(3) == "3" and value_text(1.0, None) == "1"
    assert (mark(True), mark(False), mark(None)) == ("✓", "✗", "")
