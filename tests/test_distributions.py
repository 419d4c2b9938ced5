import pyro.distributions as dist
import pytest
import torch

from pgm.distributions import DiagonalNormalMixture, ProductBernoulli


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


def _mixture(k=4, latent=3, dtype=torch.float32):
    g = torch.Generator().manual_seed(0)
    return (torch.randn(k, generator=g, dtype=dtype), torch.randn(k, latent, generator=g,
            dtype=dtype), torch.rand(k, latent, generator=g, dtype=dtype) * 1.5 + 0.05)


@pytest.mark.parametrize("zshape", [(3,), (5, 3), (2, 6, 3)])
def test_normal_mixture_matches_mixture_same_family(zshape):
    logits, loc, scale = _mixture()
    ref = dist.MixtureSameFamily(dist.Categorical(logits=logits),
                                 dist.Normal(loc, scale).to_event(1))
    z = 2 * torch.randn(zshape)
    got = DiagonalNormalMixture(logits, loc, scale).log_prob(z)
    assert got.shape == zshape[:-1]
    torch.testing.assert_close(got, ref.log_prob(z), atol=1e-4, rtol=1e-5)


def test_normal_mixture_expands_in_a_plate_and_samples_its_components():
    logits, loc, scale = _mixture()
    d = DiagonalNormalMixture(logits, loc, scale).expand((5,))
    assert d.batch_shape == (5,) and d.event_shape == (3,)
    assert d.log_prob(torch.randn(3)).shape == (5,)
    torch.manual_seed(0)
    z = DiagonalNormalMixture(logits, loc, scale).sample((40_000,))  # (N, L)
    mean = (logits.softmax(0)[:, None] * loc).sum(0)
    torch.testing.assert_close(z.mean(0), mean, atol=0.03, rtol=0)
    with pytest.raises(ValueError, match="logits, loc, scale: expected shapes"):
        DiagonalNormalMixture(logits[:2], loc, scale)


def test_normal_mixture_gradients_match():
    logits, loc, scale = (t.requires_grad_() for t in _mixture(dtype=torch.float64))
    z = torch.randn(7, 3, dtype=torch.float64)
    DiagonalNormalMixture(logits, loc, scale).log_prob(z).sum().backward()
    ours = [t.grad.clone() for t in (logits, loc, scale)]
    for t in (logits, loc, scale):
        t.grad = None
    dist.MixtureSameFamily(dist.Categorical(logits=logits),
                           dist.Normal(loc, scale).to_event(1)).log_prob(z).sum().backward()
    for a, t in zip(ours, (logits, loc, scale), strict=True):
        torch.testing.assert_close(a, t.grad)
