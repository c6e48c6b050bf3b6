"""Sign conventions and rank comparison with huge, infinite and NaN scores."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest

from balenas.proxies import ranking

INF, NAN = math.inf, math.nan


def test_every_sign_is_plus_or_minus_one() -> None:
    assert set(ranking.SIGNS.values()) <= {1, -1}
    assert ranking.sign_of("synflow") == 1 and ranking.sign_of(-1) == -1


def test_unknown_proxy_sign_lists_known_ones() -> None:
    with pytest.raises(KeyError, match="synflow"):
        ranking.sign_of("synflw")
    with pytest.raises(ValueError):
        ranking.sign_of(2)


def test_huge_synflow_values_are_ordered_exactly() -> None:
    scores = [1e30, 1e60, 1e45, 1e60 * (1 + 1e-12)]
    assert ranking.best_index(scores, "synflow") == 3
    assert list(ranking.order(scores, "synflow")) == [3, 1, 2, 0]


def test_float32_overflow_to_inf_wins() -> None:
    with np.errstate(over="ignore"):
        scores = np.array([1e30, 1e60, 1e45], dtype=np.float64).astype(np.float32)  # 1e60 -> inf
    assert np.isinf(scores[1])
    assert ranking.best_index(scores, "synflow") == 1


def test_infinities_tie_towards_lower_index() -> None:
    assert ranking.best_index([1.0, INF, 3.0, INF], "synflow") == 1


def test_equal_scores_tie_towards_lower_index() -> None:
    assert ranking.best_index([2.0, 5.0, 5.0, 1.0], "snip") == 1
    assert list(ranking.ranks([2.0, 5.0, 5.0, 1.0], "snip")) == [2, 0, 1, 3]


def test_nan_is_worst_whatever_the_sign() -> None:
    assert ranking.best_index([NAN, -INF], +1) == 1
    assert ranking.best_index([NAN, INF], -1) == 1
    assert list(ranking.order([NAN, 1.0, -INF, NAN], +1)) == [1, 2, 0, 3]


def test_negative_sign_prefers_the_smallest_raw_score() -> None:
    assert ranking.best_index([3.0, -2.0, 0.5], -1) == 1
    assert ranking.best_index([3.0, -INF, 0.5], -1) == 1
    assert list(ranking.oriented([3.0, -2.0], -1)) == [-3.0, 2.0]


def test_grasp_higher_oriented_value_wins() -> None:
    # The grasp score already carries zero-cost-nas' minus sign; a larger value is better.
    assert ranking.best_index([-0.3, 0.2, 0.1], "grasp") == 1


def test_order_and_ranks_are_inverse_permutations() -> None:
    rng = np.random.default_rng(0)
    scores = rng.choice([1.0, 2.0, INF, -INF, NAN, 1e50], size=40)
    idx, r = ranking.order(scores, "naswot"), ranking.ranks(scores, "naswot")
    np.testing.assert_array_equal(r[idx], np.arange(40))
    assert ranking.best_index(scores, "naswot") == idx[0]


def test_all_nan_picks_first_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="balenas.proxies.ranking"):
        assert ranking.best_index([NAN, NAN, NAN], "jacob_cov") == 0
    assert "NaN" in caplog.text


def test_bad_shapes_are_errors() -> None:
    with pytest.raises(ValueError, match="at least one"):
        ranking.best_index([], "snip")
    with pytest.raises(ValueError, match="one-dimensional"):
        ranking.best_index([[1.0, 2.0]], "snip")


def test_tied_ranks_map_inf_to_top_and_keep_nan() -> None:
    r = ranking.tied_ranks([1e40, INF, NAN, 1e40, -1.0], "synflow")
    np.testing.assert_array_equal(r[[0, 1, 3, 4]], [2.5, 4.0, 2.5, 1.0])
    assert np.isnan(r[2])
    r_neg = ranking.tied_ranks([1.0, 2.0, 3.0], -1)
    np.testing.assert_array_equal(r_neg, [3.0, 2.0, 1.0])
