"""Updating text widgets at streaming rates without relayouting the screen.

``Static.update`` asks for a screen layout by default: a reflow of every visible widget
and a repaint of the whole screen, 10–40 ms with a run tab's form on screen. A live run
changes its status line and summary detail at every redraw, and most changes keep the
widget's height; :func:`update_text` asks for the layout only when the height changes.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from textual.visual import VisualType
from textual.widgets import Static

__all__ = ["update_text"]

_heights: WeakKeyDictionary[Static, tuple[int, int]] = WeakKeyDictionary()


def update_text(widget: Static, content: VisualType) -> None:
    """Show ``content`` in ``widget``; lay the screen out again only if the height the
    content needs at the widget's current width differs from what the previous content
    needed (a widget not laid out yet, or hidden, has width 0: showing it lays it out)."""
    width = widget.content_size.width
    widget.update(content, layout=False)
    if not width:
        _heights.pop(widget, None)
        return
    needed = (width, widget.visual.get_height(widget.styles, width))
    if _heights.get(widget) != needed:
        _heights[widget] = needed
        widget.refresh(layout=True)
