"""Deterministic, factor and masked sites go where they belong in InferenceData.

Expected values are computed by hand (``a + b x``, normal log-densities, the conjugate
posterior of a normal mean from the observed entries only).
"""

import warnings

import arviz as az
import numpy as np
import pyro
import pyro.distributions as dist
import pytest
import torch
from pyro import poutine

import pgm
from pgm.core.program import Program
from pgm.infer.mcmc import nuts
from pgm.posterior import posterior, summarize

pytestmark = pytest.mark.usefixtures("one_thread")


G = torch.Generator().manual_seed(0)
XS = torch.linspace(-1, 1, 12)
YS = 1 + 2 * XS + 0.3 * torch.randn(12, generator=G)


def regression(x, y):
    a = pyro.sample("a", dist.Normal(0.0, 5.0))
    b = pyro.sample("b", dist.Normal(0.0, 5.0))
    pyro.factor("shrink", -0.5 * a**2)
    with pyro.plate("data", len(x)):
        mu = pyro.deterministic("mu", a + b * x)
        pyro.sample("y", dist.Normal(mu, 0.3), obs=y)


def test_program_classifies_deterministic_and_factor_sites():
    prog = Program(regression, "auto_normal", {"x": XS, "y": YS}, seed=0)
    assert prog.latent == ["a", "b"] and prog.observed == ["y"]
    assert prog.deterministic == ["mu"] and prog.factors == ["shrink"]
    assert prog.guided == ["a", "b"]


def check_regression(idata):
    mu = idata.posterior["mu"]
    assert mu.dims == ("chain", "draw", "data")  # the plate's dim, once
    a = torch.as_tensor(idata.posterior["a"].values)[..., None]
    b = torch.as_tensor(idata.posterior["b"].values)[..., None]
    assert torch.allclose(torch.as_tensor(mu.values), a + b * XS, atol=1e-5)
    assert list(idata.observed_data.data_vars) == ["y"]
    assert list(idata.log_likelihood.data_vars) == ["y"]
    assert idata.posterior_predictive["y"].dims == ("chain", "draw", "data")
    expected = dist.Normal(a + b * XS, 0.3).log_prob(YS)
    assert torch.allclose(torch.as_tensor(idata.log_likelihood["y"].values), expected,
                          atol=1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isfinite(az.loo(idata).elpd_loo)  # one log-likelihood array


def test_svi_puts_deterministic_sites_in_the_posterior_and_factors_nowhere():
    prog = Program(regression, "auto_normal", {"x": XS, "y": YS}, seed=0)
    pgm.fit(prog, epochs=200, lr=0.05, progress=False, log_every=0)
    idata = posterior(prog, num_samples=100)
    check_regression(idata)
    # new observations scatter around the draw's own mu, one per data point
    resid = idata.posterior_predictive["y"].values - idata.posterior["mu"].values
    assert abs(resid.std() - 0.3) < 4 * 0.3 / np.sqrt(2 * resid.size)
    report = summarize(idata)
    assert list(report.table.index) == ["a", "b"] + [f"mu[{i}]" for i in range(12)]
    assert list(report.loo) == ["y"]
    assert "loo (y): elpd" in str(report)


def test_nuts_does_the_same():
    idata = nuts(regression, {"x": XS, "y": YS}, num_samples=20, warmup_steps=20, chains=1)
    check_regression(idata)  # asserts mu = a + b x and where each site goes
    assert idata.posterior["mu"].shape == (1, 20, len(XS))


Y8 = torch.tensor([0.8, 1.6, 0.0, 1.1, 0.0, 0.4, 1.3, 0.9])
SEEN = torch.tensor([1, 1, 0, 1, 0, 1, 1, 1], dtype=torch.bool)


def with_missing(y, seen):
    mu = pyro.sample("mu", dist.Normal(0.0, 2.0))
    with pyro.plate("data", len(y)):
        pyro.sample("y", dist.Normal(mu, 0.5), obs=y, obs_mask=seen)


def test_obs_mask_imputes_the_missing_entries_and_scores_the_observed_ones():
    prog = Program(with_missing, "auto_normal", {"y": Y8, "seen": SEEN}, seed=0)
    assert prog.latent == ["mu", "y_unobserved"] and prog.observed == ["y_observed"]
    assert prog.deterministic == []
    pgm.fit(prog, epochs=400, lr=0.05, progress=False, log_every=0)
    idata = posterior(prog, num_samples=800)
    imputed = idata.posterior["y_unobserved"]
    assert imputed.dims == ("chain", "draw", "y_unobserved_entry")
    assert list(imputed["y_unobserved_entry"].values) == [2, 4]  # the missing entries
    ll = idata.log_likelihood["y_observed"]
    assert ll.dims == ("chain", "draw", "y_observed_entry")
    assert list(ll["y_observed_entry"].values) == [0, 1, 3, 5, 6, 7]
    mu = torch.as_tensor(idata.posterior["mu"].values)[..., None]
    assert torch.allclose(torch.as_tensor(ll.values),
                          dist.Normal(mu, 0.5).log_prob(Y8[SEEN]), atol=1e-4)
    observed = idata.observed_data["y_observed"].values
    assert np.isnan(observed[~SEEN.numpy()]).all()
    assert (observed[SEEN.numpy()] == Y8[SEEN].numpy()).all()
    # conjugate: mu | 6 observed entries ~ N(m, s^2); an imputed entry ~ N(m, s^2 + 0.25)
    prec = 1 / 4 + SEEN.sum() / 0.25
    m, s2 = float(Y8[SEEN].sum() / 0.25 / prec), float(1 / prec)
    # (AutoNormal is mean-field: its imputations' sd is the conditional 0.5 rather than
    # the marginal 0.54, hence the slack beyond the Monte Carlo error of ~0.01)
    draws = imputed.values.reshape(-1, 2)
    assert abs(draws.mean() - m) < 4 * np.sqrt((s2 + 0.25) / draws.size) + 0.03
    assert abs(draws.std() - np.sqrt(s2 + 0.25)) < 0.06
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isfinite(az.loo(idata).elpd_loo)


@pytest.mark.parametrize("how", ["poutine.mask", "dist.mask"])
def test_masked_observations_are_left_out_of_the_loglik(how):
    def model(y, seen):
        mu = pyro.sample("mu", dist.Normal(0.0, 2.0))
        with pyro.plate("data", len(y)):
            if how == "poutine.mask":
                with poutine.mask(mask=seen):
                    pyro.sample("y", dist.Normal(mu, 0.5), obs=y)
            else:
                pyro.sample("y", dist.Normal(mu, 0.5).mask(seen), obs=y)

    prog = Program(model, "auto_normal", {"y": Y8, "seen": SEEN}, seed=0)
    idata = posterior(prog, num_samples=40)
    ll = idata.log_likelihood["y"]
    assert ll.dims == ("chain", "draw", "y_entry") and ll.shape[-1] == 6
    mu = torch.as_tensor(idata.posterior["mu"].values)[..., None]
    assert torch.allclose(torch.as_tensor(ll.values),
                          dist.Normal(mu, 0.5).log_prob(Y8[SEEN]), atol=1e-4)
    assert np.isnan(idata.observed_data["y"].values[~SEEN.numpy()]).all()
    assert idata.posterior_predictive["y"].shape == (4, 10, 8)


def test_a_site_masked_out_entirely_is_not_an_observation():
    def model(y):
        mu = pyro.sample("mu", dist.Normal(0.0, 2.0))
        with pyro.plate("data", len(y)):
            pyro.sample("y", dist.Normal(mu, 0.5), obs=y)
            pyro.sample("ignored", dist.Normal(mu, 0.5).mask(False), obs=y)

    prog = Program(model, "auto_normal", {"y": Y8}, seed=0)
    assert prog.observed == ["y"]
    assert list(posterior(prog, num_samples=8).log_likelihood.data_vars) == ["y"]
