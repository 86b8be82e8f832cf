"""The experiment browser: plugins → experiments in a Tree, a description pane, a filter.

Every plugin is visible at a glance: each group shows its experiment count, and when the
fully expanded tree would not fit its height only the first group is expanded (a filter
expands every match). Broken plugins are listed with the reason. Typing while the tree
has focus goes to the filter (type-to-filter); Enter on an experiment opens a run tab.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

from rich.table import Table
from rich.text import Text
from rich.console import Group
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.events import Key
from textual.message import Message
from textual.widgets import Input, Static, Tree

from ..plugins import ExperimentEntry, PluginInfo, Registry

__all__ = ["BrowserPane", "ExperimentTree", "describe_experiment", "reflow"]

_WORD = re.compile(r"[^\W\d_]{3,}")  # a word of prose: three or more letters


def _is_formula(line: str) -> bool:
    """A line to keep as written: indented, a list item, or mostly symbols — fewer than
    a third of its visible characters belong to words of three or more letters."""
    if line[:1].isspace() or line.lstrip().startswith(("- ", "* ", "• ")):
        return True
    visible = len(line.replace(" ", ""))
    return sum(len(w) for w in _WORD.findall(line)) < visible / 3


def reflow(text: str) -> str:
    """Rejoin the hard-wrapped lines of each paragraph (blank-line separated) so the
    pane wraps them at its own width; formula lines (:func:`_is_formula`) stay intact."""
    out: list[str] = []
    for para in re.split(r"\n\s*\n", textwrap.dedent(text).strip()):
        lines: list[str] = []
        for line in para.splitlines():
            if lines and not _is_formula(line) and not _is_formula(lines[-1]):
                lines[-1] = f"{lines[-1].rstrip()} {line.strip()}"
            else:
                lines.append(line.rstrip())
        out.append("\n".join(lines))
    return "\n\n".join(out)


def describe_experiment(entry: ExperimentEntry) -> Group:
    """Title, id, plugin, description (with its formulas) and a parameter table."""
    exp = entry.experiment
    head = Text()
    head.append(exp.title + "\n", style="bold")
    head.append(f"{exp.id}", style="italic")
    head.append(f"  ·  plugin {entry.plugin.name} {entry.plugin.version}\n", style="dim")
    body = Text(reflow(exp.description) + "\n")
    params = Table("parameter", "default", "allowed / help", box=None, expand=True,
                   padding=(0, 1), show_edge=False, header_style="bold")
    for name, spec in exp.all_params().items():
        default = spec.format_default()
        params.add_row(name, default, Text(spec.allowed() + (f"\n{spec.help}" if spec.help
                                                                 else ""), style="dim"))
    extra = Text()
    if exp.plot is not None:
        extra.append(f"\nplot: {', '.join(exp.plot.y)} vs {exp.plot.x} "
                     f"(table {exp.plot.table})", style="dim")
    if exp.compare:
        extra.append("\ncompares: " + "; ".join(f"{c.label} ({c.theory} vs {c.measured})"
                                               for c in exp.compare), style="dim")
    hint = Text("\n\nEnter: open a run tab for this experiment", style="dim italic")
    return Group(head, body, params, extra, hint)


def describe_broken(plugin: PluginInfo) -> Text:
    text = Text()
    text.append(f"plugin {plugin.name} {plugin.version} is broken\n\n", style="bold")
    text.append(f"{plugin.error}\n\n")
    text.append(f"source: {plugin.source}\n", style="dim")
    if plugin.experiments:
        text.append("its other experiments still work: " + ", ".join(plugin.experiments),
                    style="dim")
    return text


class ExperimentTree(Tree[Any]):
    """The plugin/experiment tree; printable keys and Backspace are forwarded to the filter."""

    class TypeAhead(Message):
        """A key typed in the tree for the filter: a character to append, or "\\b" (Backspace)."""

        def __init__(self, char: str) -> None:
            super().__init__()
            self.char = char

    typing = False  # a filter is being typed: a space continues it (else it toggles a node)

    def on_key(self, event: Key) -> None:
        char = event.character
        if event.is_printable and char and (char not in " ?/" or (char == " " and self.typing)):
            self.typing = True
            event.stop()
            event.prevent_default()
            self.post_message(self.TypeAhead(char))
        elif event.key == "backspace":
            event.stop()
            event.prevent_default()
            self.post_message(self.TypeAhead("\b"))
        elif not event.is_printable:
            self.typing = False


class FilterInput(Input):
    """The filter box: Down moves into the tree (Enter opens the highlighted match)."""

    BINDINGS = [Binding("down", "to_tree", "Tree", show=False)]

    def action_to_tree(self) -> None:
        self.screen.query_one(ExperimentTree).focus()


class BrowserPane(Horizontal):
    """Filter + tree on the left, the selected item's description on the right."""

    class Open(Message):
        """The user chose an experiment to run."""

        def __init__(self, entry: ExperimentEntry) -> None:
            super().__init__()
            self.entry = entry

    # Enter in the description pane opens the experiment it describes (as its hint says);
    # the tree and the filter handle their own Enter first
    BINDINGS = [Binding("enter", "open_selected", "Open", show=False)]

    def __init__(self, registry: Registry, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.registry = registry

    def action_open_selected(self) -> None:
        if self.selected is not None:
            self.post_message(self.Open(self.selected))

    def compose(self) -> ComposeResult:
        with Vertical(classes="browser-left"):
            yield FilterInput(placeholder="filter (type to search)", compact=True, id="filter",
                        select_on_focus=False)
            yield ExperimentTree("plugins", id="experiment-tree")
        with VerticalScroll(classes="description", id="description-scroll"):
            yield Static("", id="description")

    def on_mount(self) -> None:
        self.rebuild("")

    def rebuild(self, needle: str) -> None:
        tree = self.query_one(ExperimentTree)
        tree.clear()
        tree.show_root = False
        needle = needle.strip().lower()
        first = None
        plugins = sorted(self.registry.plugins, key=lambda p: p.error is not None)
        rows = sum(1 + len(p.experiments) + bool(p.error) for p in plugins)
        expand_all = bool(needle) or rows <= self._tree_room()
        for plugin in plugins:
            entries = [self.registry.experiments[e] for e in plugin.experiments]
            words = needle.split()  # every word must match (in any order)
            hits = [e for e in entries if all(w in f"{e.id} {e.experiment.title} "
                                              f"{plugin.name}".lower() for w in words)]
            broken_hit = plugin.error and (not needle or needle in plugin.name.lower()
                                           or needle in "broken")
            if not hits and not broken_hit:
                continue
            label = Text(plugin.name, style="bold")
            label.append(f" ({len(hits)})", style="dim")
            if plugin.error:
                label.append("  BROKEN", style="bold reverse")
            node = tree.root.add(label, data=plugin, expand=expand_all or first is None)
            for e in hits:
                leaf = node.add_leaf(Text.assemble(e.id.split(".", 1)[-1], "  ",
                                                   (e.experiment.title, "dim")), data=e)
                first = first or leaf
            if plugin.error:
                node.add_leaf(Text(f"⚠ {plugin.error}", style="italic"), data=plugin)
        if not tree.root.children:
            tree.root.add_leaf(Text(f"no experiment matches {needle!r}", style="italic"))
        if first is not None:
            self.call_after_refresh(tree.move_cursor, first)
            self.show(first.data)
        else:
            self.show(None)

    def _tree_room(self) -> int:
        """Rows the tree can show: its height once laid out, else the screen's less the
        rows of the header, tabs, filter and footer."""
        height = self.query_one(ExperimentTree).size.height
        return height if height > 0 else max(0, self.app.size.height - 6)

    def show(self, data: Any) -> None:
        desc = self.query_one("#description", Static)
        if isinstance(data, ExperimentEntry):
            desc.update(describe_experiment(data))
        elif isinstance(data, PluginInfo):
            if data.error:
                desc.update(describe_broken(data))
            else:
                desc.update(Text(f"plugin {data.name} {data.version}\n{data.source}\n"
                                 f"{len(data.experiments)} experiment(s)"))
        else:
            desc.update("")

    @property
    def selected(self) -> ExperimentEntry | None:
        node = self.query_one(ExperimentTree).cursor_node
        return node.data if node is not None and isinstance(node.data, ExperimentEntry) else None

    @on(Input.Changed, "#filter")
    def _filter(self, event: Input.Changed) -> None:
        self.rebuild(event.value)

    @on(Input.Submitted, "#filter")
    def _open_match(self) -> None:
        """Enter in the filter opens the highlighted matching experiment, if any."""
        tree = self.query_one(ExperimentTree)
        tree.focus()
        entry = self.selected
        if entry is None:  # cursor on a plugin node: take its first matching experiment
            entry = next((n.data for n in _walk(tree.root)
                          if isinstance(n.data, ExperimentEntry)), None)
        if entry is not None:
            self.post_message(self.Open(entry))

    @on(ExperimentTree.TypeAhead)
    def _type_ahead(self, event: ExperimentTree.TypeAhead) -> None:
        box = self.query_one("#filter", Input)
        box.value = box.value[:-1] if event.char == "\b" else box.value + event.char
        box.cursor_position = len(box.value)
        box.focus()

    @on(Tree.NodeHighlighted)
    def _highlighted(self, event: Tree.NodeHighlighted) -> None:
        self.show(event.node.data)

    @on(Tree.NodeSelected)
    def _selected(self, event: Tree.NodeSelected) -> None:
        if isinstance(event.node.data, ExperimentEntry):
            self.post_message(self.Open(event.node.data))

    def focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def clear_filter(self) -> None:
        self.query_one("#filter", Input).value = ""
        self.query_one(ExperimentTree).typing = False
        self.query_one(ExperimentTree).focus()


def _walk(node: Any) -> Any:
    for child in node.children:
        yield child
        yield from _walk(child)
