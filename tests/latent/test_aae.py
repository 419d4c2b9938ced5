"""The adversarial autoencoder: a Pyro model/guide pair whose prior is fitted by a game."""

import math

import pyro.poutine as poutine
import pytest
import torch
import torch.nn.functional as F

import pgm
from pgm.distributions import SwissRoll
from pgm.infer.adversarial import train
from pgm.infer.svi import adam
from pgm.metrics import energy_distance

SETTINGS = dict(batch_size=50, seed=0, progress=False, log_every=0, sample_every=None)


def small(**kw):
    torch.manual_seed(0)
    return pgm.build("aae", **{"latent": 2, "hidden": [32], **kw})


def shapes(n=500):
    return pgm.data.load("shapes", "train", limit=n).x


def test_model_and_guide_are_pyro_programs():
    m, x = small(), shapes(8)
    tr = poutine.trace(m.model).get_trace(x)
    assert tr.nodes["z"]["value"].shape == (8, 2) and tr.nodes["x"]["is_observed"]
    tr.compute_log_prob()
    z = tr.nodes["z"]["value"]
    expected = m.prior().log_prob(z) + pgm.distributions.ProductBernoulli(m.decode(z)).log_prob(x)
    assert torch.allclose(tr.log_prob_sum(), expected.sum())
    g = poutine.trace(m.guide).get_trace(x)
    assert torch.equal(g.nodes["z"]["value"], m.encode(x)[0])  # a point mass at encoder(x)
    drawn = m.model(n=5)
    assert drawn.shape == (5, m.dim) and set(drawn.unique().tolist()) <= {0.0, 1.0}
    gauss = small(posterior="gaussian")
    loc, scale = gauss.encode(x)
    assert loc.shape == scale.shape == (8, 2) and bool((scale > 0).all())


def test_the_swiss_roll_prior_has_samples_but_no_density():
    torch.manual_seed(0)
    z = SwissRoll(noise=0.0).sample((1000,))
    assert z.shape == (1000, 2)
    r, t = z.norm(dim=1), torch.atan2(z[:, 1], z[:, 0])
    # on the spiral r = radius * t / (2 pi turns): r fixes t up to whole turns
    turns = r / 4.0 * 1.5 * 2 * math.pi
    assert torch.allclose(torch.remainder(turns - t, 2 * math.pi).cos(), torch.ones(1000),
                          atol=1e-3)
    with pytest.raises(NotImplementedError, match="no density"):
        SwissRoll().log_prob(z)
    m = small(prior="swiss-roll")
    assert m.sample(3).shape == (3, m.dim)


def test_the_discriminator_plays_prior_draws_against_codes():
    m, x = small(), shapes(64)
    z = m.prior().sample((64,))
    loss, acc = m.d_loss(x, None, {"z": z})
    real, fake = m.discriminate(z), m.discriminate(m.encode(x)[0])
    assert torch.allclose(loss, F.softplus(-real).mean() + F.softplus(fake).mean())
    opt = adam(m.discriminator.parameters(), 1e-3)
    before = [p.detach().clone() for p in m.generator.parameters()]
    loss.backward()
    opt.step()
    assert m.d_loss(x, None, {"z": z})[0] < loss
    for p, q in zip(m.generator.parameters(), before, strict=True):
        assert torch.equal(p, q)  # the encoder is not the discriminator's to move


def test_an_autoencoder_step_lowers_its_loss_against_a_fixed_discriminator():
    m, x = small(), shapes(64)
    torch.manual_seed(1)
    before = m.g_loss(None, real=x)
    opt = adam(m.generator.parameters(), 1e-3)
    d_before = [p.detach().clone() for p in m.discriminator.parameters()]
    before.backward()
    opt.step()
    torch.manual_seed(1)
    assert m.g_loss(None, real=x) < before
    for p, q in zip(m.discriminator.parameters(), d_before, strict=True):
        assert torch.equal(p, q)
    terms = m.terms(x)
    assert terms["reconstruction"] > 0 and terms["adversarial"] > 0
    with pytest.raises(ValueError, match="real: the autoencoder's step needs"):
        m.g_loss(None)


@pytest.mark.parametrize("prior", ["normal", "swiss-roll"])
def test_the_game_moves_the_codes_to_the_prior(prior):
    """After a short seeded run, the codes of held-out images are closer to the prior (energy
    distance) than those of the same autoencoder trained without the game (a tiny weight)."""
    x, held_out = shapes(1500), pgm.data.load("shapes", "valid", limit=500).x
    distance = {}
    for weight in (1e-6, 3.0):
        m = small(prior=prior, weight=weight, hidden=[64])
        train(m, x, epochs=15, lr_d=1e-3, **SETTINGS)
        torch.manual_seed(0)
        with torch.no_grad():
            distance[weight] = energy_distance(m.encode(held_out)[0], m.prior().sample((500,)))
    assert distance[3.0] < 0.25 * distance[1e-6], distance


def test_the_posterior_of_chosen_images_in_arviz():
    from pgm.posterior import latent_posterior

    m, x = small(posterior="gaussian"), shapes(3)
    idata = latent_posterior(m, x, num_samples=200)
    z = idata.posterior["z"]
    assert z.dims == ("chain", "draw", "image", "latent") and z.shape == (1, 200, 3, 2)
    loc, scale = m.encode(x)
    assert torch.allclose(torch.as_tensor(z.mean(("chain", "draw")).values), loc.detach(),
                          atol=4 * float(scale.max()) / 200**0.5)


def test_bad_settings_name_the_argument():
    with pytest.raises(ValueError, match="prior: expected one of"):
        pgm.build("aae", prior="vamp")
    with pytest.raises(ValueError, match="latent: the swiss-roll prior is 2-D; expected 2, got 8"):
        pgm.build("aae", prior="swiss-roll", latent=8)
    with pytest.raises(ValueError, match="posterior: expected one of"):
        pgm.build("aae", posterior="flow")
    with pytest.raises(ValueError, match="weight"):
        pgm.build("aae", weight=0)
