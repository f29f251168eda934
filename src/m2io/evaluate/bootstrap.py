"""95% bootstrap intervals of a mean: every quality number m2io reports carries one.

Percentile bootstrap over items (resampled with replacement, 1,000 times, seeded), so that two
runs on the same items give the same interval. Written with numpy alone: the resampling is a
few lines, and scipy.stats.bootstrap would add scipy for them.

>>> lo, hi = bootstrap_ci([0.0, 1.0] * 50)
>>> 0.38 < lo < 0.5 < hi < 0.62
True
>>> bootstrap_ci([0.7])
(0.7, 0.7)
>>> bootstrap_ci([])
"""
from __future__ import annotations

import numpy as np


def bootstrap_ci(values, resamples: int = 1000, level: float = 0.95, seed: int = 0) -> tuple[float, float] | None:
    """(low, high) percentile interval of the mean of ``values``; None when there are none."""
    x = np.asarray([v for v in values if v is not None], dtype=np.float64)
    if x.size == 0:
        return None
    if x.size == 1:
        return float(x[0]), float(x[0])
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(resamples, x.size))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    return float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))
