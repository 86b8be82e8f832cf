"""Plain JSON values for frames: NumPy scalars → Python, non-finite floats → None."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def none_if_nan(x: Any) -> float | None:
    """``float(x)``, or None when x is None, NaN or ±inf (summary values must be finite)."""
    return None if x is None or not math.isfinite(x) else float(x)


def py(row: Sequence[Any]) -> list:
    """Plain Python scalars (NumPy floats/ints converted) for a table row."""
    return [v.item() if isinstance(v, np.generic) else v for v in row]
