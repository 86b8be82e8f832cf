"""The summary panel of a run tab: theory beside measurement, read by the shared rule.

Rows come from :func:`matexplore.verdicts.summary_rows` (the same rows the CLI text output
and the claims audit read), in groups:

* compared quantities: ``quantity | theory | source says | measured | error | ✓/✗`` — the
  "source says" column appears only when some row has a source value; the error is
  measured − theory in standard errors when the measurement has one (the header then says
  ``error (SE)``), else relative in % (mixed panels give each cell its unit and a legend);
  the mark is :func:`~matexplore.verdicts.agrees` (within 4 SE, or exact to tolerance);
* checks, as sentences ("bound A violated (worst ratio 55.41)") with their mark;
* what the source says for quantities the run does not compare (under their own title,
  in the first value column); then the other outputs;
* with "compare with…" (:mod:`.compare`), one more column: the other run's values.

The run's inputs are never shown. Labels wrap in a column that takes all the width the
values leave; the detail line under the panel shows the highlighted row in full: its
label, every value at full precision and its ``help`` formula.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from ..verdicts import SummaryRow, summary_rows
from .redraw import update_text

__all__ = ["SummaryPanel", "SummaryTable", "cell", "error_cell", "mark"]

VALUE_WIDTH = 9        # " " + a value of 3 significant digits (the detail line has all)
SOURCE_WIDTH = 12      # " source says"; a source cell carries its own ✓/✗
ERROR_WIDTH = 11       # " error (SE)"; the cell carries the row's ✓/✗
OTHER_WIDTH = 12       # "compare with…": the other run's value and its ✓/✗
MIN_LABEL = 12         # below this the label wraps onto more lines rather than shrink
GROUP_TITLES = {"check": "checks", "source": "source says (not compared)",
                "output": "other outputs"}
UNIT_LEGEND = {"se": "SE: standard errors of the measurement",
               "%": "%: relative to the theory", "abs": "no unit: absolute (theory 0)"}


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def cell(v: Any) -> str:
    """A compact value (3 significant digits); ``""`` for a missing one."""
    if v is None:
        return ""
    if _num(v):
        x = float(v)
        if math.isnan(x):
            return "NaN"
        if isinstance(v, int) and abs(v) < 10**7:
            return str(v)
        return f"{x:.3g}"
    return str(v)


def full(v: Any) -> str:
    """A value at full useful precision (the detail line)."""
    if isinstance(v, float):
        return f"{v:.6g}"
    return "—" if v is None else str(v)


def mark(ok: bool | None) -> Text:
    """✓ / ✗ by the shared rule; blank when no rule applies."""
    if ok is None:
        return Text("")
    return Text("✓", style="bold green") if ok else Text("✗", style="bold red")


def error_cell(row: SummaryRow, with_unit: bool) -> str:
    """measured − theory in its unit (see :func:`matexplore.verdicts.error_of`)."""
    if row.error is None:
        return ""
    if row.error_unit == "se":
        return f"{row.error:+.1f}" + (" SE" if with_unit else "")
    if row.error_unit == "%":
        return (f"{row.error:+.2g}" if abs(row.error) >= 0.01 else f"{row.error:+.0e}") + " %"
    return f"{row.error:+.2g}"


class SummaryTable(DataTable):
    """The panel's table (one row per summary row, plus group titles)."""


class SummaryPanel(Vertical):
    """The table and the detail line of the highlighted row (module docstring)."""

    def __init__(self, info: Mapping[str, Any], params: Mapping[str, Any] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.info = info
        self.params = dict(params or {})
        self.rows: list[SummaryRow | str] = []  # a str is a group title
        self._shown: dict[str, Any] | None = None
        self._layout: tuple[Any, ...] = ()
        self._cells: list[tuple[Any, ...]] = []
        self._columns: list[Any] = []
        self.other: tuple[str, dict[tuple[str, str], SummaryRow]] | None = None

    def compose(self) -> ComposeResult:
        # no cell padding: each value column starts with one space, so the label gets
        # every column the values do not need (at 80 columns that is what makes it fit)
        yield SummaryTable(cursor_type="row", zebra_stripes=False, cell_padding=0,
                           classes="summary-table")
        yield Static("", classes="summary-detail")

    @property
    def table(self) -> SummaryTable:
        return self.query_one(SummaryTable)

    def set_params(self, params: Mapping[str, Any]) -> None:
        """The inputs of the run being shown (their echoes are not outputs)."""
        self.params = dict(params)
        self._shown = None

    def set_other(self, name: str, summary: Mapping[str, Any],
                  params: Mapping[str, Any]) -> None:
        """A second run's values, shown in their own column (rows matched by label)."""
        rows = summary_rows(self.info, summary, params)
        self.other = (name, {(r.kind, r.label): r for r in rows})
        if self._shown is not None:
            shown, self._shown = self._shown, None
            self.show(shown)

    def show(self, summary: Mapping[str, Any]) -> None:
        if summary == self._shown:
            return
        self._shown = dict(summary)
        rows = summary_rows(self.info, summary, self.params)
        grouped: list[SummaryRow | str] = []
        for i, r in enumerate(rows):
            first_of_kind = i == 0 or rows[i - 1].kind != r.kind
            if first_of_kind and r.kind != "compare" and (i > 0 or r.kind != "output"):
                grouped.append(GROUP_TITLES[r.kind])
            grouped.append(r)
        self.rows = grouped
        self._render_rows()
        self.display = bool(rows)

    def on_resize(self) -> None:
        if self.rows:
            self._render_rows()

    # -- layout ---------------------------------------------------------------------------
    def _has_source(self) -> bool:
        return any(isinstance(r, SummaryRow) and r.kind == "compare" and r.source is not None
                   for r in self.rows)

    def _units(self) -> set[str]:
        return {r.error_unit for r in self.rows
                if isinstance(r, SummaryRow) and r.kind == "compare" and r.error is not None}

    def _column_specs(self) -> list[tuple[str, int | None]]:
        units = self._units()
        error_head = "error (SE)" if units == {"se"} else \
            "error (%)" if units == {"%"} else "error"
        values = [(" theory", VALUE_WIDTH)]
        if self._has_source():
            values.append((" source says", SOURCE_WIDTH))
        error_width = ERROR_WIDTH + (1 if len(units) > 1 else 0)  # " -357.2 SE ✗"
        values += [(" measured", VALUE_WIDTH), (f" {error_head}", error_width)]
        if self.other is not None:
            values.append((f" {self.other[0][:OTHER_WIDTH - 2]}", OTHER_WIDTH))
        used = sum(w for _, w in values) + 1  # + the vertical scrollbar
        label = max(MIN_LABEL, self.size.width - used) if self.size.width else 24
        return [("quantity", label), *values]

    def _row_cells(self, row: SummaryRow | str, n: int, with_source: bool,
                   with_unit: bool) -> tuple[Any, ...]:
        if self.other is None:
            return self._own_cells(row, n, with_source, with_unit)
        return (*self._own_cells(row, n - 1, with_source, with_unit), self._other_cell(row))

    def _other_cell(self, row: SummaryRow | str) -> Any:
        """The other run's value of this row (measured / source / output) and its mark."""
        if isinstance(row, str) or self.other is None:
            return ""
        theirs = self.other[1].get((row.kind, row.label))
        if theirs is None:
            return " —"
        value = theirs.source if theirs.kind == "source" else theirs.measured
        text = Text("" if theirs.kind == "check" else f" {cell(value)}")
        if theirs.kind in ("compare", "check") and theirs.ok is not None:
            text.append(" ").append_text(mark(theirs.ok))
        return text

    def _own_cells(self, row: SummaryRow | str, n: int, with_source: bool,
                   with_unit: bool) -> tuple[Any, ...]:
        blank = [""] * (n - 1)
        if isinstance(row, str):
            return (Text(row, style="italic dim"), *blank)
        if row.kind == "check":
            return (Text(row.text), *blank[:-1], Text(" ").append_text(mark(row.ok)))
        values: list[Any] = [""] * (n - 1)  # theory, [source], measured, error
        if row.kind == "source":  # under its group title, in the first value column
            values[0] = f" {cell(row.source)}"
            return (Text(row.label), *values)
        if row.kind == "output":
            values[-2] = f" {cell(row.measured)}"
            return (Text(row.label), *values)
        values[0] = f" {cell(row.theory) or '—'}"
        if with_source and row.source is not None:
            values[1] = f" {cell(row.source)}" + {True: " ✓", False: " ✗", None: ""}[
                row.source_ok]
        values[-2] = f" {cell(row.measured) or '—'}"
        err = Text(f" {error_cell(row, with_unit)} ")
        values[-1] = err.append_text(mark(row.ok)) if row.ok is not None else err
        return (Text(row.label), *values)

    def _render_rows(self) -> None:
        table = self.table
        specs = self._column_specs()
        with_source = any(h == " source says" for h, _ in specs)
        with_unit = len(self._units()) > 1
        cells = [tuple(Text(c) if isinstance(c, str) else c  # plain text: never markup
                       for c in self._row_cells(r, len(specs), with_source, with_unit))
                 for r in self.rows]
        layout = (tuple(specs), tuple(r if isinstance(r, str) else (r.kind, r.label)
                                      for r in self.rows))
        if layout == self._layout:  # same rows and columns: update changed cells only
            for i, (new_row, old_row) in enumerate(zip(cells, self._cells)):
                for j, (new, old) in enumerate(zip(new_row, old_row)):
                    if str(new) != str(old):
                        table.update_cell(str(i), self._columns[j], new)
        else:
            cursor = table.cursor_row
            table.clear(columns=True)
            self._columns = [table.add_column(h, width=w) for h, w in specs]
            for i, row in enumerate(cells):
                table.add_row(*row, key=str(i), height=None)
            if 0 <= cursor < len(cells):
                table.move_cursor(row=cursor, animate=False)
            self._layout = layout
        self._cells = cells
        self._describe(table.cursor_row)

    # -- the detail line ------------------------------------------------------------------
    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._describe(event.cursor_row)

    def detail_text(self, index: int) -> Text:
        """The highlighted row in full: label, values, error with its unit, help."""
        if not 0 <= index < len(self.rows):
            return Text("")
        row = self.rows[index]
        if isinstance(row, str):
            return Text(row, style="italic")
        text = Text()
        text.append(row.text if row.kind == "check" else row.label, style="bold")
        if row.kind == "compare":
            text.append(f"  theory {full(row.theory)}")
            if row.source is not None:
                verdict = {True: " (agrees)", False: " (disagrees)", None: ""}[row.source_ok]
                text.append(f" · source says {full(row.source)}{verdict}")
            text.append(f" · measured {full(row.measured)}")
            if row.se is not None:
                text.append(f" ± {full(row.se)} (SE)")
            if row.error is not None:
                unit = {"se": " SE", "%": " %"}.get(row.error_unit, "")
                text.append(f" · error {error_cell(row, False).split()[0]}{unit}")
            text.append({True: " ✓", False: " ✗ (beyond 4 SE / tolerance)",
                         None: " (no SE or tolerance: no verdict)"}[row.ok])
        elif row.kind == "source":
            text.append(f"  source says {full(row.source)}")
        elif row.kind == "output":
            text.append(f"  {full(row.measured)}")
        theirs = self.other[1].get((row.kind, row.label)) if self.other else None
        if theirs is not None:
            value = theirs.source if theirs.kind == "source" else theirs.measured
            text.append(f" · {self.other[0]}: {full(value)}", style="italic")
            if theirs.se is not None:
                text.append(f" ± {full(theirs.se)}", style="italic")
        if row.kind == "compare" and len(self._units()) > 1:
            legend = ", ".join(UNIT_LEGEND[u] for u in ("se", "%", "abs") if u in self._units())
            text.append(f" · error {legend}", style="dim")
        if row.help:
            text.append(f"\n{row.help}", style="dim")
        return text

    def _describe(self, index: int) -> None:
        update_text(self.query_one(".summary-detail", Static), self.detail_text(index))
