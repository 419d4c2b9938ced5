import math

import pyro
import pytest
import torch

import pgm
from tests.conftest import all_binary


def tiny_vae(**kw):
    torch.manual_seed(0)
    m = pgm.build("vae", shape=(1, 2, 4), latent=1, hidden=[6], **kw).double()
    with torch.no_grad():
        for p in m.parameters():
            p.normal_(0, 0.8)
    return m


def exact_log_prob(m, x):
    """log p(x) = log of the integral of N(z) p(x | z) dz, by quadrature over a fine grid."""
    z = torch.linspace(-10, 10, 20001, dtype=torch.float64)[:, None]  # (G, 1)
    log_joint = (torch.distributions.Normal(0.0, 1.0).log_prob(z[:, 0])[:, None]
                 + pgm.distributions.ProductBernoulli(m.decoder(z)[:, None]).log_prob(x))
    return torch.logsumexp(log_joint, 0) + math.log(z[1, 0] - z[0, 0])


def test_exact_likelihood_is_normalized():
    m = tiny_vae()
    assert abs(exact_log_prob(m, all_binary(8)).exp().sum().item() - 1) < 1e-6


def test_elbo_below_exact_and_importance_sampling_converges():
    m = tiny_vae()
    x = all_binary(8)[::17]
    # fit the guide only (the decoder stays as drawn): importance sampling needs a proposal
    # that covers the posterior, which is what training the guide provides
    for p in m.decoder.parameters():
        p.requires_grad_(False)
    pgm.fit(m, m.sample(2000).double(), epochs=30, lr=2e-2, batch_size=200, progress=False)
    exact = exact_log_prob(m, x)
    with torch.no_grad():
        elbo = m.elbo_terms(x, samples=4000)["elbo"]
        assert (elbo <= exact + 1e-3).all()
        gaps = [(exact - m.log_prob(x, k)).abs().mean().item() for k in (1, 10, 100, 5000)]
    assert gaps[-1] < 0.05 and gaps[-1] < gaps[2] < gaps[1] < gaps[0]


def test_iwae_bound_rises_with_k_towards_log_p():
    m = tiny_vae()
    x = all_binary(8)[::5]
    exact = exact_log_prob(m, x).sum().item()
    bounds = []
    for k in (1, 10, 200):
        m.config.update(objective="iwae", particles=k)
        torch.manual_seed(0)
        vals = [-m.elbo().differentiable_loss(m.model, m.guide, x).item() for _ in range(30)]
        bounds.append(sum(vals) / len(vals))
    assert bounds[0] < bounds[1] < bounds[2] <= exact + 0.05


def test_analytic_and_monte_carlo_kl_agree_in_expectation():
    m = tiny_vae()
    x = all_binary(8)[::9]
    torch.manual_seed(0)
    analytic = pgm.build("vae", **{**m.config, "analytic_kl": True}).double()
    analytic.load_state_dict(m.state_dict())
    a = torch.stack([analytic.elbo().differentiable_loss(analytic.model, analytic.guide, x)
                     for _ in range(400)])
    b = torch.stack([m.elbo().differentiable_loss(m.model, m.guide, x) for _ in range(400)])
    assert abs(a.mean() - b.mean()) < 3 * (b.std() / 20) + 0.05
    assert a.std() < b.std()  # the closed form removes the KL's sampling noise


@pytest.mark.parametrize("prior", ["mog", "vamp"])
def test_priors_without_closed_form_kl(prior):
    m = pgm.build("vae", shape=(1, 2, 4), latent=2, hidden=[5], prior=prior, components=3)
    lp = m.prior().log_prob(torch.randn(7, 2))
    assert lp.shape == (7,) and torch.isfinite(lp).all()
    with pytest.raises(ValueError, match="no closed form.*Monte Carlo"):
        pgm.build("vae", prior=prior, analytic_kl=True)


def test_fit_lowers_the_likelihood_estimate():
    data = pgm.data.load("shapes", "train", limit=600).x
    m = pgm.build("vae", latent=4, hidden=[64])
    before = pgm.infer.nll(m, data[:100])
    pgm.fit(m, data, epochs=3, lr=3e-3, progress=False)
    assert pgm.infer.nll(m, data[:100]) < before - 100


@pytest.mark.parametrize("kw,match", [
    ({"latent": 0}, "latent: expected a positive integer"),
    ({"prior": "laplace"}, "prior: expected one of"),
    ({"objective": "vi"}, "objective: expected one of"),
    ({"particles": 0}, "particles: expected a positive integer"),
])
def test_bad_configuration(kw, match):
    with pytest.raises(ValueError, match=match):
        pgm.build("vae", **kw)


def test_two_stochastic_layers():
    torch.manual_seed(0)
    m = pgm.build("vae", shape=(1, 2, 4), latent=[3, 2], hidden=[8], hidden2=[6]).double()
    x = all_binary(8)[::11]
    tr = pyro.poutine.trace(m.guide).get_trace(x)
    assert tr.nodes["z"]["value"].shape == (len(x), 3) and tr.nodes["z2"]["value"].shape == (
        len(x), 2)
    with torch.no_grad():
        pyro_elbo = torch.stack([-m.elbo().differentiable_loss(m.model, m.guide, x)
                                 for _ in range(300)])
        ours = m.elbo_terms(x, samples=3000)["elbo"].sum()
        assert abs(pyro_elbo.mean() - ours) < 4 * pyro_elbo.std() / 300**0.5 + 0.05
        lp = m.log_prob(x, 2000).sum()
        assert ours < lp  # the ELBO bounds the importance-sampled estimate from below
    assert m.sample(5).shape == (5, 8)
    with pytest.raises(ValueError, match="two stochastic layers take the 'normal' prior"):
        pgm.build("vae", latent=[3, 2], prior="vamp")
    with pytest.raises(ValueError, match="latent: expected an int or a list of two"):
        pgm.build("vae", latent=[3, 2, 1])
