import pytest

import pgm
from pgm.structure import counting


def test_building_blocks():
    assert counting.bernoulli() == 1
    assert counting.categorical(10) == 9
    assert counting.rgb_pixel() == 16_777_215 == 256**3 - 1
    assert counting.rgb_pixel(independent_channels=True) == 765 == 3 * 255


@pytest.mark.parametrize("n", range(1, 21))
def test_closed_forms(n):
    assert counting.fully_dependent(n) == 2**n - 1 == counting.chain_rule(n)
    assert counting.fully_independent(n) == n
    assert counting.markov(n) == 2 * n - 1
    assert counting.autoregressive(n, n - 1) == 2**n - 1
    assert counting.autoregressive(n, 0) == n
    if n > 1:
        assert counting.autoregressive(n, 1) == 2 * n - 1


@pytest.mark.parametrize("n", range(1, 21))
def test_models_count_their_free_parameters(n):
    assert pgm.build("bernoulli", shape=(n,)).num_parameters == n
    assert pgm.build("markov", shape=(n,)).num_parameters == 2 * n - 1
    for k in range(0, n, 3):
        m = pgm.build("ar", shape=(n,), k=k, conditional="table")
        assert m.num_parameters == counting.autoregressive(n, k)
        assert m.num_parameters == m.table.numel()  # one free logit per table entry
    assert pgm.build("ar", shape=(n,), k=n - 1, conditional="table").num_parameters == 2**n - 1
    if n <= 16:
        assert pgm.build("joint", shape=(n,)).num_parameters == 2**n - 1


def test_large_joint_is_refused_politely():
    with pytest.raises(ValueError, match="2\\^784 - 1 parameters.*at most 24"):
        pgm.build("joint", shape=(1, 28, 28))


@pytest.mark.parametrize("k,match", [(-1, "k: expected an integer in 0..7"),
                                     (8, "k: expected an integer in 0..7, got 8")])
def test_bad_k(k, match):
    with pytest.raises(ValueError, match=match):
        pgm.build("ar", shape=(8,), k=k)
