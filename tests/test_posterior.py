import warnings

import arviz as az
import numpy as np
import pyro
import pyro.distributions as dist
import pytest
import torch

import pgm
from pgm.posterior import latent_posterior  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


def test_latent_posterior_is_named_inference_data():
    torch.manual_seed(0)
    m = pgm.build("vae", shape=(1, 2, 3), latent=2, hidden=[5])
    x = torch.bernoulli(torch.full((4, 6), 0.5))
    idata = latent_posterior(m, x, num_samples=300)
    z = idata.posterior["z"]
    assert z.dims == ("chain", "draw", "image", "latent") and z.shape == (1, 300, 4, 2)
    assert idata.posterior_predictive["x"].shape == (1, 300, 4, 6)
    assert (idata.observed_data["x"].values == x.numpy()).all()
    summary = az.summary(idata, var_names=["z"], kind="stats")
    assert len(summary) == 4 * 2
    # the draws follow the guide: their mean and sd match q(z | x)
    loc, scale = m.encode(x)
    torch.testing.assert_close(torch.tensor(z.mean(("chain", "draw")).values), loc.detach(),
                               atol=4 * scale.max().item() / 300**0.5, rtol=0)


def test_latent_posterior_checks_its_input():
    m = pgm.build("vae", shape=(1, 2, 3), latent=2, hidden=[5])
    with pytest.raises(pgm.errors.DataError, match="binary"):
        latent_posterior(m, torch.full((2, 6), 0.5))


# ---- a user's model: pgm.posterior.posterior ------------------------------------------

from pgm.core.program import Program  # noqa: E402
from pgm.posterior import posterior  # noqa: E402


def schools(y):
    """Nested plates: ``y`` ``(students, schools)``; one mean per school."""
    mu = pyro.sample("mu", dist.Normal(0.0, 5.0))
    with pyro.plate("school", y.shape[1]):
        theta = pyro.sample("theta", dist.Normal(mu, 1.0))
        with pyro.plate("student", y.shape[0]):
            pyro.sample("y", dist.Normal(theta, 1.0), obs=y)


def test_posterior_dims_come_from_the_plates_and_loo_runs():
    y = torch.randn(6, 3) + torch.tensor([-1.0, 0.0, 2.0])
    prog = Program(schools, "auto_normal", {"y": y})
    pgm.fit(prog, epochs=300, lr=0.05, progress=False, log_every=0)
    idata = posterior(prog, num_samples=200, coords={"school": ["a", "b", "c"]})
    assert idata.posterior["mu"].dims == ("chain", "draw")
    assert idata.posterior["theta"].dims == ("chain", "draw", "school")
    assert idata.posterior["theta"].shape == (4, 50, 3)
    assert list(idata.posterior["theta"].school.values) == ["a", "b", "c"]
    assert idata.log_likelihood["y"].dims == ("chain", "draw", "student", "school")
    assert idata.posterior_predictive["y"].shape == (4, 50, 6, 3)
    assert (idata.observed_data["y"].values == y.numpy()).all()
    # pointwise log-likelihood is log N(y | theta, 1) of the very draw
    theta = torch.as_tensor(idata.posterior["theta"].values)
    expected = dist.Normal(theta[:, :, None, :], 1.0).log_prob(y)
    assert torch.allclose(torch.as_tensor(idata.log_likelihood["y"].values), expected,
                          atol=1e-5)
    summary = az.summary(idata, var_names=prog.latent)
    assert list(summary.index) == ["mu", "theta[a]", "theta[b]", "theta[c]"]
    assert (summary["r_hat"] < 1.05).all()  # independent draws split into chains
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loo = az.loo(idata)
    assert np.isfinite(loo.elpd_loo)


@pytest.mark.slow
def test_posterior_samples_enumerated_sites_from_their_exact_conditional():
    locs = torch.tensor([-2.0, 2.0])

    def model(x):
        with pyro.plate("data", len(x)):
            z = pyro.sample("z", dist.Categorical(torch.ones(2) / 2),
                            infer={"enumerate": "parallel"})
            pyro.sample("x", dist.Normal(locs[z], 1.0), obs=x)

    x = torch.tensor([-2.0, 0.0, 0.5, 2.0])
    prog = Program(model, None, {"x": x})
    idata = posterior(prog, num_samples=4000)
    freq = torch.as_tensor(idata.posterior["z"].values).float().mean((0, 1))
    # P(z=1 | x) = sigmoid(log N(x|2,1) - log N(x|-2,1)) = sigmoid(4x)
    exact = torch.sigmoid(4 * x)
    assert torch.allclose(freq, exact, atol=4 * 0.5 / 4000**0.5)


def test_posterior_checks_its_arguments():
    prog = Program(schools, "auto_normal", {"y": torch.zeros(2, 2)})
    with pytest.raises(ValueError, match="num_samples: expected a positive multiple of chains"):
        posterior(prog, num_samples=10, chains=4)
    with pytest.raises(ValueError, match="chains"):
        posterior(prog, num_samples=10, chains=0)


def test_posterior_predictive_draws_new_data_given_the_posterior_not_the_prior():
    def model(y):
        mu = pyro.sample("mu", dist.Normal(0.0, 10.0))
        with pyro.plate("data", len(y)):
            pyro.sample("y", dist.Normal(mu, 0.1), obs=y)

    y = torch.full((20,), 5.0)
    prog = Program(model, "auto_normal", {"y": y})
    pgm.fit(prog, epochs=1000, lr=0.05, progress=False, log_every=0)
    idata = posterior(prog, num_samples=400)
    mu = torch.as_tensor(idata.posterior["mu"].values)
    new = torch.as_tensor(idata.posterior_predictive["y"].values)
    assert abs(mu.mean() - 5) < 0.05
    # y_new ~ N(mu, 0.1) for each draw's own mu: the residuals have sd 0.1
    resid = new - mu[..., None]
    assert abs(resid.mean()) < 0.01 and abs(resid.std() - 0.1) < 0.01
