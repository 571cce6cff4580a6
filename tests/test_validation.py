"""The shared input contracts of libranas._validation (ints, seeds, columns, rank correlation)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from libranas._validation import (
    as_generator,
    as_seed,
    check_int,
    check_random_state,
    column_index,
    draw_seeds,
    is_int,
    rank_correlation,
)


def test_is_int_and_check_int():
    assert [is_int(v) for v in (3, np.int8(3), True, np.bool_(True), 3.0, "3")] == [
        True, True, False, False, False, False,
    ]  # fmt: skip
    assert check_int(np.int64(5), "n", low=1, high=5) == 5 and type(check_int(5, "n")) is int
    with pytest.raises(ValueError, match=r"n must be an int in \[1, 5\], got 6"):
        check_int(6, "n", low=1, high=5)
    with pytest.raises(TypeError, match="n must be an int >= 1, got True"):
        check_int(True, "n", low=1)


@pytest.mark.parametrize("bad", [-1, np.int32(-5)])
def test_negative_seeds_are_refused(bad):
    for func in (check_random_state, as_generator, as_seed):
        with pytest.raises(ValueError, match="random_state must be None, a non-negative int"):
            func(bad)


@pytest.mark.parametrize("bad", [1.5, "0", True, [0], object()])
def test_non_seeds_are_refused_with_a_type_error(bad):
    for func in (check_random_state, as_generator, as_seed):
        with pytest.raises(TypeError, match="random_state must be None"):
            func(bad)


def test_every_accepted_seed_form():
    assert as_seed(7) == 7 and as_seed(np.int64(7)) == 7
    assert as_seed(np.random.default_rng(1)) == as_seed(np.random.default_rng(1))
    assert as_seed(np.random.RandomState(1)) == as_seed(np.random.RandomState(1))
    assert 0 <= as_seed(None) < 2**31 - 1
    g = np.random.default_rng(3)
    assert as_generator(g) is g  # used as is: successive calls advance it
    a, b = as_generator(4).random(3), np.random.default_rng(4).random(3)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        as_generator(np.random.RandomState(2)).random(2),
        as_generator(np.random.RandomState(2)).random(2),
    )


def test_draw_seeds_keeps_the_legacy_stream_of_an_int():
    expected = np.random.RandomState(5).randint(2**31 - 1, size=3)
    np.testing.assert_array_equal(draw_seeds(5, 3), expected)  # unchanged ZCRanker seeds
    rs = np.random.RandomState(5)
    np.testing.assert_array_equal(draw_seeds(rs, 3), expected)
    g1, g2 = draw_seeds(np.random.default_rng(0), 4), draw_seeds(np.random.default_rng(0), 4)
    np.testing.assert_array_equal(g1, g2)
    assert ((g1 >= 0) & (g1 < 2**31 - 1)).all()


def test_column_index_one_rule_for_names_and_positions():
    names = ["nwot", "params", "snip"]
    assert column_index("params", names, 3, "bias") == 1
    assert column_index(-1, names, 3, "bias") == 2 and column_index(np.int64(0), None, 3, "x") == 0
    with pytest.raises(ValueError, match=r"bias: no column named 'flops' in X; .*'nwot'"):
        column_index("flops", names, 3, "bias")
    with pytest.raises(ValueError, match="passthrough names column 'a', but X has no column"):
        column_index("a", None, 3, "passthrough")
    with pytest.raises(ValueError, match="position 3 is out of range for X with 3 columns"):
        column_index(3, names, 3, "passthrough")
    with pytest.raises(ValueError, match="position -4 is out of range"):
        column_index(-4, None, 3, "passthrough")
    with pytest.raises(TypeError, match="passthrough entries must be column names"):
        column_index(1.0, names, 3, "passthrough")


def test_rank_correlation_by_hand():
    # ranks of b: 1, 2, 4, 3 -> d = 0, 0, -1, 1: rho = 1 - 6 * 2 / (4 * 15) = 0.8
    assert rank_correlation([1, 2, 3, 4], [10, 20, 40, 30]) == pytest.approx(0.8)
    # 6 pairs, 1 discordant: tau = (5 - 1) / 6
    assert rank_correlation([1, 2, 3, 4], [10, 20, 40, 30], method="kendall") == pytest.approx(
        4 / 6
    )
    # omit: NaN pairs dropped ("nan"), +-inf too ("non-finite"); inf otherwise ranks last
    a, b = [1.0, 2.0, np.nan, 4.0, np.inf], [1.0, 2.0, 3.0, 5.0, 0.0]
    assert rank_correlation(a, b, omit="non-finite") == pytest.approx(1.0)
    assert rank_correlation(a, b, omit="nan") == pytest.approx(1 - 6 * (1 + 1 + 1 + 9) / 60)
    assert math.isnan(rank_correlation(a, b))  # NaN kept: undefined


def test_rank_correlation_is_nan_without_a_warning_when_undefined(recwarn):
    assert math.isnan(rank_correlation([1, 2, 3], [5, 5, 5]))
    assert math.isnan(rank_correlation([1], [2]))
    assert math.isnan(rank_correlation([1, np.nan], [2, 3], omit="nan"))
    assert len(recwarn) == 0
    with pytest.raises(ValueError, match="different lengths"):
        rank_correlation([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="method must be"):
        rank_correlation([1, 2], [1, 2], method="pearson")
    with pytest.raises(ValueError, match="omit must be"):
        rank_correlation([1, 2], [1, 2], omit="all")
