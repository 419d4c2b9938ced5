"""Predictions at new inputs, against the closed-form conjugate posterior predictive of a
Bayesian linear regression with known noise."""

import numpy as np
import pyro
import pyro.distributions as dist
import pytest
import torch

import pgm
from pgm.core.program import ModelError, Program
from pgm.posterior import posterior, predict

pytestmark = pytest.mark.usefixtures("one_thread")


SIGMA, PRIOR_SD = 0.5, 2.0
G = torch.Generator().manual_seed(0)
X = torch.randn(40, 2, generator=G)
Y = X @ torch.tensor([1.0, -2.0]) + SIGMA * torch.randn(40, generator=G)
X_NEW = torch.tensor([[1.0, 1.0], [0.0, 2.0], [3.0, -1.0]])


def linreg(X, y=None):
    w = pyro.sample("w", dist.Normal(0.0, PRIOR_SD).expand([2]).to_event(1))
    with pyro.plate("data", X.shape[0]):
        return pyro.sample("y", dist.Normal(X @ w, SIGMA), obs=y)


@pytest.fixture(scope="module")
def fitted():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        prog = Program(linreg, "auto_multivariate_normal", {"X": X, "y": Y}, seed=1)
        pgm.fit(prog, epochs=600, lr=0.05, lr_decay=0.995, progress=False, log_every=0,
                seed=0)
    finally:
        torch.set_num_threads(n)
    return prog


def test_predictions_match_the_conjugate_posterior_predictive(fitted):
    idata = predict(fitted, {"X": X_NEW}, num_samples=2000, seed=2)
    assert set(idata.groups()) == {"posterior", "predictions", "predictions_constant_data"}
    assert list(idata.posterior.data_vars) == ["w"]
    y = idata.predictions["y"]
    assert y.dims == ("chain", "draw", "data") and y.shape == (4, 500, 3)
    assert (idata.predictions_constant_data["X"].values == X_NEW.numpy()).all()
    # w | y ~ N(m, S), S = (X'X / sigma^2 + I / prior_sd^2)^-1, m = S X'y / sigma^2
    X64, Y64, XN = X.double(), Y.double(), X_NEW.double()
    S = torch.linalg.inv(X64.T @ X64 / SIGMA**2 + torch.eye(2) / PRIOR_SD**2)
    m = S @ X64.T @ Y64 / SIGMA**2
    mean = (XN @ m).numpy()
    post_sd = (XN @ S @ XN.T).diag().sqrt().numpy()
    sd = np.sqrt(post_sd**2 + SIGMA**2)
    draws = y.values.reshape(-1, 3)
    # Monte Carlo error (4 standard errors) plus a quarter of the posterior sd of x'w for
    # what 600 SVI steps leave of the optimization error (measured: under 0.03 sd)
    assert np.all(np.abs(draws.mean(0) - mean) < 4 * sd / np.sqrt(2000) + 0.25 * post_sd)
    assert np.all(np.abs(draws.std(0) - sd) < 4 * sd / np.sqrt(2 * 2000) + 0.25 * post_sd)


def test_posterior_with_data_is_predict_and_the_training_posterior_still_works(fitted):
    a = predict(fitted, {"X": X_NEW}, num_samples=8, seed=5)
    b = posterior(fitted, num_samples=8, seed=5, data={"X": X_NEW})
    assert np.array_equal(a.predictions["y"].values, b.predictions["y"].values)
    train = posterior(fitted, num_samples=8)
    assert train.log_likelihood["y"].shape == (4, 2, 40)


def test_with_data_without_the_observations_points_to_predict(fitted):
    with pytest.raises(ModelError, match=r"observes \['y'\].*pgm.posterior.predict"):
        fitted.with_data(X=X_NEW)


def test_local_latent_sites_are_drawn_from_the_model_at_new_inputs():
    def model(x, y=None):
        w = pyro.sample("w", dist.Normal(0.0, 1.0))
        with pyro.plate("data", len(x)):
            u = pyro.sample("u", dist.Normal(0.0, 0.1))
            pyro.deterministic("mean", w * x + u)
            return pyro.sample("y", dist.Normal(w * x + u, 0.1), obs=y)

    x = torch.linspace(-1, 1, 20)
    prog = Program(model, "auto_normal", {"x": x, "y": 3 * x}, seed=0)
    idata = predict(prog, {"x": torch.tensor([0.0, 1.0, 2.0])}, num_samples=8)
    assert list(idata.posterior.data_vars) == ["w"]
    assert set(idata.predictions.data_vars) == {"u", "mean", "y"}
    assert idata.predictions["u"].dims == ("chain", "draw", "data")
    assert idata.predictions["mean"].shape == (4, 2, 3)
    w = idata.posterior["w"].values[..., None]
    u = idata.predictions["u"].values
    assert np.allclose(idata.predictions["mean"].values, w * np.array([0.0, 1.0, 2.0]) + u,
                       atol=1e-5)
