import pyro.distributions as dist
import pytest
import torch

from pgm.distributions import ProductBernoulli


@pytest.mark.parametrize("lshape,xshape", [((7,), (5, 7)), ((3, 1, 7), (5, 7)),
                                           ((5, 7), (5, 7)), ((4, 1, 1, 7), (2, 1, 7))])
def test_log_prob_matches_pyro_bernoulli(lshape, xshape):
    logits = torch.randn(lshape, dtype=torch.float64)
    x = torch.bernoulli(torch.full(xshape, 0.4, dtype=torch.float64))
    ref = dist.Bernoulli(logits=logits).to_event(1).log_prob(x)
    got = ProductBernoulli(logits).log_prob(x)
    assert got.shape == ref.shape
    torch.testing.assert_close(got, ref)


def test_expand_keeps_values_and_shapes():
    d = ProductBernoulli(torch.randn(3, 1, 6)).expand((3, 4))
    assert d.batch_shape == (3, 4) and d.event_shape == (6,)
    x = torch.bernoulli(torch.full((4, 6), 0.5))
    ref = dist.Bernoulli(logits=d.logits).to_event(1).log_prob(x)
    torch.testing.assert_close(d.log_prob(x), ref)
    assert d.sample((2,)).shape == (2, 3, 4, 6)


def test_mean_and_sampling():
    logits = torch.tensor([-2.0, 0.0, 3.0])
    d = ProductBernoulli(logits)
    s = d.sample((20_000,))
    torch.testing.assert_close(s.mean(0), d.mean, atol=0.015, rtol=0)
    torch.testing.assert_close(d.variance, d.mean * (1 - d.mean))
