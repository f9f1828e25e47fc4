"""How long vehicles stay in service: a Weibull survival curve per class, capped at the mandatory scrapping age.

The curve is fitted to the records by maximum likelihood (deregistrations are events, vehicles still in
service are censored, vehicles already in service when the records start are left-truncated); a
retirement within ``CAP_MARGIN_YEARS`` of the scrapping age counts as forced, not as a Weibull event.
Scrapping ages and the fallback mean lives are documented with their sources in ``data/fleet/README.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize

#: Mandatory scrapping age in years per class (None: no age limit), with the rule it comes from.
SCRAPPING_AGE_YEARS: dict[str, float | None] = {
    "bus": 13.0,            # 机动车强制报废标准规定 (2012) art. 5(4): 公交客运汽车使用13年
    "taxi": 8.0,            # art. 5(1): 小、微型出租客运汽车使用8年
    "ride_hailing": 8.0,    # 网络预约出租汽车经营服务管理暂行办法 (2016) art. 39: 使用年限达到8年时退出网约车经营
    "coach": 15.0,          # art. 5(5): 大、中型营运载客汽车使用15年
    "truck": 15.0,          # art. 5(8): 其他载货汽车使用15年
    "special": 15.0,        # art. 5(9): 有载货功能的专项作业车使用15年
    "van": None,            # depends on use and size (micro trucks 12 y, light 15 y, non-operating vans none)
    "passenger_car": None,  # art. 5: 小、微型非营运载客汽车无使用年限限制
}
#: Fallback Weibull (mean life in years, shape) for a class with too few retirements in the records to fit:
#: mean lives from Hao, Wang, Ouyang & Cheng, Sci China Tech Sci 54 (2011); shapes assumed.
PRIOR_WEIBULL: dict[str, tuple[float, float]] = {
    "bus": (9.0, 3.0), "taxi": (5.0, 3.0), "ride_hailing": (5.0, 3.0), "coach": (5.5, 3.0),
    "truck": (10.1, 3.0), "van": (11.5, 3.0), "special": (13.1, 3.0), "passenger_car": (14.5, 3.0),
}
#: A retirement this close to the scrapping age (years) is taken as forced by the age limit.
CAP_MARGIN_YEARS = 0.25
#: A class needs this many retirements in the records for its own fit; fewer use ``PRIOR_WEIBULL``.
MIN_EVENTS_TO_FIT = 30
_DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class Survival:
    """Weibull survival ``S(a) = exp(-(a/scale)^shape)`` for ages below ``cap_years``, 0 from the cap on."""

    vehicle_class: str
    shape: float
    scale_years: float
    cap_years: float | None
    events: int
    fitted: bool

    @property
    def mean_life_years(self) -> float:
        """Mean of the uncapped Weibull."""
        return self.scale_years * math.gamma(1.0 + 1.0 / self.shape)

    def survival(self, age_years: np.ndarray | float) -> np.ndarray:
        """Probability that a new vehicle is still in service at ``age_years``."""
        a = np.maximum(np.asarray(age_years, dtype=float), 0.0)
        s = np.exp(-((a / self.scale_years) ** self.shape))
        if self.cap_years is not None:
            s = np.where(a >= self.cap_years, 0.0, s)
        return s

    def conditional(self, age_now_years: np.ndarray, later_years: float) -> np.ndarray:
        """Probability that vehicles aged ``age_now_years`` are still in service ``later_years`` from now."""
        now = np.asarray(age_now_years, dtype=float)
        # ratio of survivals in log form, stable for old vehicles
        a0, a1 = np.maximum(now, 0.0), np.maximum(now + later_years, 0.0)
        out = np.exp(-((a1 / self.scale_years) ** self.shape) + (a0 / self.scale_years) ** self.shape)
        if self.cap_years is not None:
            out = np.where(a1 >= self.cap_years, 0.0, out)
        return out

    def to_dict(self) -> dict[str, object]:
        return {"vehicle_class": self.vehicle_class, "shape": self.shape, "scale_years": self.scale_years,
                "mean_life_years": self.mean_life_years, "cap_years": self.cap_years, "events": self.events,
                "fitted": self.fitted}


def prior_survival(vehicle_class: str, *, cap_years: float | None = None) -> Survival:
    """The documented fallback curve of a class (``PRIOR_WEIBULL``), capped at its scrapping age."""
    mean, shape = PRIOR_WEIBULL.get(vehicle_class, (12.0, 3.0))
    cap = SCRAPPING_AGE_YEARS.get(vehicle_class) if cap_years is None else cap_years
    return Survival(vehicle_class, shape, mean / math.gamma(1.0 + 1.0 / shape), cap, 0, False)


def fit_survival(vehicles: pd.DataFrame, *, cutoff: pd.Timestamp, records_start: pd.Timestamp,
                 caps: Mapping[str, float | None] | None = None) -> dict[str, Survival]:
    """A capped Weibull per vehicle class, fitted to the records up to ``cutoff``.

    Parameters
    ----------
    vehicles
        Validated vehicles (``registered_on``, ``deregistered_on`` as timestamps, ``vehicle_class``).
    cutoff
        Data cut-off: deregistrations after it are not known yet (censored there).
    records_start
        First day the records cover: vehicles registered earlier enter the likelihood at their age then.
    caps
        Scrapping age per class (default ``SCRAPPING_AGE_YEARS``).
    """
    caps = SCRAPPING_AGE_YEARS if caps is None else caps
    out: dict[str, Survival] = {}
    day = np.timedelta64(1, "D")
    reg = vehicles["registered_on"].to_numpy(dtype="datetime64[D]")
    dereg = vehicles["deregistered_on"].to_numpy(dtype="datetime64[D]")
    cut = np.datetime64(pd.Timestamp(cutoff).date(), "D")
    first = np.datetime64(pd.Timestamp(records_start).date(), "D")
    known = reg <= cut
    event_all = ~np.isnat(dereg) & (dereg <= cut)
    exit_at = np.where(event_all, dereg, cut)
    entry_all = (np.maximum(reg, first) - reg) / day / _DAYS_PER_YEAR
    age_all = (exit_at - reg) / day / _DAYS_PER_YEAR
    col = vehicles["vehicle_class"]
    if isinstance(col.dtype, pd.CategoricalDtype):
        class_codes, class_names = col.cat.codes.to_numpy(), col.cat.categories
    else:
        class_codes, class_names = pd.factorize(col.astype(str))
    present = np.unique(class_codes[known])
    for vclass, code in sorted((str(class_names[c]), c) for c in present.tolist() if c >= 0):
        m = known & (class_codes == code)
        cap = caps.get(vclass)
        entry = entry_all[m]
        age_out = np.maximum(age_all[m], entry + 1.0 / 365.25)
        event = event_all[m].copy()
        if cap is not None:
            event &= age_out < cap - CAP_MARGIN_YEARS  # retired by the age limit: not a Weibull event
        keep = age_out > entry
        entry, age_out, event = entry[keep], age_out[keep], event[keep]
        n_events = int(event.sum())
        if n_events < MIN_EVENTS_TO_FIT:
            out[vclass] = prior_survival(vclass, cap_years=cap)
            continue
        out[vclass] = _mle(vclass, entry, age_out, event, cap)
    return out


def _mle(vclass: str, entry: np.ndarray, exit_: np.ndarray, event: np.ndarray, cap: float | None) -> Survival:
    # aggregate identical (entry, exit, event) triples at monthly resolution: far fewer terms
    m0 = np.round(entry * 12).astype(np.int64)
    m1 = np.round(exit_ * 12).astype(np.int64)
    key = (m0 * 100_000 + m1) * 2 + event.astype(np.int64)
    uniq, counts = np.unique(key, return_counts=True)
    ev = (uniq % 2) == 1
    pair = uniq // 2
    e0 = (pair // 100_000) / 12.0
    e1 = np.maximum((pair % 100_000) / 12.0, e0 + 1.0 / 24.0)
    w = counts.astype(float)
    e1 = np.maximum(e1, 1.0 / 24.0)

    def nll(theta: np.ndarray) -> float:
        k, lam = math.exp(theta[0]), math.exp(theta[1])
        h1 = (e1 / lam) ** k
        h0 = (e0 / lam) ** k
        ll = np.where(ev, math.log(k) - math.log(lam) + (k - 1) * np.log(e1 / lam), 0.0) - h1 + h0
        return float(-np.sum(w * ll))

    mean0, k0 = PRIOR_WEIBULL.get(vclass, (12.0, 3.0))
    start = np.array([math.log(k0), math.log(mean0 / math.gamma(1 + 1 / k0))])
    res = optimize.minimize(nll, start, method="Nelder-Mead", options={"xatol": 1e-5, "fatol": 1e-6, "maxiter": 2000})
    k, lam = math.exp(res.x[0]), math.exp(res.x[1])
    return Survival(vclass, k, lam, cap, int(w[ev].sum()), True)


def scrapping_date(registered_on: pd.Series, cap_years: float) -> pd.Series:
    """The day each vehicle reaches the scrapping age (whole years: the registration's anniversary)."""
    whole, frac = divmod(cap_years, 1.0)
    out = registered_on + pd.DateOffset(years=int(whole))
    if frac:
        out = out + pd.to_timedelta(frac * _DAYS_PER_YEAR, unit="D")
    return out
