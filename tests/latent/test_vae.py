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
        # the ELBO's reconstruction term is a Monte Carlo mean: below log p(x) up to 4 of
        # its standard errors (the KL term is exact)
        rec, _ = m._log_weights(m.check(x), 4000)  # (S, B)
        assert (elbo <= exact + 4 * rec.std(0) / math.sqrt(4000)).all()
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
    before = pgm.metrics.nll(m, data[:100])
    pgm.fit(m, data, epochs=3, lr=3e-3, progress=False)
    assert pgm.metrics.nll(m, data[:100]) < before - 100


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


def test_warmup_weights_the_latent_sites_in_training_only():
    m = pgm.build("vae", shape=(1, 2, 4), latent=2, hidden=[5], warmup=4)
    x = all_binary(8)[:5].float()

    def scales():
        guide = pyro.poutine.trace(m.guide).get_trace(x)
        model = pyro.poutine.trace(pyro.poutine.replay(m.model, trace=guide)).get_trace(x)
        return guide.nodes["z"]["scale"], model.nodes["z"]["scale"], model.nodes["x"]["scale"]

    m.train()
    m.start_epoch(0)
    assert scales() == (0.25, 0.25, 1.0)  # epoch 1 of 4: a quarter of the prior-fitting term
    m.start_epoch(2)
    assert scales() == (0.75, 0.75, 1.0)
    m.eval()
    assert scales() == (1.0, 1.0, 1.0)  # the bound itself outside training
    m.train()
    m.start_epoch(9)
    assert scales() == (1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="warmup: expected an integer >= 0, got -1"):
        pgm.build("vae", warmup=-1)


def test_initialize_puts_the_decoder_at_the_pixel_marginals():
    x = torch.bernoulli(torch.linspace(0.1, 0.9, 8).expand(400, 8))
    m = pgm.build("vae", shape=(1, 2, 4), latent=2, hidden=[5])
    m.initialize(x)
    smoothed = (x.sum(0) + 1) / (len(x) + 2)
    torch.testing.assert_close(torch.sigmoid(m.decoder[-1].bias), smoothed)


@pytest.mark.parametrize("latent", [3, [3, 2]])
def test_active_units_count_the_codes_that_move_with_the_image(latent):
    torch.manual_seed(0)
    m = pgm.build("vae", shape=(1, 2, 4), latent=latent, hidden=[16], hidden2=[8])
    x = all_binary(8).float()
    with torch.no_grad():
        m.enc_loc.weight.zero_()
        m.enc_loc.weight[0] = 2.0  # only z1[0] reads the image
    got = m.active_units(x)
    assert got[0] == 1
    if m.layers == 2:
        with torch.no_grad():
            m.q2.loc.weight.zero_()
        assert m.active_units(x) == [1, 0]
        with torch.no_grad():
            m.q2.loc.weight[:, 0] = 3.0  # z2 follows z1[0]
        assert m.active_units(x) == [1, 2]
    assert m.diagnostics(x)["active"] == 1


def test_vamp_prior_codes_carry_information_after_a_short_fit(data_dir):
    # without the decoder's start at the pixel marginals, the VampPrior's encoder saturated
    # within the first steps and its codes stayed equal to the prior (KL 0.002, no active
    # unit, 67% of its tanh units saturated); with it: 10 active units, KL 7.9 nats
    data = pgm.data.load("binarized-mnist", "train", data_dir, limit=3000).x
    torch.manual_seed(0)
    m = pgm.build("vae", latent=10, hidden=[200, 200], prior="vamp", components=50)
    pgm.fit(m, data, epochs=3, lr=1e-3, batch_size=50, progress=False)
    with torch.no_grad():
        assert m.active_units(data[:500])[0] >= 5
        assert m.elbo_terms(data[:500])["kl"].mean() > 2.0
