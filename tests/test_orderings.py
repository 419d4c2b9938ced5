import pytest
import torch

from pgm.autoregressive import orderings


def test_named_orderings():
    shape = (1, 2, 3)  # pixels 0 1 2 / 3 4 5
    assert orderings.ordering("raster", shape).tolist() == [0, 1, 2, 3, 4, 5]
    assert orderings.ordering("snake", shape).tolist() == [0, 1, 2, 5, 4, 3]
    assert orderings.ordering("column", shape).tolist() == [0, 3, 1, 4, 2, 5]
    r = orderings.ordering("random", shape, seed=1)
    assert sorted(r.tolist()) == list(range(6))
    assert torch.equal(r, orderings.ordering("random", shape, seed=1))


def test_channels_stay_together():
    assert orderings.ordering("raster", (3, 1, 2)).tolist() == [0, 2, 4, 1, 3, 5]


@pytest.mark.parametrize("bad,match", [
    ([0, 1, 1], "not a permutation"), ([0, 1], "3 integers"), ([0.0, 1.0, 2.0], "dtype"),
    ("diagonal", "expected one of"),
])
def test_bad_orderings(bad, match):
    with pytest.raises(ValueError, match=match):
        orderings.resolve(bad, (1, 1, 3))
