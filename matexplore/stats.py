"""Running statistics for Monte-Carlo results: mean, variance and standard error.

:class:`RunningStats` keeps, for an array of quantities of any shape, the count ``n``,
the mean and ``M2 = Σ (x − mean)²``. Values are added a batch at a time (two-pass within
the batch) and batches are merged with Chan et al.'s formula

    n = n_a + n_b,   δ = mean_b − mean_a,
    mean = mean_a + δ n_b / n,   M2 = M2_a + M2_b + δ² n_a n_b / n,

which is numerically stable (no Σx² − (Σx)² cancellation). Merging in a fixed order
(chunk order) makes the result independent of thread scheduling. The outputs plug into the
summary panel: ``Compare("E X", theory="x_exact", measured="x_mean", se="x_se")``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["RunningStats"]


class RunningStats:
    """Streaming mean / variance / standard error of quantities of a fixed ``shape``."""

    def __init__(self, shape: int | tuple[int, ...] = ()) -> None:
        self.count = 0
        self.mean = np.zeros(shape)
        self.m2 = np.zeros(shape)

    def add(self, values: Any) -> RunningStats:
        """Fold in a batch: ``values`` has shape ``(k, *shape)`` (k samples)."""
        v = np.asarray(values, dtype=float)
        if v.ndim == len(self.mean.shape):  # a single sample
            v = v[None]
        if v.shape[1:] != self.mean.shape:
            raise ValueError(f"values of shape {v.shape[1:]} added to RunningStats of "
                             f"shape {self.mean.shape}")
        if len(v) == 0:
            return self
        mean = v.mean(axis=0)
        return self.merge_moments(len(v), mean, ((v - mean) ** 2).sum(axis=0))

    def merge_moments(self, count: int, mean: Any, m2: Any) -> RunningStats:
        """Fold in a batch summarised by its count, mean and M2 (e.g. from a numba kernel
        that accumulates Welford moments)."""
        if count == 0:
            return self
        total = self.count + count
        delta = np.asarray(mean, dtype=float) - self.mean
        self.mean = self.mean + delta * (count / total)
        self.m2 = self.m2 + np.asarray(m2, dtype=float) + delta**2 * (self.count * count / total)
        self.count = total
        return self

    def merge(self, other: RunningStats) -> RunningStats:
        """Fold in another accumulator (of the same shape)."""
        return self.merge_moments(other.count, other.mean, other.m2)

    @property
    def var(self) -> np.ndarray:
        """Unbiased sample variance M2 / (n − 1) (NaN with fewer than two samples)."""
        if self.count < 2:
            return np.full_like(self.m2, np.nan)
        return self.m2 / (self.count - 1)

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(self.var)

    @property
    def se(self) -> np.ndarray:
        """Standard error of the mean, √(var / n) (NaN with fewer than two samples)."""
        return np.sqrt(self.var / max(self.count, 1))
