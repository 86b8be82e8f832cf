"""Claims: statements of a source document, each a named, re-runnable check with a verdict.

A plugin declares :class:`Claim` objects through the ``matexplore_claims`` hook. A claim
names the source document and the place in it, quotes the statement, and says which
experiment (with which small, seeded parameters) tests it and which *rule* turns the run's
result into a :class:`Verdict`:

* ``holds`` — the source's value agrees with the measurement (or the flag holds);
* ``fails`` — it does not, while the exact/corrected value (when given) does agree, so the
  disagreement is the source's, not the simulation's;
* ``holds-partly`` — a combined rule (:class:`AllOf`) where some parts hold and some fail;
* ``inconclusive`` — evidence missing or not finite, or neither the source nor the exact
  value agrees with the measurement (then the run, not the source, is in question).

Agreement is the shared rule of :func:`matexplore.verdicts.agrees`: within 4 standard
errors when the measurement has one, else within ``tol·max(1, |value|)``.

Verdicts are never stored in a claim: :meth:`Claim.evaluate` computes one from a run
result (the ``matexplore run --json`` object, live or replayed from a session) every time.

Rule keys name *summary keys*; a key ``table[column=value].name`` (or ``table[-1].name``)
reads the cell ``name`` of the row of ``table`` whose ``column`` equals ``value`` (or of
the last row), for quantities an experiment reports per row.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .verdicts import agrees

__all__ = ["Claim", "Verdict", "Rule", "SourceWithinSE", "Close", "AllHold", "ErrorBelow",
           "AllOf", "VERDICTS", "lookup", "check_claim", "group_by_source"]

VERDICTS = ("holds", "fails", "holds-partly", "inconclusive")
_CELL = re.compile(r"^(?P<table>[^\[\]]+)\[(?P<sel>[^\]]+)\]\.(?P<col>.+)$")


def lookup(result: Mapping[str, Any], key: str | None) -> Any:
    """The value of ``key`` in a run result: a summary key or a table cell (module doc)."""
    if key is None:
        return None
    summary = result.get("summary") or {}
    if key in summary:
        return summary[key]
    m = _CELL.match(key)
    if not m:
        return None
    table = (result.get("tables") or {}).get(m["table"])
    if not table or m["col"] not in table["columns"]:
        return None
    cols, rows = list(table["columns"]), table["rows"]
    sel = m["sel"]
    if re.fullmatch(r"-?\d+", sel):
        i = int(sel)
        return rows[i][cols.index(m["col"])] if -len(rows) <= i < len(rows) else None
    name, _, want = sel.partition("=")
    if name not in cols:
        return None
    for row in rows:
        if str(row[cols.index(name)]) == want:
            return row[cols.index(m["col"])]
    return None


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


@dataclass(frozen=True)
class Verdict:
    """A claim's verdict for one run, with the numbers it was decided from."""

    verdict: str
    source_value: Any = None
    exact: Any = None
    measured: Any = None
    se: Any = None
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "source_value": self.source_value,
                "exact": self.exact, "measured": self.measured, "se": self.se,
                "detail": self.detail}


class Rule:
    """Turns a run result into a :class:`Verdict`; subclasses fill in :meth:`evaluate`."""

    def evaluate(self, result: Mapping[str, Any]) -> Verdict:
        raise NotImplementedError

    def keys(self) -> list[str]:
        """Every result key the rule reads (checked against a real run by the tests)."""
        return [v for k, v in vars(self).items() if k in self._KEY_FIELDS and v]

    def describe(self) -> str:
        raise NotImplementedError

    _KEY_FIELDS: tuple[str, ...] = ()


def _fmt(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def _compare(source: Any, exact: Any, measured: Any, se: Any, tol: float | None,
             has_exact: bool, what: str) -> Verdict:
    """The verdict of "source value = measurement" by :func:`agrees`, exact as referee."""
    src_ok = agrees(source, measured, se, tol)
    ex_ok = agrees(exact, measured, se, tol) if has_exact else None
    nums = dict(source_value=source, exact=exact, measured=measured, se=se)
    if src_ok is None:
        missing = "source value" if not _finite(source) else "measurement"
        return Verdict("inconclusive", **nums, detail=f"no finite {missing} to compare")
    if src_ok:
        return Verdict("holds", **nums, detail=f"source value agrees with the {what}")
    if has_exact and not ex_ok:
        return Verdict("inconclusive", **nums,
                       detail=f"neither the source nor the exact value agrees with the {what}")
    tail = "; the exact value does" if has_exact else ""
    return Verdict("fails", **nums, detail=f"source value disagrees with the {what}{tail}")


@dataclass(frozen=True)
class SourceWithinSE(Rule):
    """Holds when |source − measured| ≤ 4 SE (a Monte-Carlo measurement with its SE).

    ``exact`` (optional) is the exact/corrected value; when the source fails it must agree
    with the measurement by the same rule, else the verdict is ``inconclusive``."""

    source: str
    measured: str
    se: str
    exact: str | None = None
    _KEY_FIELDS = ("source", "measured", "se", "exact")

    def evaluate(self, result: Mapping[str, Any]) -> Verdict:
        v = [lookup(result, k) for k in (self.source, self.exact, self.measured, self.se)]
        if not (_finite(v[3]) and v[3] > 0):
            return Verdict("inconclusive", *v, detail="the measurement has no standard error")
        return _compare(*v, None, self.exact is not None, "measurement (4 SE)")

    def describe(self) -> str:
        return f"|{self.source} − {self.measured}| ≤ 4·{self.se}"


@dataclass(frozen=True)
class Close(Rule):
    """Holds when |source − measured| ≤ tol·max(1, |source|): a deterministic comparison
    (closed form vs ODE, …) or a measurement whose noise is far below ``tol``."""

    source: str
    measured: str
    tol: float
    exact: str | None = None
    _KEY_FIELDS = ("source", "measured", "exact")

    def evaluate(self, result: Mapping[str, Any]) -> Verdict:
        v = [lookup(result, k) for k in (self.source, self.exact, self.measured)]
        return _compare(*v, None, self.tol, self.exact is not None,
                        f"reference (tol {self.tol:g})")

    def describe(self) -> str:
        return f"|{self.source} − {self.measured}| ≤ {self.tol:g}·max(1, |{self.source}|)"


@dataclass(frozen=True)
class AllHold(Rule):
    """Holds when the 0/1 flag (or count) ``key`` equals ``expect``: e.g. "the bound holds
    at every layer and starting point" (``bound_A_holds`` = 1) or "no violations" (a count,
    ``expect=0``). ``source``/``exact``/``measured`` optionally name keys shown beside it
    (e.g. the source's β, the β needed, the worst ratio)."""

    key: str
    expect: int = 1
    source: str | None = None
    exact: str | None = None
    measured: str | None = None
    _KEY_FIELDS = ("key", "source", "exact", "measured")

    def evaluate(self, result: Mapping[str, Any]) -> Verdict:
        flag = lookup(result, self.key)
        nums = dict(source_value=lookup(result, self.source), exact=lookup(result, self.exact),
                    measured=lookup(result, self.measured) if self.measured else flag)
        if not _finite(flag):
            return Verdict("inconclusive", **nums, detail=f"{self.key} was not determined")
        ok = flag == self.expect
        return Verdict("holds" if ok else "fails", **nums,
                       detail=f"{self.key} = {_fmt(flag)} (claim needs {self.expect})")

    def describe(self) -> str:
        return f"{self.key} = {self.expect}"


@dataclass(frozen=True)
class ErrorBelow(Rule):
    """Holds when the source formula's error ``error`` (against the measurement) is at most
    ``tol``; ``exact_error`` is the corrected formula's error — when it exceeds ``tol`` too,
    the verdict is ``inconclusive`` (the measurement itself is off). The verdict shows the
    source formula's error as ``measured`` and the corrected one's as ``exact``."""

    error: str
    tol: float
    exact_error: str | None = None
    _KEY_FIELDS = ("error", "exact_error")

    def evaluate(self, result: Mapping[str, Any]) -> Verdict:
        err, ex = lookup(result, self.error), lookup(result, self.exact_error)
        nums = dict(source_value=None, exact=ex, measured=err)
        if not _finite(err):
            return Verdict("inconclusive", **nums, detail=f"{self.error} is not a finite number")
        if abs(err) <= self.tol:
            return Verdict("holds", **nums, detail=f"error {_fmt(err)} ≤ {self.tol:g}")
        if self.exact_error is not None and not (_finite(ex) and abs(ex) <= self.tol):
            return Verdict("inconclusive", **nums, detail="the corrected formula is off too")
        return Verdict("fails", **nums, detail=f"error {_fmt(err)} > {self.tol:g}")

    def describe(self) -> str:
        return f"|{self.error}| ≤ {self.tol:g}"


@dataclass(frozen=True)
class AllOf(Rule):
    """Several rules on one run: all hold → holds, all fail → fails, a mix → holds-partly,
    any inconclusive → inconclusive. The numbers shown are the first part's."""

    parts: tuple[Rule, ...]
    labels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.parts:
            raise ValueError("AllOf needs at least one rule")

    def evaluate(self, result: Mapping[str, Any]) -> Verdict:
        vs = [r.evaluate(result) for r in self.parts]
        names = list(self.labels) + [f"part {i + 1}" for i in range(len(self.labels), len(vs))]
        kinds = {v.verdict for v in vs}
        if "inconclusive" in kinds:
            word = "inconclusive"
        elif kinds == {"holds"}:
            word = "holds"
        elif kinds == {"fails"}:
            word = "fails"
        else:
            word = "holds-partly"
        detail = "; ".join(f"{n}: {v.verdict}" for n, v in zip(names, vs))
        first = vs[0]
        return Verdict(word, first.source_value, first.exact, first.measured, first.se, detail)

    def keys(self) -> list[str]:
        return [k for r in self.parts for k in r.keys()]

    def describe(self) -> str:
        return " and ".join(r.describe() for r in self.parts)


@dataclass(frozen=True)
class Claim:
    """One statement of a source document and how to check it (see the module docstring).

    ``id`` is dotted like an experiment id (``kernel-maps.beta-a-bound``); ``source`` is the
    document's short key and ``source_title`` its title; ``location`` the section /
    theorem / equation; ``statement`` the formula as the source gives it; ``experiment`` and
    ``params`` (small and fast) the run that tests it, with the fixed ``seed``; ``rule``
    the :class:`Rule`; ``corrected`` the right statement when the source's is wrong (or a
    note confirming it)."""

    id: str
    source: str
    source_title: str
    location: str
    statement: str
    experiment: str
    rule: Rule
    params: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 1
    corrected: str = ""

    def run_params(self) -> dict[str, Any]:
        """The parameters of the claim's run, seed included."""
        return {**dict(self.params), "seed": self.seed}

    def evaluate(self, result: Mapping[str, Any]) -> Verdict:
        """The verdict for a run result; ``inconclusive`` unless the run finished."""
        if result.get("status") != "finished":
            why = result.get("error") or result.get("status")
            return Verdict("inconclusive", detail=f"the run did not finish ({why})")
        return self.rule.evaluate(result)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "source": self.source, "source_title": self.source_title,
                "location": self.location, "statement": self.statement,
                "experiment": self.experiment, "params": dict(self.params),
                "seed": self.seed, "rule": self.rule.describe(), "corrected": self.corrected}


def check_claim(obj: Any, experiments: Mapping[str, Any]) -> Claim:
    """Validate a declared claim against the registered experiments (name → entry);
    raise ValueError with one sentence naming what is wrong."""
    from .experiment import ID_PATTERN
    from .params import ParamError, resolve_params

    if not isinstance(obj, Claim):
        raise ValueError(f"matexplore_claims returned {obj!r}, not a Claim")
    if not ID_PATTERN.match(obj.id):
        raise ValueError(f"claim id {obj.id!r} is invalid (expected lowercase dotted words, "
                         "e.g. 'my-plugin.my-claim')")
    if not isinstance(obj.rule, Rule):
        raise ValueError(f"claim {obj.id} has no rule (a matexplore.claims.Rule)")
    entry = experiments.get(obj.experiment)
    if entry is None:
        raise ValueError(f"claim {obj.id} names unknown experiment {obj.experiment!r}")
    try:
        resolve_params(entry.experiment.all_params(), obj.run_params())
    except ParamError as exc:
        raise ValueError(f"claim {obj.id} has invalid params for {obj.experiment}: {exc}") \
            from None
    return obj


def group_by_source(claims: Sequence[Claim]) -> dict[str, list[Claim]]:
    """Claims grouped by source key, in declaration order."""
    out: dict[str, list[Claim]] = {}
    for c in claims:
        out.setdefault(c.source, []).append(c)
    return out
