"""The audit report: one self-contained Markdown or HTML file a co-author can read.

Per claim: the source and location, the statement as the source gives it, the numbers
(source says | exact | measured ± SE), the verdict and why, the corrected statement, the
parameters, seed and versions that reproduce it (with the command line), and one figure —
the experiment's plot as SVG, inlined in HTML and written beside a ``.md`` file
(``<report>-figures/<claim>.svg``).
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .audit import ClaimOutcome
from .claims import group_by_source

__all__ = ["write_report", "format_number", "render_svg"]

_MARK = {"holds": "✓ holds", "fails": "✗ fails", "holds-partly": "◐ holds partly",
         "inconclusive": "? inconclusive"}


def format_number(v: Any) -> str:
    """A number for the verdict table (4 significant digits), "—" when absent."""
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.4g}" if math.isfinite(v) else str(v)
    return str(v)


def measured_text(o: ClaimOutcome) -> str:
    v = o.verdict
    text = format_number(v.measured)
    if isinstance(v.se, (int, float)) and v.se:
        text += f" ± {format_number(float(v.se))}"
    return text


def render_svg(result: Mapping[str, Any], info: Mapping[str, Any] | None) -> str | None:
    """The experiment's main plot as SVG text — the same figure as ``matexplore plot``
    (:func:`matexplore.figures.figure_for`) — or None when the experiment declares no plot
    or its run has no data for it."""
    import io

    import matplotlib

    from .figures import FigureError, figure_for

    try:
        fig = figure_for(result, info or {})
    except FigureError:
        return None
    if not any(ax.lines or ax.collections for ax in fig.axes):  # nothing numeric to draw
        return None
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "matexplore"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})  # text as text, reproducible
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _command(o: ClaimOutcome) -> str:
    sets = " ".join(f"--set {k}={_param_text(v)}" for k, v in o.claim.run_params().items())
    return f"matexplore run {o.claim.experiment} {sets}".strip()


def _param_text(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return ",".join(map(str, v))
    return str(v)


def _counts(outcomes: Sequence[ClaimOutcome]) -> str:
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.verdict.verdict] = counts.get(o.verdict.verdict, 0) + 1
    return ", ".join(f"{n} {k}" for k, n in counts.items())


def write_report(outcomes: Sequence[ClaimOutcome], path: Path) -> list[Path]:
    """Write the report (``.md`` or ``.html`` by suffix); return every file written."""
    path = Path(path)
    if path.suffix.lower() not in (".md", ".html", ".htm"):
        raise ValueError(f"the report must be a .md or .html file; got {path.name!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    ordered = [o for group in group_by_source([o.claim for o in outcomes]).values()
               for c in group for o in outcomes if o.claim is c]
    if path.suffix.lower() == ".md":
        return _markdown(ordered, path)
    path.write_text(_html(ordered), encoding="utf-8")
    return [path]


def _numbers(o: ClaimOutcome) -> list[tuple[str, str]]:
    v = o.verdict
    return [("source says", format_number(v.source_value)), ("exact", format_number(v.exact)),
            ("measured ± se", measured_text(o)), ("verdict", _MARK[v.verdict]),
            ("why", v.detail)]


def _repro(o: ClaimOutcome) -> list[tuple[str, str]]:
    versions = ", ".join(f"{k} {v}" for k, v in (o.versions or {}).items())
    return [("experiment", o.claim.experiment),
            ("params", json.dumps(o.claim.run_params(), ensure_ascii=False)),
            ("seed", str(o.claim.seed)), ("rule", o.claim.rule.describe()),
            ("versions", versions or "—"), ("rerun", _command(o)),
            ("session", str(o.session) if o.session else "—")]


def _markdown(outcomes: Sequence[ClaimOutcome], path: Path) -> list[Path]:
    figdir = path.with_name(path.stem + "-figures")
    written = [path]
    out = ["# matexplore claims audit", "",
           f"{len(outcomes)} claims: {_counts(outcomes)}. Verdicts: *holds* — the source's "
           "value agrees with the measurement (within 4 standard errors, or to the stated "
           "tolerance); *fails* — it does not while the exact value does; *holds partly* — "
           "some parts of a claim hold; *inconclusive* — no usable evidence.", "",
           "| claim | source says | exact | measured ± se | verdict |", "|---|---|---|---|---|"]
    for o in outcomes:
        v = o.verdict
        out.append(f"| {o.claim.id} | {format_number(v.source_value)} | "
                   f"{format_number(v.exact)} | {measured_text(o)} | {_MARK[v.verdict]} |")
    current = None
    for o in outcomes:
        c = o.claim
        if c.source != current:
            current = c.source
            out += ["", f"## {c.source_title}", ""]
        out += [f"### {c.id} — {_MARK[o.verdict.verdict]}", "",
                f"**Where:** {c.location}  ", f"**Statement:** {c.statement}", ""]
        out += [f"- {k}: {val}" for k, val in _numbers(o)]
        out += ["", f"**Corrected / confirmed:** {c.corrected or '—'}", ""]
        out += [f"- {k}: `{val}`" if k in ("params", "rerun") else f"- {k}: {val}"
                for k, val in _repro(o)]
        svg = render_svg(o.result, o.info)
        if svg:
            figdir.mkdir(parents=True, exist_ok=True)
            fig = figdir / f"{c.id}.svg"
            fig.write_text(svg, encoding="utf-8")
            written.append(fig)
            out += ["", f"![{c.id}]({figdir.name}/{fig.name})"]
        out.append("")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return written


_CSS = """body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}
table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:.2em .5em;text-align:left}
.holds{color:#161}.fails{color:#a11}.holds-partly{color:#a60}.inconclusive{color:#666}
code{background:#f3f3f3}section{border-top:1px solid #ddd;margin-top:1.5em}"""


def _html(outcomes: Sequence[ClaimOutcome]) -> str:
    e = html.escape
    rows = "".join(
        f"<tr><td><a href='#{e(o.claim.id)}'>{e(o.claim.id)}</a></td>"
        f"<td>{e(format_number(o.verdict.source_value))}</td>"
        f"<td>{e(format_number(o.verdict.exact))}</td><td>{e(measured_text(o))}</td>"
        f"<td class='{o.verdict.verdict}'>{e(_MARK[o.verdict.verdict])}</td></tr>"
        for o in outcomes)
    parts = ["<!DOCTYPE html>", "<html><head><meta charset='utf-8'/>",
             "<title>matexplore claims audit</title>", f"<style>{_CSS}</style></head><body>",
             "<h1>matexplore claims audit</h1>",
             f"<p>{len(outcomes)} claims: {e(_counts(outcomes))}. A value <em>agrees</em> "
             "with a measurement within 4 standard errors, or to the stated tolerance.</p>",
             "<table><tr><th>claim</th><th>source says</th><th>exact</th>"
             f"<th>measured ± se</th><th>verdict</th></tr>{rows}</table>"]
    current = None
    for o in outcomes:
        c = o.claim
        if c.source != current:
            current = c.source
            parts.append(f"<h2>{e(c.source_title)}</h2>")
        items = "".join(f"<li>{e(k)}: {e(v)}</li>" for k, v in _numbers(o))
        repro = "".join(f"<li>{e(k)}: <code>{e(v)}</code></li>" for k, v in _repro(o))
        svg = render_svg(o.result, o.info) or "<p>(no figure: the experiment has no plot)</p>"
        parts.append(
            f"<section id='{e(c.id)}'><h3>{e(c.id)} — <span class='{o.verdict.verdict}'>"
            f"{e(_MARK[o.verdict.verdict])}</span></h3>"
            f"<p><b>Where:</b> {e(c.location)}<br/><b>Statement:</b> {e(c.statement)}</p>"
            f"<ul>{items}</ul><p><b>Corrected / confirmed:</b> {e(c.corrected or '—')}</p>"
            f"<ul>{repro}</ul><figure>{svg}</figure></section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
