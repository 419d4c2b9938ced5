"""A loss that goes wrong says why: the site, the parameter and the violated constraint."""

import warnings

import pyro
import pyro.distributions as dist
import pytest
import torch
from pyro.distributions import constraints

import pgm
from pgm.infer.diagnose import diagnose
from pgm.infer.svi import Diverged, DivergenceWarning


def normal_model(positive: bool):
    def model(y):
        loc = pyro.param("loc", torch.tensor(0.0))
        scale = pyro.param("scale", torch.tensor(1.0),
                           **({"constraint": constraints.positive} if positive else {}))
        with pyro.plate("data", len(y)):
            pyro.sample("y", dist.Normal(loc, scale), obs=y)
    return model


Y = 0.01 * torch.randn(100, generator=torch.Generator().manual_seed(0))


def test_an_unconstrained_scale_is_named():
    """The issue's example: an unconstrained scale on data of spread 0.01 steps below 0."""
    with pytest.raises(Diverged) as e:
        pgm.fit(normal_model(False), guide=None, data={"y": Y}, progress=False, log_every=0,
                lr=0.05)
    msg = str(e.value)
    assert "model site 'y'" in msg and "Normal's scale violates GreaterThan(lower_bound=0.0)" in msg
    assert "the parameter 'scale'" in msg and "constraint=" in msg
    # the same model with the constraint fits, to the data's own spread (closed form: MLE)
    fit = pgm.fit(normal_model(True), guide=None, data={"y": Y}, progress=False, log_every=0,
                  lr=0.05, epochs=1500)
    assert abs(fit["model"].param("scale").item() - Y.std(unbiased=False).item()) < 1e-3


def test_diagnose_reads_every_kind_of_fault():
    m = pgm.build("bernoulli", shape=(1, 2, 2))
    assert diagnose(m, m.guide, torch.zeros(3, 4)) == []
    with torch.no_grad():
        m.logits[0] = float("nan")
    faults = diagnose(m, m.guide, torch.zeros(3, 4))
    assert faults[0] == "parameter 'logits' holds non-finite values"
    assert any("model site 'x'" in f for f in faults)

    def outside(y):
        pyro.sample("y", dist.Exponential(1.0), obs=y)

    program = pgm.core.program.Program(outside, None, {"y": torch.tensor([1.0])})
    program.data["y"] = torch.tensor([-1.0])
    faults = diagnose(program, program.guide)
    assert faults and "model site 'y': value outside the support" in faults[0]


def test_a_loss_that_explodes_without_nan_warns():
    train = pgm.data.load("shapes", "train", limit=300)
    m = pgm.build("vae", shape=train.shape, latent=2, hidden=[32])
    with pytest.warns(DivergenceWarning, match="the training loss rose from"):
        s = pgm.fit(m, train.x, epochs=2, lr=10.0, progress=False, log_every=0)
    assert s["train_loss"] > 3 * s["first_loss"]
    m = pgm.build("vae", shape=train.shape, latent=2, hidden=[32])
    with warnings.catch_warnings():
        warnings.simplefilter("error", DivergenceWarning)  # a sound run does not warn
        pgm.fit(m, train.x, epochs=2, lr=1e-3, progress=False, log_every=0)
