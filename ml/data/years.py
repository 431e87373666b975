"""Which years descriptions are made in: the training range, the held-out years, and how they are sampled."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml.domain import CUTOFF_YEAR

TRAIN_YEARS = (1800, 2030)
# Years inside the training range never shown in training: the model must read digits, not memorise years.
HOLDOUT_YEARS = frozenset({1931, 1962, 1977, 1989, 1993, 1997, 2008, 2016})
# Years outside the training range, for the "unseen era" check.
OUT_OF_RANGE_YEARS = ((1700, 1799), (2031, 2099))


@dataclass(frozen=True)
class YearSpec:
    """Where years come from: inclusive ranges, minus excluded years (or only the listed years)."""

    ranges: tuple[tuple[int, int], ...] = (TRAIN_YEARS,)
    exclude: frozenset[int] = HOLDOUT_YEARS
    only: frozenset[int] | None = None

    def pool(self) -> np.ndarray:
        if self.only is not None:
            years = sorted(self.only)
        else:
            years = [y for lo, hi in self.ranges for y in range(lo, hi + 1) if y not in self.exclude]
        if not years:
            raise ValueError("the year specification leaves no year to sample")
        return np.array(years)


def sample_years(rng: np.random.Generator, pool: np.ndarray, n: int, *, compliant: bool) -> np.ndarray:
    """`n` years from `pool` (compliant rows: from the cut-off on), a third of them within 10 years of the cut-off."""
    eligible = pool[pool >= CUTOFF_YEAR] if compliant else pool
    if n and len(eligible) == 0:
        raise ValueError("no year in range can make a compliant row")
    near = eligible[np.abs(eligible - CUTOFF_YEAR) <= 10]
    years = rng.choice(eligible, size=n) if n else np.zeros(0, dtype=int)
    if len(near):
        # A third of the rows sit near the cut-off so the boundary is learned precisely.
        pick_near = rng.random(n) < 0.33
        years[pick_near] = rng.choice(near, size=int(pick_near.sum()))
    return years
