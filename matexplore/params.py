"""Typed, validated experiment parameters.

An experiment declares its parameters as a mapping ``name -> Param``::

    params = {
        "depth": Int(50, ge=1, le=10_000, help="number of layers L"),
        "rho0": Float(0.5, ge=-1, le=1, help="input correlation ρ₀"),
        "activation": Choice(["relu", "tanh"], default="relu"),
        "widths": IntList([64, 128], ge=1, help="one width per layer"),
    }

Every parameter parses a command-line string (``--set depth=50``), validates a
Python/JSON value (from a session file or the TUI form) and describes itself
(``matexplore describe``). Validation failures raise :class:`ParamError` whose
message is one sentence naming the parameter, what is allowed and what was given.
Bounds use pydantic's names: ``ge``/``le`` inclusive, ``gt``/``lt`` exclusive.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

__all__ = [
    "ParamError",
    "split_texts",
    "Param",
    "Int",
    "Float",
    "Bool",
    "Choice",
    "IntList",
    "FloatList",
    "Seed",
    "Params",
    "resolve_params",
    "suggest",
]


class ParamError(ValueError):
    """A parameter value was rejected; ``str(err)`` is one user-facing sentence."""


def suggest(word: str, candidates: Sequence[str]) -> str:
    """Return ' (did you mean X?)' for the closest candidate, or ''."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _fmt(value: Any) -> str:
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, (list, tuple)):
        return ",".join(_fmt(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Param:
    """Base class: a typed parameter with a default and a help text."""

    kind = "value"

    def __init__(self, default: Any, *, help: str = "") -> None:
        self.default = default
        self.help = help

    # -- to be provided by subclasses -------------------------------------------------
    def parse(self, name: str, text: str) -> Any:
        """Parse a command-line string into a validated value."""
        raise NotImplementedError

    def validate(self, name: str, value: Any) -> Any:
        """Check (and normalise) a Python/JSON value; raise ParamError if invalid."""
        raise NotImplementedError

    def allowed(self) -> str:
        """Human description of the allowed values, e.g. 'an integer in [1, 100]'."""
        raise NotImplementedError

    # -- shared -----------------------------------------------------------------------
    def spec(self) -> dict[str, Any]:
        """JSON-able description (used by `describe --json` and session headers)."""
        return {"type": self.kind, "default": self.default, "allowed": self.allowed(),
                "help": self.help}

    def format(self, value: Any) -> str:
        """Render a value the way `parse` reads it back (for forms and --set)."""
        return _fmt(value)

    def format_default(self) -> str:
        """The default as ``describe`` and the browser show it; an empty one says what it
        means: ``(empty list)`` for a list param, ``(none)`` otherwise."""
        return self.format(self.default) or (
            "(empty list)" if self.kind.endswith("_list") else "(none)")

    def _reject(self, name: str, given: Any) -> ParamError:
        shown = given if isinstance(given, str) else _fmt(given)
        return ParamError(f"Parameter '{name}' must be {self.allowed()}; got {shown!r}.")


class _Bounded(Param):
    """Numeric parameter with optional ge/gt/le/lt bounds and optional ±inf."""

    noun = "a number"

    def __init__(self, default: Any, *, ge: float | None = None, gt: float | None = None,
                 le: float | None = None, lt: float | None = None, allow_inf: bool = False,
                 help: str = "") -> None:
        super().__init__(default, help=help)
        self.ge, self.gt, self.le, self.lt = ge, gt, le, lt
        self.allow_inf = allow_inf

    def _range_text(self) -> str:
        lo = f"[{_fmt(self.ge)}" if self.ge is not None else (
            f"({_fmt(self.gt)}" if self.gt is not None else "(-inf")
        hi = f"{_fmt(self.le)}]" if self.le is not None else (
            f"{_fmt(self.lt)})" if self.lt is not None else "inf)")
        if lo == "(-inf" and hi == "inf)":
            return ""
        return f" in {lo}, {hi}"

    def allowed(self) -> str:
        text = self.noun + self._range_text()
        return text + (" or 'inf'" if self.allow_inf else "")

    def spec(self) -> dict[str, Any]:
        out = super().spec()
        out.update({k: v for k, v in
                    (("ge", self.ge), ("gt", self.gt), ("le", self.le), ("lt", self.lt))
                    if v is not None})
        if self.allow_inf:
            out["allow_inf"] = True
        return out

    def _in_bounds(self, x: float) -> bool:
        if math.isinf(x) and self.allow_inf and x > 0:
            return True
        return not ((self.ge is not None and x < self.ge) or (self.gt is not None and x <= self.gt)
                    or (self.le is not None and x > self.le) or (self.lt is not None and x >= self.lt))

    def _convert(self, value: Any) -> float | int | None:
        raise NotImplementedError

    def validate(self, name: str, value: Any) -> Any:
        if isinstance(value, bool):
            raise self._reject(name, value)
        if isinstance(value, str):
            if value.strip().lower() in ("inf", "+inf", "infinity") and self.allow_inf:
                return math.inf
            raise self._reject(name, value)
        x = self._convert(value)
        if x is None or not self._in_bounds(x):
            raise self._reject(name, value)
        return x

    def parse(self, name: str, text: str) -> Any:
        t = text.strip()
        if t.lower() in ("inf", "+inf", "infinity"):
            if self.allow_inf:
                return math.inf
            raise self._reject(name, text)
        try:
            value = self._parse_number(t)
        except ValueError:
            raise self._reject(name, text) from None
        return self.validate(name, value)

    def _parse_number(self, text: str) -> float | int:
        raise NotImplementedError


class Int(_Bounded):
    """An integer, optionally bounded; `allow_inf` also admits +inf (e.g. depth = ∞)."""

    kind = "int"
    noun = "an integer"

    def _parse_number(self, text: str) -> int:
        x = float(text)  # accepts "1e3"
        if not x.is_integer():
            raise ValueError(text)
        return int(x)

    def _convert(self, value: Any) -> int | float | None:
        try:
            x = float(value)
        except (TypeError, ValueError):
            return None
        if math.isinf(x):
            return x if self.allow_inf else None
        if not x.is_integer():
            return None
        return int(x)


class Float(_Bounded):
    """A finite real number (or +inf with `allow_inf`), optionally bounded."""

    kind = "float"
    noun = "a number"

    def _parse_number(self, text: str) -> float:
        return float(text)

    def _convert(self, value: Any) -> float | None:
        try:
            x = float(value)
        except (TypeError, ValueError):
            return None
        if math.isnan(x) or (math.isinf(x) and not self.allow_inf):
            return None
        return x


class Bool(Param):
    """true/false (also yes/no, on/off, 1/0)."""

    kind = "bool"
    _TRUE = {"true", "yes", "on", "1"}
    _FALSE = {"false", "no", "off", "0"}

    def allowed(self) -> str:
        return "true or false"

    def parse(self, name: str, text: str) -> bool:
        t = text.strip().lower()
        if t in self._TRUE:
            return True
        if t in self._FALSE:
            return False
        raise self._reject(name, text)

    def validate(self, name: str, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            return self.parse(name, value)
        if value in (0, 1):
            return bool(value)
        raise self._reject(name, value)


class Choice(Param):
    """One of a fixed set of strings. `choices` may be a callable evaluated lazily, so
    a choice list can grow with plugins (e.g. every registered activation)."""

    kind = "choice"

    def __init__(self, choices: Sequence[str] | Callable[[], Sequence[str]], default: str, *,
                 help: str = "") -> None:
        super().__init__(default, help=help)
        self._choices = choices

    @property
    def choices(self) -> list[str]:
        c = self._choices() if callable(self._choices) else self._choices
        return list(c)

    def allowed(self) -> str:
        return "one of " + ", ".join(self.choices)

    def spec(self) -> dict[str, Any]:
        out = super().spec()
        out["choices"] = self.choices
        return out

    def parse(self, name: str, text: str) -> str:
        return self.validate(name, text.strip())

    def validate(self, name: str, value: Any) -> str:
        choices = self.choices
        if isinstance(value, str) and value in choices:
            return value
        hint = suggest(value, choices) if isinstance(value, str) else ""
        raise ParamError(f"Parameter '{name}' must be {self.allowed()}; got {value!r}{hint}.")


class _List(Param):
    """A comma-separated list of bounded numbers."""

    item: _Bounded

    def __init__(self, default: Sequence[Any], *, ge: float | None = None,
                 gt: float | None = None, le: float | None = None, lt: float | None = None,
                 min_len: int = 1, max_len: int | None = None, help: str = "") -> None:
        super().__init__(list(default), help=help)
        self.item = self.item_type(0, ge=ge, gt=gt, le=le, lt=lt)
        self.min_len, self.max_len = min_len, max_len

    item_type: type[_Bounded] = _Bounded

    def allowed(self) -> str:
        size = f"at least {self.min_len}" if self.max_len is None else (
            f"{self.min_len} to {self.max_len}" if self.min_len != self.max_len
            else f"exactly {self.min_len}")
        return (f"a comma-separated list of {size} {self.item.noun.split(' ', 1)[1]}s"
                f"{self.item._range_text()}")

    def spec(self) -> dict[str, Any]:
        out = super().spec()
        out.update(self.item.spec())
        out.update({"type": self.kind, "default": self.default, "allowed": self.allowed(),
                    "help": self.help, "min_len": self.min_len, "max_len": self.max_len})
        return out

    def _check_len(self, name: str, values: list, given: Any) -> list:
        if len(values) < self.min_len or (self.max_len is not None and len(values) > self.max_len):
            raise self._reject(name, given)
        return values

    def parse(self, name: str, text: str) -> list:
        parts = [p for p in text.replace(";", ",").split(",") if p.strip()]
        try:
            values = [self.item.parse(name, p) for p in parts]
        except ParamError:
            raise self._reject(name, text) from None
        return self._check_len(name, values, text)

    def validate(self, name: str, value: Any) -> list:
        if isinstance(value, str):
            return self.parse(name, value)
        if not isinstance(value, (list, tuple)):
            raise self._reject(name, value)
        try:
            values = [self.item.validate(name, v) for v in value]
        except ParamError:
            raise self._reject(name, value) from None
        return self._check_len(name, values, value)


class IntList(_List):
    """A list of integers, e.g. widths ``64,128,256``."""

    kind = "int_list"
    item_type = Int


class FloatList(_List):
    """A list of real numbers, e.g. singular values ``3,2,1,0.5``."""

    kind = "float_list"
    item_type = Float


class Seed(Param):
    """The run's random seed: a non-negative integer, or empty/'random' to draw one.

    Every experiment gets this parameter automatically as ``seed``; the drawn value is
    recorded so the run can be reproduced."""

    kind = "seed"

    def __init__(self, default: int | None = None, *, help: str = "random seed "
                 "(empty = draw one and record it)") -> None:
        super().__init__(default, help=help)

    def allowed(self) -> str:
        return "a non-negative integer below 2**63, or 'random'"

    def parse(self, name: str, text: str) -> int | None:
        t = text.strip().lower()
        if t in ("", "random", "none"):
            return None
        try:
            return self.validate(name, int(t))
        except ValueError:
            raise self._reject(name, text) from None

    def validate(self, name: str, value: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
            if isinstance(value, str):
                return self.parse(name, value)
            raise self._reject(name, value)
        return value

    def format(self, value: Any) -> str:
        return "" if value is None else str(value)

    def format_default(self) -> str:
        return "(random)" if self.default is None else str(self.default)


class Params(Mapping[str, Any]):
    """Validated parameter values of one run, readable as ``p["depth"]`` or ``p.depth``."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __getattr__(self, key: str) -> Any:
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(key) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Params({self._values!r})"

    def to_dict(self) -> dict[str, Any]:
        return dict(self._values)


def resolve_params(specs: Mapping[str, Param], given: Mapping[str, Any] | None = None, *,
                   texts: Mapping[str, str] | None = None) -> Params:
    """Merge defaults with given values (`given`: Python values, `texts`: strings from
    the command line) and validate each. Unknown names raise ParamError with a hint."""
    values = {name: spec.default for name, spec in specs.items()}
    for source, parse in ((given or {}, False), (texts or {}, True)):
        for name, raw in source.items():
            if name not in specs:
                known = ", ".join(specs) or "none"
                raise ParamError(f"Unknown parameter {name!r}{suggest(name, list(specs))}; "
                                 f"known parameters: {known}.")
            spec = specs[name]
            values[name] = spec.parse(name, raw) if parse else spec.validate(name, raw)
    for name, spec in specs.items():  # defaults pass through validate too (normalises)
        if name not in (given or {}) and name not in (texts or {}):
            values[name] = spec.validate(name, values[name])
    return Params(values)


def split_texts(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Keyword parameters as Python values and as command-line strings, apart: the
    ``given`` and ``texts`` of :func:`resolve_params` (``depth=5`` or ``depth="5"``)."""
    given = {k: v for k, v in values.items() if not isinstance(v, str)}
    return given, {k: v for k, v in values.items() if isinstance(v, str)}
