"""NUTS checks that its output can be built before sampling, and never loses its draws.

The draws kept by the error are checked against the conjugate Beta posterior of a coin.
"""

import warnings

import arviz as az
import numpy as np
import pyro
import pyro.distributions as dist
import pytest
import torch

import pgm.infer.mcmc as mcmc
import pgm.posterior
from pgm.core.program import ModelError
from pgm.infer.mcmc import nuts
from pgm.posterior import InferenceDataError, predictive

pytestmark = pytest.mark.usefixtures("one_thread")


Y30 = torch.randn(30, generator=torch.Generator().manual_seed(0)) + 1.5


def no_plate(y):
    mu = pyro.sample("mu", dist.Normal(0.0, 10.0))
    pyro.sample("obs", dist.Normal(mu, 1.0), obs=y)  # 30 values, no plate


def test_an_observation_without_a_plate_gets_one_dim_named_alike_in_every_group():
    idata = nuts(no_plate, {"y": Y30}, num_samples=200, warmup_steps=100, chains=2)
    for group in ("posterior_predictive", "log_likelihood"):
        assert idata[group]["obs"].dims == ("chain", "draw", "obs_dim_0")
        assert idata[group]["obs"].shape == (2, 200, 30)
    assert idata.observed_data["obs"].dims == ("obs_dim_0",)
    mu = torch.as_tensor(idata.posterior["mu"].values)
    assert torch.allclose(torch.as_tensor(idata.log_likelihood["obs"].values),
                          dist.Normal(mu[..., None], 1.0).log_prob(Y30), atol=1e-4)
    # conjugate: mu | y ~ N(sum(y) / (30 + 1/100), 1 / (30 + 1/100)); ess >= 100 here
    prec = 30 + 1 / 100
    assert abs(float(mu.mean()) - float(Y30.sum()) / prec) < 4 / np.sqrt(prec * 100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isfinite(az.loo(idata).elpd_loo)


def event_site(y):
    mu = pyro.sample("mu", dist.Normal(0.0, 10.0))
    pyro.sample("obs", dist.Normal(mu, 1.0).expand([30]).to_event(1), obs=y)


def test_an_event_dim_observation_is_one_datum():
    idata = nuts(event_site, {"y": Y30}, num_samples=20, warmup_steps=20, chains=1)
    assert idata.log_likelihood["obs"].dims == ("chain", "draw")
    assert idata.posterior_predictive["obs"].dims == ("chain", "draw", "obs_dim_0")
    mu = torch.as_tensor(idata.posterior["mu"].values)
    assert torch.allclose(torch.as_tensor(idata.log_likelihood["obs"].values),
                          dist.Normal(mu[..., None], 1.0).log_prob(Y30).sum(-1), atol=1e-3)


FLIPS = (torch.rand(60, generator=torch.Generator().manual_seed(1)) < 0.3).float()


def coin(flips):
    p = pyro.sample("p", dist.Beta(2.0, 2.0))
    with pyro.plate("data", len(flips)):
        pyro.sample("flip", dist.Bernoulli(p), obs=flips)


def test_a_failure_after_sampling_keeps_the_draws(monkeypatch):
    real = pgm.posterior._build

    def build(model, data, draws, *args):
        if len(draws) > 1:  # the check before sampling passes; the real output fails
            raise RuntimeError("simulated failure")
        return real(model, data, draws, *args)

    monkeypatch.setattr(pgm.posterior, "_build", build)
    with pytest.raises(InferenceDataError, match="simulated failure") as e:
        nuts(coin, {"flips": FLIPS}, num_samples=150, warmup_steps=100, chains=2)
    p = e.value.draws["p"]
    assert p.shape == (2, 150)
    assert e.value.sample_stats["diverging"].shape == (2, 150)
    exact = dist.Beta(2.0 + FLIPS.sum(), 2.0 + (1 - FLIPS).sum())
    assert abs(p.mean() - float(exact.mean)) < 4 * float(exact.stddev) / np.sqrt(100)


def test_predictive_itself_keeps_the_draws_when_building_fails():
    draws = [{"p": torch.tensor(0.3)}, {"p": torch.tensor(0.4)}]
    with pytest.raises(InferenceDataError, match=r"\.draws") as e:
        predictive(coin, {"flips": FLIPS}, draws, chains=1, coords={"data": [1, 2]})
    assert "coords['data']: expected 60 values" in str(e.value)
    assert e.value.draws["p"].tolist() == [[pytest.approx(0.3), pytest.approx(0.4)]]


def test_output_that_cannot_be_built_fails_before_sampling(monkeypatch):
    ran = []
    monkeypatch.setattr(mcmc.MCMC, "run", lambda self, **kw: ran.append(1))
    with pytest.raises(ModelError, match=r"(?s)checked before sampling.*coords\['data'\]"):
        nuts(coin, {"flips": FLIPS}, num_samples=10, warmup_steps=10,
             coords={"data": ["a", "b"]})
    assert ran == []
