"""NUTS on a user's model, as InferenceData shaped like the SVI posterior."""

import warnings

import arviz as az
import numpy as np
import pyro
import pyro.distributions as dist
import pytest
import torch

from pgm.core.program import ModelError  # noqa: E402
from pgm.infer.mcmc import nuts  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


def coin(flips):
    p = pyro.sample("p", dist.Beta(2.0, 2.0))
    with pyro.plate("data", len(flips)):
        pyro.sample("flip", dist.Bernoulli(p), obs=flips)


def test_nuts_matches_the_conjugate_posterior_with_named_dims():
    flips = (torch.rand(100, generator=torch.Generator().manual_seed(0)) < 0.3).float()
    idata = nuts(coin, {"flips": flips}, num_samples=300, warmup_steps=150, chains=2)
    p = idata.posterior["p"]
    assert p.dims == ("chain", "draw") and p.shape == (2, 300)
    exact = dist.Beta(2.0 + flips.sum(), 2.0 + (1 - flips).sum())
    # Monte Carlo error of the mean: sd / sqrt(ess), ess >= 150 here
    assert abs(float(p.mean()) - float(exact.mean)) < 4 * float(exact.stddev) / 150**0.5
    assert float(az.rhat(idata)["p"]) < 1.05
    assert idata.sample_stats["diverging"].shape == (2, 300)
    ll = idata.log_likelihood["flip"]
    assert ll.dims == ("chain", "draw", "data")
    expected = dist.Bernoulli(torch.as_tensor(p.values)[..., None]).log_prob(flips)
    assert torch.allclose(torch.as_tensor(ll.values), expected, atol=1e-5)
    assert idata.posterior_predictive["flip"].shape == (2, 300, 100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isfinite(az.loo(idata).elpd_loo)


def test_nuts_reports_a_failing_model_and_bad_arguments():
    def broken(flips):
        pyro.sample("p", dist.Beta(2.0, 2.0))
        raise KeyError("oops")

    with pytest.raises(ModelError, match="raised KeyError after site 'p'"):
        nuts(broken, {"flips": torch.zeros(3)})
    with pytest.raises(ValueError, match="chains: expected a positive integer, got 0"):
        nuts(coin, {"flips": torch.zeros(3)}, chains=0)


def test_nuts_in_float64_keeps_float64_and_the_callers_default():
    flips = torch.tensor([1.0, 0.0, 1.0, 1.0])
    idata = nuts(coin, {"flips": flips}, num_samples=20, warmup_steps=20, chains=1,
                 dtype="float64")
    assert idata.posterior["p"].dtype == np.float64
    assert idata.log_likelihood["flip"].dtype == np.float64
    assert torch.get_default_dtype() == torch.float32
    with pytest.raises(ModelError, match="dtype: expected torch.float32, torch.float64"):
        nuts(coin, {"flips": flips}, dtype="float16")
