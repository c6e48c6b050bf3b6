"""Sign conventions of the proxies and comparison of candidates by rank.

Every score is compared after *orientation*: ``oriented = sign * score``, so that higher is better for
every proxy. Raw scores are never averaged or subtracted across candidates, only ordered, because their
scales are wild: SynFlow spans about 1e30 to 1e60 on NAS-Bench-201 and overflows to ``inf`` in float32.

Ordering rules (one place, used by :func:`order`, :func:`ranks`, :func:`best_index`):

* scores are converted to float64 (a Python float or float64 SynFlow up to 1.8e308 is kept exactly);
* ``+inf`` / ``-inf`` are ordered as extended reals *after* orientation: an overflowed SynFlow (``+inf``,
  sign +1) beats every finite score, and ties with another ``+inf``;
* ``NaN`` (a failed score, e.g. jacob_cov of a network whose output ignores its input) is worse than
  every other value, ``-inf`` included, whatever the sign;
* ties (equal values, two infinities of the same sign, or NaNs) go to the **lower index**, i.e. the
  candidate listed first, so the choice does not depend on sort stability or platform.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np

log = logging.getLogger(__name__)

#: +1: a higher raw score is better; -1: a lower raw score is better.
SIGNS: Mapping[str, int] = MappingProxyType(
    {
        # sum |theta * dR/dtheta|: more synaptic flow is better (Tanaka et al.; zero-cost-nas ranks by it).
        "synflow": +1,
        # sum |dL/dtheta * theta|: larger connection sensitivity is better (zero-cost-nas).
        "snip": +1,
        # sum -theta * Hg: zero-cost-nas already negates GraSP's theta * Hg so that higher is better.
        "grasp": +1,
        # sum of per-layer gradient norms (zero-cost-nas).
        "grad_norm": +1,
        # summed channel Fisher information (zero-cost-nas).
        "fisher": +1,
        # -sum(log(v + k) + 1/(v + k)): higher = less correlated Jacobians (Mellor et al. v1).
        "jacob_cov": +1,
        # log det of the ReLU-code kernel: higher = more distinguishable inputs (Mellor et al. 2021).
        "naswot": +1,
    }
)

Scores = Sequence[float] | np.ndarray


def sign_of(proxy: str | int) -> int:
    """The sign of a proxy name, or an explicit sign (+1 / -1) passed through."""
    if isinstance(proxy, str):
        try:
            return SIGNS[proxy]
        except KeyError:
            raise KeyError(
                f"no sign convention for proxy {proxy!r}; known proxies: {', '.join(sorted(SIGNS))}"
            ) from None
    if proxy not in (1, -1):
        raise ValueError(f"a sign must be +1 or -1, got {proxy!r}")
    return int(proxy)


def as_scores(scores: Scores) -> np.ndarray:
    """1-D float64 array of scores (a 0-d or 2-d input is an error)."""
    arr = np.asarray(scores, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"scores must be one-dimensional, got shape {arr.shape}")
    return arr


def oriented(scores: Scores, proxy: str | int) -> np.ndarray:
    """``sign * scores`` as float64: higher is better; NaN stays NaN, infinities keep their meaning."""
    return sign_of(proxy) * as_scores(scores)


def order(scores: Scores, proxy: str | int) -> np.ndarray:
    """Candidate indices from best to worst under the rules of this module."""
    o = oriented(scores, proxy)
    nan = np.isnan(o)
    key = np.where(nan, 0.0, -o)  # ascending -o = descending o; -(-inf) = +inf sorts last among non-NaN
    # np.lexsort: the last key is the primary one.
    return np.lexsort((np.arange(o.size), key, nan))


def ranks(scores: Scores, proxy: str | int) -> np.ndarray:
    """Ordinal rank of each candidate, 0 = best, ties broken towards the lower index."""
    idx = order(scores, proxy)
    out = np.empty_like(idx)
    out[idx] = np.arange(idx.size)
    return out


def best_index(scores: Scores, proxy: str | int) -> int:
    """Index of the best of K candidates (ties -> lowest index, NaN never wins over a number)."""
    o = oriented(scores, proxy)
    if o.size == 0:
        raise ValueError("best_index needs at least one score")
    if np.isnan(o).all():
        log.warning("all %d scores are NaN; choosing candidate 0", o.size)
    return int(order(o, +1)[0])


def tied_ranks(scores: Scores, proxy: str | int) -> np.ndarray:
    """Average ranks (1 = worst, ties share their mean rank) of the oriented scores, NaN kept as NaN.

    This is what rank correlations consume: a monotone, overflow-free image of the scores in which
    ``+inf`` is simply the highest rank.
    """
    o = oriented(scores, proxy)
    out = np.full(o.shape, np.nan)
    ok = ~np.isnan(o)
    from scipy import stats  # here, not at import: the workflow imports the proxy registry to plan

    out[ok] = stats.rankdata(o[ok], method="average")
    return out
