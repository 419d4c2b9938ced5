"""Helpers of the model protocol (pgm.core.base)."""

import pytest
from torch import nn

from pgm.core.base import evaluating


@pytest.mark.parametrize("training", [True, False])
def test_evaluating_switches_to_eval_and_restores_the_mode_even_on_error(training):
    m = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)).train(training)
    with evaluating(m) as inside:
        assert inside is m and not m.training and not m[1].training
    assert m.training == training and m[1].training == training
    with pytest.raises(RuntimeError), evaluating(m):
        raise RuntimeError("boom")
    assert m.training == training
