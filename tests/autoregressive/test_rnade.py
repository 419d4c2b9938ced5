import math

import pytest
import torch

import pgm


def random_rnade(d=2, **kw):
    m = pgm.build("rnade", shape=(d,), hidden=6, components=3, **kw).double()
    with torch.no_grad():
        for p in m.parameters():
            p.normal_(0, 0.7)
    return m


@pytest.mark.parametrize("ordering", [[0, 1], [1, 0]])
def test_density_integrates_to_one(ordering):
    m = random_rnade(ordering=ordering)
    g = torch.linspace(-12, 12, 801, dtype=torch.float64)
    xx, yy = torch.meshgrid(g, g, indexing="ij")
    pts = torch.stack([xx.reshape(-1), yy.reshape(-1)], 1)
    dens = torch.cat([m.log_prob(c).exp() for c in pts.split(100_000)])
    step = (g[1] - g[0]).item()
    assert abs(dens.sum().item() * step * step - 1) < 1e-3


def test_log_prob_is_the_product_of_its_conditionals():
    m = random_rnade(d=4, ordering="random", seed=3)
    x = torch.randn(5, 4, dtype=torch.float64)
    logits, mu, sigma = m.conditionals(x)
    comp = torch.distributions.Normal(mu, sigma).log_prob(x[..., None])
    ref = torch.logsumexp(torch.log_softmax(logits, -1) + comp, -1).sum(-1)
    torch.testing.assert_close(m.log_prob(x), ref)
    # conditional of a pixel does not depend on itself or on later pixels
    y = x.clone()
    last = m.order[-1]
    y[:, last] += 5.0
    l2, m2, s2 = m.conditionals(y)
    torch.testing.assert_close(l2, logits)


def test_samples_have_the_model_s_moments():
    m = random_rnade(d=2)
    torch.manual_seed(0)
    s = m.sample(200_000)
    g = torch.linspace(-12, 12, 801, dtype=torch.float64)
    xx, yy = torch.meshgrid(g, g, indexing="ij")
    pts = torch.stack([xx.reshape(-1), yy.reshape(-1)], 1)
    w = m.log_prob(pts).exp()
    w = w / w.sum()
    torch.testing.assert_close(s.mean(0), w @ pts, atol=0.03, rtol=0)


def test_fit_a_two_dimensional_mixture():
    torch.manual_seed(0)
    centres = torch.tensor([[-2.0, -2.0], [2.0, 2.0], [2.0, -2.0]])
    x = centres[torch.randint(0, 3, (3000,))] + 0.4 * torch.randn(3000, 2)
    m = pgm.build("rnade", shape=(2,), hidden=16, components=4)
    # batches of 500 at lr 2e-2: 200 steps, a gap of 0.011 nats to the true density
    # (batches of 100 at 1e-2: 1000 steps, 4 times as long, 0.014)
    pgm.fit(m, x[:2500], epochs=40, lr=2e-2, batch_size=500, progress=False)
    nll = pgm.metrics.nll(m, x[2500:])
    # the true density: equal mixture of isotropic Gaussians, sd 0.4
    true = -torch.logsumexp(torch.distributions.Normal(centres, 0.4).log_prob(
        x[2500:, None]).sum(-1) - math.log(3), 1).mean().item()
    assert nll - true < 0.1


def test_rnade_accepts_real_values_and_rejects_nan():
    m = pgm.build("rnade", shape=(3,), hidden=4)
    assert m.log_prob(torch.tensor([[0.3, -1.2, 4.0]])).shape == (1,)
    with pytest.raises(pgm.errors.DataError, match="NaN"):
        m.log_prob(torch.tensor([[0.3, float("nan"), 4.0]]))
