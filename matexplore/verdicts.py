"""Theory beside measurement: the rows of the summary panel and the rule that marks them.

One module decides, for the TUI's summary panel, the CLI's text output, the Python API's
``Result.compare()`` and the claims audit, how a run's summary is read:

* **compare** rows (from the experiment's :class:`~matexplore.frames.Compare` list):
  quantity | theory | source says | measured | error, with the error in standard errors
  when the measurement has an SE, else relative (%), and a mark by :func:`agrees`;
* **check** rows (:class:`~matexplore.frames.Check`): "bound A holds" / "violated (…)";
* **output** rows: every other summary key — except the run's own inputs (a key equal to a
  parameter name is an echo of the input, not a result) — with keys ending in
  ``_source`` set apart as what the source document says.

The rule (shared with the audit): a value *agrees* with a measurement when
|value − measured| ≤ 4·SE if the measurement has a finite positive SE, or
|value − measured| ≤ tol·max(1, |value|) for a deterministic comparison with a tolerance.
Without either, no verdict is given (``None``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["SE_LIMIT", "SummaryRow", "agrees", "error_of", "summary_rows", "error_text",
           "mark", "value_text"]

SE_LIMIT = 4.0  # |value − measured| ≤ 4 SE: a 4-sigma event has probability 6e-5


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v)


def _finite(v: Any) -> bool:
    x = _num(v)
    return x is not None and math.isfinite(x)


def agrees(value: Any, measured: Any, se: Any = None, tol: float | None = None) -> bool | None:
    """The shared verdict rule (module docstring); ``None`` when no rule applies."""
    if not (_finite(value) and _finite(measured)):
        return None
    diff = abs(float(measured) - float(value))
    if _finite(se) and float(se) > 0:
        return diff <= SE_LIMIT * float(se)
    if tol is not None:
        return diff <= tol * max(1.0, abs(float(value)))
    return None


def error_of(value: Any, measured: Any, se: Any = None) -> tuple[float | None, str]:
    """measured − value in SE (unit ``"se"``), else relative in % (``"%"``), else absolute
    (``"abs"``, when the value is 0); ``(None, "")`` when either is not a finite number."""
    if not (_finite(value) and _finite(measured)):
        return None, ""
    diff = float(measured) - float(value)
    if _finite(se) and float(se) > 0:
        return diff / float(se), "se"
    if float(value) != 0:
        return 100.0 * diff / abs(float(value)), "%"
    return diff, "abs"


@dataclass(frozen=True)
class SummaryRow:
    """One row of the summary panel (see the module docstring for the kinds).

    ``ok`` is the mark of theory vs measured, ``source_ok`` of source vs measured (both by
    :func:`agrees`); ``error``/``error_unit`` are measured − theory (see :func:`error_of`).
    For a check row ``ok`` is whether it holds and ``text`` says so in words."""

    kind: str                       # "compare" | "check" | "source" | "output"
    label: str
    measured: Any = None
    theory: Any = None
    source: Any = None
    se: Any = None
    error: float | None = None
    error_unit: str = ""
    ok: bool | None = None
    source_ok: bool | None = None
    text: str = ""
    help: str = ""
    key: str = ""                   # the measured summary key

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _check_row(c: Mapping[str, Any], summary: Mapping[str, Any]) -> SummaryRow:
    raw = summary.get(c["holds"])
    holds = None if raw is None or _num(raw) is None else bool(raw)
    detail = summary.get(c["detail"]) if c.get("detail") else None
    extra = ""
    if detail is not None:
        extra = f" ({c.get('detail_label') or c['detail']} {_fmt(detail)})"
    word = {True: "holds", False: "violated", None: "not determined"}[holds]
    return SummaryRow(kind="check", label=c["label"], measured=raw, ok=holds,
                      text=f"{c['label']} {word}{extra}", help=c.get("help", ""),
                      key=c["holds"])


def _compare_row(c: Mapping[str, Any], summary: Mapping[str, Any]) -> SummaryRow:
    theory, measured = summary.get(c["theory"]), summary.get(c["measured"])
    se = summary.get(c["se"]) if c.get("se") else None
    source = summary.get(c["source"]) if c.get("source") else None
    tol = c.get("tol")
    error, unit = error_of(theory, measured, se)
    return SummaryRow(kind="compare", label=c["label"], measured=measured, theory=theory,
                      source=source, se=se, error=error, error_unit=unit,
                      ok=agrees(theory, measured, se, tol),
                      source_ok=agrees(source, measured, se, tol) if c.get("source") else None,
                      help=c.get("help", ""), key=c["measured"])


def summary_rows(info: Mapping[str, Any], summary: Mapping[str, Any],
                 params: Mapping[str, Any] | None = None) -> list[SummaryRow]:
    """The summary panel for a run: compare rows, check rows, then the other outputs.

    ``info`` is :meth:`Experiment.info` (or a session header's ``info``), ``summary`` the
    run's summary, ``params`` its parameters (their names are not shown as outputs)."""
    compares = list(info.get("compare") or [])
    checks = list(info.get("checks") or [])
    rows = [_compare_row(c, summary) for c in compares]
    rows += [_check_row(c, summary) for c in checks]
    used = {c[k] for c in compares for k in ("theory", "measured", "se", "source") if c.get(k)}
    used |= {c[k] for c in checks for k in ("holds", "detail") if c.get(k)}
    inputs = set(params or {}) | set(info.get("params") or {}) | {"seed"}
    rest = [(k, v) for k, v in summary.items() if k not in used and k not in inputs]
    rows += [SummaryRow(kind="source", label=k, source=v, key=k)
             for k, v in rest if k.endswith("_source")]
    rows += [SummaryRow(kind="output", label=k, measured=v, key=k)
             for k, v in rest if not k.endswith("_source")]
    return rows


# -- text for terminals and reports -----------------------------------------------------------
MARKS = {True: "✓", False: "✗", None: ""}


def mark(ok: bool | None) -> str:
    """✓ when the rule says the values agree, ✗ when they don't, "" without a verdict."""
    return MARKS[ok]


def value_text(v: Any, se: Any = None) -> str:
    """A value in 6 significant digits ("—" for none), with "± SE" when it has a finite SE."""
    text = "—" if v is None else f"{v:.6g}" if isinstance(v, float) else str(v)
    return f"{text} ± {float(se):.2g}" if _finite(v) and _finite(se) else text


def error_text(error: float | None, unit: str) -> str:
    """An :func:`error_of` result as a cell: "+1.2 SE", "−3 %", "+0.0012" (absolute, when
    the theory is 0), "—" when there is none. The minus sign is U+2212."""
    if error is None or not math.isfinite(error):
        return "—"
    sign = "−" if error < 0 else "+"
    size = abs(error)
    if unit == "se":
        return f"{sign}{size:.1f} SE"
    if unit == "%":
        return f"{sign}{size:.2g} %" if size < 100 else f"{sign}{size:.0f} %"
    return f"{sign}{size:.3g}"
