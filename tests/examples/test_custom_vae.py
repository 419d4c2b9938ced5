"""examples/custom_vae.py: a VAE subclass trains, evaluates, inspects, reloads as the built-in."""

import math
import sys
import warnings
from pathlib import Path

import pytest
import torch

import pgm
from pgm.errors import CheckpointError
from pgm.infer import checkpoint

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))

import custom_vae as cv  # noqa: E402

from pgm.posterior import latent_posterior  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)
    import arviz as az  # noqa: E402

SMALL = {"latent": 8, "hidden": [64], "channels": 8, "eval_samples": 50}


@pytest.fixture(scope="module")
def shapes():
    return (pgm.data.load("shapes", "train", limit=1000).x,
            pgm.data.load("shapes", "valid", limit=100).x)


@pytest.fixture(scope="module")
def fitted(shapes, tmp_path_factory):
    """A small ConvVAE and its ELBO on held-out images before and after 2 epochs."""
    torch.set_num_threads(1)
    train, valid = shapes
    torch.manual_seed(0)
    model = cv.ConvVAE(shape=(1, 28, 28), **SMALL)
    with torch.no_grad():
        before = model.elbo_terms(valid, samples=10)["elbo"].mean().item()
    out = tmp_path_factory.mktemp("conv-vae")
    cv.train(model, train, epochs=2, out=out)
    with torch.no_grad():
        after = model.elbo_terms(valid, samples=10)["elbo"].mean().item()
    return {"model": model.eval(), "before": before, "after": after, "out": out}


@pytest.mark.parametrize("shape", [(1, 28, 28), (1, 9, 7), (3, 8, 8)])
def test_networks_map_any_batch_shape(shape):
    torch.manual_seed(0)
    m = cv.ConvVAE(shape=shape, latent=3, hidden=[10], channels=4)
    d = math.prod(shape)
    x = torch.bernoulli(torch.full((5, d), 0.3))
    loc, scale = m.encode(x)
    assert loc.shape == scale.shape == (5, 3) and (scale > 0).all()
    assert m.decoder(torch.randn(7, 5, 3)).shape == (7, 5, d)
    assert m.sample(4).shape == (4, d)
    assert torch.isfinite(m.log_prob(x, num_samples=10)).all()


def test_it_is_a_registered_vae():
    m = pgm.build("conv-vae", shape=[1, 28, 28], latent=4, hidden=[16], channels=4)
    assert isinstance(m, cv.ConvVAE) and m.name == "conv-vae"
    assert m.config["channels"] == 4 and m.config["hidden"] == [16]
    assert isinstance(m.encoder, cv.ConvEncoder) and isinstance(m.decoder, cv.ConvDecoder)
    with pytest.raises(ValueError, match="one hidden size"):
        cv.ConvVAE(hidden=[16, 16])


def test_training_raises_the_elbo(fitted):
    assert fitted["after"] > fitted["before"] + 100, (fitted["before"], fitted["after"])


def test_elbo_is_below_the_importance_sampled_log_prob(fitted, shapes):
    model, x = fitted["model"], shapes[1][:50]
    torch.manual_seed(0)
    with torch.no_grad():
        elbo = model.elbo_terms(x, samples=50)["elbo"]
        log_p = model.log_prob(x, num_samples=200)
    assert torch.isfinite(log_p).all() and (log_p < 0).all()
    assert elbo.mean() < log_p.mean()
    assert (elbo <= log_p + 0.5).float().mean() >= 0.95  # each image, up to Monte Carlo noise
    nll = pgm.evaluate(model, x)["nll_nats"]
    assert 0 < nll < -fitted["before"]


def test_checkpoint_round_trip(fitted, shapes):
    model, x = fitted["model"], shapes[1][:10]
    again, ckpt = pgm.load_model(fitted["out"])
    assert type(again) is cv.ConvVAE and ckpt["model"] == "conv-vae"
    assert again.config == model.config
    for k, v in model.state_dict().items():
        torch.testing.assert_close(again.state_dict()[k], v, rtol=0, atol=0)
    torch.manual_seed(3)
    a = model.log_prob(x)
    torch.manual_seed(3)
    torch.testing.assert_close(again.log_prob(x), a)
    other = cv.ConvVAE(shape=(1, 28, 28), **{**SMALL, "channels": 4})
    with pytest.raises(CheckpointError, match="config"):
        checkpoint.restore(other, ckpt)


def test_latent_posterior_in_arviz(fitted, shapes):
    model, x = fitted["model"], shapes[1][:3]
    torch.manual_seed(0)
    idata = latent_posterior(model, x, num_samples=400)
    z = idata.posterior["z"]
    assert z.dims == ("chain", "draw", "image", "latent") and z.shape == (1, 400, 3, 8)
    summary = az.summary(idata, var_names=["z"], kind="stats")
    assert len(summary) == 3 * 8 and (summary["sd"] > 0).all()
    loc, scale = model.encode(x)
    err = (torch.tensor(z.mean(("chain", "draw")).values) - loc).abs()
    assert (err < 5 * scale / 400**0.5).all()


def test_two_stochastic_layers():
    torch.manual_seed(0)
    m = cv.ConvVAE(shape=(1, 12, 12), latent=[4, 2], hidden=[16], hidden2=[8], channels=4)
    x = torch.bernoulli(torch.full((6, 144), 0.2))
    assert torch.isfinite(m.log_prob(x, num_samples=5)).all()
    assert m.elbo_terms(x)["elbo"].shape == (6,)
