"""The one trend fit of the fleet shares and intensities, used by the targets and by the siting's EV shares.

Shares follow a logistic trend: the empirical logit ``z = ln((x + 0.5) / (n - x + 0.5))`` of each
year's count ``x`` of ``n`` is fitted against the year by weighted least squares with weights
``1 / (1/(x + 0.5) + 1/(n - x + 0.5))`` (the inverse variance of ``z``; Cox & Snell, *Analysis of Binary
Data*). The covariance is scaled by the residual dispersion (never below the binomial one); ``band``
gives the ``INTERVAL_LEVEL`` (80 %) two-sided Student-t interval of the trend. Intensities follow a
log-linear trend (least squares on the log).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy import stats

#: Two-sided level of the projection interval.
INTERVAL_LEVEL = 0.80
#: A trend needs at least this many years with data (the targets' rule).
MIN_YEARS_FOR_TREND = 3

Scale = Literal["logit", "log"]


@dataclass(frozen=True)
class TrendFit:
    """A straight line ``eta = intercept + slope * (year - year0)`` in a transformed scale, with its covariance.

    ``scale`` is ``"logit"`` (shares) or ``"log"`` (intensities); ``cov`` is the 2×2 covariance of
    (intercept, slope) and ``dof`` the residual degrees of freedom.
    """

    scale: Scale
    year0: float
    intercept: float
    slope: float
    cov: tuple[tuple[float, float], tuple[float, float]]
    dof: int
    years: tuple[int, ...] = field(default=())

    def value(self, year: float) -> float:
        """The fitted trend at ``year``, back in the original scale (a share, or an intensity)."""
        eta = float(self.intercept + self.slope * (year - self.year0))
        return expit(eta) if self.scale == "logit" else math.exp(eta)

    def band(self, year: float, *, level: float = INTERVAL_LEVEL) -> tuple[float, float, float]:
        """Trend and its two-sided ``level`` interval at ``year``, back in the original scale."""
        x = np.array([1.0, year - self.year0])
        eta = float(self.intercept + self.slope * x[1])
        se = float(math.sqrt(max(0.0, x @ np.array(self.cov) @ x)))
        t = float(stats.t.ppf(0.5 + level / 2.0, max(self.dof, 1)))
        back = expit if self.scale == "logit" else math.exp
        return back(eta), back(eta - t * se), back(eta + t * se)

    @property
    def description(self) -> str:
        """How the trend was fitted, in one line for readers of the report."""
        if self.scale == "logit":
            return (f"logistic trend: weighted least squares on the empirical logit of {len(self.years)} years "
                    f"({self.years[0]}-{self.years[-1]}), {int(INTERVAL_LEVEL * 100)} % interval of the trend")
        return (f"log-linear trend: least squares on log intensity of {len(self.years)} years "
                f"({self.years[0]}-{self.years[-1]}), {int(INTERVAL_LEVEL * 100)} % interval of the trend")


def fit_logistic_share(years: Sequence[int], numerators: Sequence[float], denominators: Sequence[float], *,
                       min_years: int = MIN_YEARS_FOR_TREND) -> TrendFit:
    """Fit a logistic trend of a share ``numerator / denominator`` against the year.

    Weighted least squares on the empirical logit (see the module docstring); years whose
    denominator is 0 are left out. With a single year (``min_years=1``) the trend is flat at that
    year's empirical logit.

    Raises
    ------
    ValueError
        With fewer than ``min_years`` years of data (default ``MIN_YEARS_FOR_TREND``).
    """
    y = np.asarray(years, dtype=float)
    x = np.asarray(numerators, dtype=float)
    n = np.asarray(denominators, dtype=float)
    keep = n > 0
    y, x, n = y[keep], x[keep], n[keep]
    if np.any(x < 0) or np.any(x > n):
        raise ValueError("a share's count must lie between 0 and its denominator")
    if len(y) < max(min_years, 1):
        raise ValueError(f"a trend needs {max(min_years, 1)} years with data, got {len(y)}")
    z = np.log((x + 0.5) / (n - x + 0.5))
    w = 1.0 / (1.0 / (x + 0.5) + 1.0 / (n - x + 0.5))
    return _wls("logit", y, z, w)


def fit_loglinear(years: Sequence[int], values: Sequence[float]) -> TrendFit:
    """Fit ``ln(value) = a + b * year`` by least squares (values must be positive)."""
    y = np.asarray(years, dtype=float)
    v = np.asarray(values, dtype=float)
    keep = np.isfinite(v) & (v > 0)
    y, v = y[keep], v[keep]
    if len(y) < MIN_YEARS_FOR_TREND:
        raise ValueError(f"a trend needs {MIN_YEARS_FOR_TREND} years with data, got {len(y)}")
    return _wls("log", y, np.log(v), np.ones_like(y))


def _wls(scale: Scale, y: np.ndarray, z: np.ndarray, w: np.ndarray) -> TrendFit:
    year0 = float(y.mean())
    if len(y) == 1:  # one year: a flat trend through it, no spread to estimate
        return TrendFit(scale=scale, year0=year0, intercept=float(z[0]), slope=0.0, cov=((0.0, 0.0), (0.0, 0.0)),
                        dof=0, years=(int(y[0]),))
    design = np.column_stack([np.ones_like(y), y - year0])
    xtwx = design.T @ (w[:, None] * design)
    beta = np.linalg.solve(xtwx, design.T @ (w * z))
    resid = z - design @ beta
    dof = len(y) - 2
    dispersion = float(np.sum(w * resid**2) / dof) if dof > 0 else 0.0
    if scale == "logit":
        dispersion = max(dispersion, 1.0)  # never claim less spread than binomial counts have
    cov = dispersion * np.linalg.inv(xtwx)
    return TrendFit(
        scale=scale, year0=year0, intercept=float(beta[0]), slope=float(beta[1]),
        cov=((float(cov[0, 0]), float(cov[0, 1])), (float(cov[1, 0]), float(cov[1, 1]))),
        dof=dof, years=tuple(int(v) for v in y),
    )


def expit(eta: float) -> float:
    return 1.0 / (1.0 + math.exp(-eta)) if eta >= 0 else math.exp(eta) / (1.0 + math.exp(eta))
