"""One-sentence descriptions of exceptions raised by plugin code.

:func:`describe_exception` is what ``matexplore list`` shows for a broken plugin and what a
failed run reports: the exception type and the first line of its message, plus where it
happened (the innermost traceback frame inside the plugin, ``file:line``). Numba's
``TypingError`` is special: its first line ("Failed in nopython mode pipeline") says
nothing, so the lines naming the offending expression and its ``file:line`` are kept.
"""

from __future__ import annotations

import re
import traceback
from pathlib import Path

__all__ = ["describe_exception", "error_location"]

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_NUMBA_FILE = re.compile(r'^File "(?P<file>[^"]+)", line (?P<line>\d+):$')
_NUMBA_AT = re.compile(r"^During: .* at (?P<file>.+) \((?P<line>\d+)\)$")


def error_location(exc: BaseException, root: Path | None = None) -> str | None:
    """``file:line`` of the innermost frame inside ``root`` (a plugin's file or package
    directory; any frame when ``root`` is None), or of the syntax error itself; None if
    no frame is inside ``root``."""
    if isinstance(exc, SyntaxError) and exc.filename and exc.lineno:
        return f"{_short(Path(exc.filename), root)}:{exc.lineno}"
    frames = traceback.extract_tb(exc.__traceback__)
    inside = [f for f in frames if root is None or _within(Path(f.filename), root)]
    if not inside:
        return None
    frame = inside[-1]
    return f"{_short(Path(frame.filename), root)}:{frame.lineno}"


def describe_exception(exc: BaseException, root: Path | None = None) -> str:
    """``Type: first line of the message`` plus ``(at file:line)`` of the innermost frame
    in ``root`` when given — see the module docstring."""
    name = type(exc).__name__
    text = _ANSI.sub("", str(exc)).strip()
    if type(exc).__module__.startswith("numba") and "\n" in text:
        return f"{name}: {_numba_summary(text)}"
    first = text.splitlines()[0] if text else ""
    where = error_location(exc, root) if root is not None else None
    out = f"{name}: {first}" if first else name
    return f"{out} (at {where})" if where else out


def _numba_summary(text: str) -> str:
    """First line; the reason (the line after it, or the ``>>> signature`` line); the
    offending source line with its ``file:line``."""
    lines = [ln.rstrip() for ln in text.splitlines()]
    stripped = [ln.strip() for ln in lines if ln.strip()]
    parts = [stripped[0].rstrip(":")]
    if len(stripped) > 1:
        parts.append(stripped[1].rstrip(":"))
    signature = next((ln.removeprefix(">>>").strip() for ln in stripped
                      if ln.startswith(">>>")), None)
    if signature:
        parts[-1] += f": {signature}"
    where = _numba_where(lines)
    if where:
        parts.append(where)
    return "; ".join(parts)


def _numba_where(lines: list[str]) -> str | None:
    location = code = None
    for i, ln in enumerate(lines):
        at = _NUMBA_AT.match(ln.strip())
        if at and location is None:
            location = f"{Path(at['file']).name}:{at['line']}"
        m = _NUMBA_FILE.match(ln.strip())
        if m:
            location = location or f"{Path(m['file']).name}:{m['line']}"
            caret = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == "^"), None)
            if caret is not None and caret > i + 1:
                code = lines[caret - 1].strip()
    if location is None:
        return None
    return f"at {location}: {code}" if code else f"at {location}"


def _within(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve() if root.is_dir() else root.resolve().parent)
    except ValueError:
        return False
    return root.is_dir() or path.resolve() == root.resolve()


def _short(path: Path, root: Path | None) -> str:
    """The path relative to the plugin's directory (its file name for a single file)."""
    if root is None:
        return str(path)
    try:
        return str(path.resolve().relative_to(root.resolve().parent))
    except ValueError:
        return str(path)
