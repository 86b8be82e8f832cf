"""Bounded-memory histograms for 10⁵–10⁶ simulated networks (pure NumPy; moments are
:class:`matexplore.RunningStats`).

* :class:`LayerHistogram` — per-layer fixed-bin histograms of a log quantity Y on the
  window [E Y − 8 sd, E Y + 8 sd] of the exact law with ``bins`` bins (default 512:
  resolution sd/32), plus under/overflow counts; quantiles by linear interpolation
  inside the bin, so their error is at most one bin width (sd/32) and in practice far
  smaller than the Monte-Carlo error √(π/2)·sd/√N of a median.
"""

from __future__ import annotations

import numpy as np


class LayerHistogram:
    """Per-layer histograms on [lo_ℓ, lo_ℓ + bins·width_ℓ) with under/overflow slots.

    Counts have shape (layers, bins + 2): slot 0 = below the window, slot bins+1 = above.
    """

    def __init__(self, center: np.ndarray, sd: np.ndarray, bins: int = 512,
                 half_width_sd: float = 8.0) -> None:
        self.bins = bins
        self.lo = np.asarray(center, float) - half_width_sd * np.asarray(sd, float)
        self.width = 2 * half_width_sd * np.asarray(sd, float) / bins
        self.counts = np.zeros((len(self.lo), bins + 2), dtype=np.int64)

    @property
    def inv_width(self) -> np.ndarray:
        return 1.0 / self.width

    def edges(self, layer: int) -> np.ndarray:
        """Bin edges of one layer (0-based index)."""
        return self.lo[layer] + self.width[layer] * np.arange(self.bins + 1)

    def quantile(self, q: float, layer: int) -> float | None:
        """Interpolated q-quantile of layer ``layer`` (None if it lies outside the window)."""
        c = self.counts[layer]
        total = c.sum()
        if total == 0:
            return None
        target = q * total
        cum = np.cumsum(c)
        k = int(np.searchsorted(cum, target))      # slot holding the target rank
        if k == 0 or k == self.bins + 1:
            return None
        before = cum[k - 1]
        frac = (target - before) / c[k] if c[k] else 0.0
        return float(self.lo[layer] + self.width[layer] * (k - 1 + frac))

    def rebinned(self, layer: int, factor: int) -> tuple[np.ndarray, np.ndarray]:
        """(edges, fractions of all values) after merging ``factor`` adjacent bins."""
        c = self.counts[layer]
        total = max(int(c.sum()), 1)
        inner = c[1:-1].reshape(-1, factor).sum(axis=1)
        edges = self.edges(layer)[::factor]
        return edges, inner / total
