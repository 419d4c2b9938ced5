"""Models pgm accepts: flat priors, supports that depend on other sites, ordered vectors,
float64 programs; and errors that name the user's site.

Expected values: least squares (numpy), 2-d quadrature of a posterior density.
"""

import numpy as np
import pyro
import pyro.distributions as dist
import pytest
import torch
from pyro.distributions import constraints

import pgm
from pgm.core.program import AUTOGUIDES, ModelError, Program
from pgm.infer.mcmc import nuts
from pgm.posterior import posterior

pytestmark = pytest.mark.usefixtures("one_thread")


G = torch.Generator().manual_seed(0)
XS = torch.linspace(-1, 1, 30)
YS = 3 + 2 * XS + 0.5 * torch.randn(30, generator=G)
OLS = np.linalg.lstsq(np.stack([np.ones(30), XS.numpy()], 1), YS.numpy(), rcond=None)[0]


def flat(x, y):
    a = pyro.sample("a", dist.ImproperUniform(constraints.real, (), ()))
    b = pyro.sample("b", dist.Normal(0.0, 1.0).mask(False))  # flat as well
    with pyro.plate("data", len(x)):
        pyro.sample("y", dist.Normal(a + b * x, 0.5), obs=y)


@pytest.mark.parametrize("guide", ["auto_normal", "auto_delta"])
def test_flat_prior_regression_finds_least_squares(guide):
    prog = Program(flat, guide, {"x": XS, "y": YS}, seed=0)
    pgm.fit(prog, epochs=500, lr=0.05, lr_decay=0.995, progress=False, log_every=0)
    idata = posterior(prog, num_samples=400)
    got = [float(idata.posterior[s].mean()) for s in ("a", "b")]
    # with a flat prior and known noise the posterior is N(OLS, 0.25 (X'X)^-1); its mean
    # is OLS; a mean-field Gaussian guide recovers it exactly; the MAP (AutoDelta) too.
    # Tolerance: 4 Monte Carlo standard errors (sd <= 0.16, 400 draws) + SVI's 0.01
    assert np.allclose(got, OLS, atol=4 * 0.16 / 20 + 0.01)


@pytest.mark.parametrize("guide", sorted(AUTOGUIDES))
def test_every_automatic_guide_starts_on_a_flat_prior(guide):
    prog = Program(flat, guide, {"x": XS, "y": YS}, seed=0)
    s = pgm.fit(prog, epochs=20, lr=0.01, progress=False, log_every=0)
    assert np.isfinite(s["history"][-1]["train_loss"])


def test_nuts_on_a_flat_prior_finds_least_squares():
    idata = nuts(flat, {"x": XS, "y": YS}, num_samples=150, warmup_steps=100, chains=1)
    got = [float(idata.posterior[s].mean()) for s in ("a", "b")]
    assert np.allclose(got, OLS, atol=4 * 0.16 / np.sqrt(50))  # ess >= 50


COUNTS = torch.tensor([5.0, 12.0, 3.0])


def nested(counts):
    alpha = pyro.sample("alpha", dist.Uniform(0.0, 1.0))
    beta = pyro.sample("beta", dist.Uniform(0.0, 1.0 - alpha))  # support moves with alpha
    probs = torch.stack([alpha, beta, 1 - alpha - beta], -1)
    pyro.sample("counts", dist.Multinomial(int(counts.sum()), probs), obs=counts)


def quadrature_means() -> tuple[float, float]:
    """Posterior means of alpha, beta on a grid: p(a, b) = 1 / (1 - a) on a + b < 1."""
    grid = np.linspace(0, 1, 1201)[1:-1]
    a, b = np.meshgrid(grid, grid, indexing="ij")
    inside = a + b < 1
    c = COUNTS.numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        logp = np.where(inside, c[0] * np.log(a) + c[1] * np.log(b)
                        + c[2] * np.log(np.where(inside, 1 - a - b, 1)) - np.log(1 - a),
                        -np.inf)
    w = np.exp(logp - logp.max())
    w /= w.sum()
    return float((w * a).sum()), float((w * b).sum())


def test_a_support_that_depends_on_another_site_is_followed():
    prog = Program(nested, "auto_multivariate_normal", {"counts": COUNTS}, seed=0)
    assert prog.latent == ["alpha", "beta"] and prog.unconstrained == ("beta",)
    assert prog.guided == ["alpha", "beta_unconstrained"]
    s = pgm.fit(prog, epochs=400, lr=0.05, lr_decay=0.993, progress=False, log_every=0)
    assert all(np.isfinite(r["train_loss"]) for r in s["history"])
    idata = posterior(prog, num_samples=800)
    assert list(idata.posterior.data_vars) == ["alpha", "beta"]
    a, b = idata.posterior["alpha"].values, idata.posterior["beta"].values
    assert (b > 0).all() and (b < 1 - a).all()
    qa, qb = quadrature_means()
    # Gaussian guide in unconstrained space: 0.02 of approximation error allowed (sd ~0.1;
    # 4 Monte Carlo standard errors: 0.014)
    assert abs(a.mean() - qa) < 0.03 and abs(b.mean() - qb) < 0.03


def test_nuts_follows_a_moving_support_too():
    idata = nuts(nested, {"counts": COUNTS}, num_samples=200, warmup_steps=150, chains=1)
    a, b = idata.posterior["alpha"].values, idata.posterior["beta"].values
    assert (b < 1 - a).all()
    qa, qb = quadrature_means()
    # sd ~0.1, ess >= 60: 4 Monte Carlo standard errors
    assert abs(a.mean() - qa) < 4 * 0.1 / np.sqrt(60) and abs(b.mean() - qb) < 4 * 0.1 / np.sqrt(60)


def test_an_observation_whose_support_depends_on_a_latent_is_refused_up_front():
    def model(y):
        theta = pyro.sample("theta", dist.Gamma(2.0, 1.0))
        with pyro.plate("data", len(y)):
            pyro.sample("y", dist.Uniform(0.0, theta), obs=y)

    with pytest.raises(ModelError, match=r"observed site\(s\) \['y'\]"):
        Program(model, "auto_normal", {"y": torch.tensor([0.5, 1.5])})


X2 = torch.cat([torch.randn(15, generator=G) - 3, torch.randn(15, generator=G) + 3])


@pytest.mark.parametrize("prior", ["improper", "transformed"])
def test_ordered_vectors(prior):
    def model(x):
        if prior == "improper":
            d = dist.ImproperUniform(constraints.ordered_vector, (), (2,))
        else:
            d = dist.TransformedDistribution(dist.Normal(0.0, 5.0).expand([2]).to_event(1),
                                             dist.transforms.OrderedTransform())
        locs = pyro.sample("locs", d)
        with pyro.plate("data", len(x)):
            z = pyro.sample("z", dist.Categorical(torch.ones(2) / 2),
                            infer={"enumerate": "parallel"})
            pyro.sample("x", dist.Normal(locs[z], 1.0), obs=x)

    prog = Program(model, "auto_normal", {"x": X2}, seed=0)
    pgm.fit(prog, epochs=300, lr=0.05, progress=False, log_every=0)
    locs = posterior(prog, num_samples=200).posterior["locs"].values
    assert (locs[..., 0] < locs[..., 1]).all()
    # the component means: the two halves' means within 4 sd of a mean of 15 points
    halves = [float(X2[:15].mean()), float(X2[15:].mean())]
    assert np.allclose(locs.mean((0, 1)), halves, atol=4 / np.sqrt(15))


def gp(X, y):
    ls = pyro.sample("lengthscale", dist.LogNormal(0.0, 0.3))
    jitter = 1e-9  # below float32's resolution of 1.2e-7 relative to the diagonal's 1
    K = torch.exp(-0.5 * (X[:, None] - X[None, :]) ** 2 / ls**2) + jitter * torch.eye(len(X))
    f = pyro.sample("f", dist.MultivariateNormal(torch.zeros(len(X)), covariance_matrix=K))
    with pyro.plate("data", len(X)):
        pyro.sample("y", dist.Normal(f, 0.1), obs=y)


GP_DATA = {"X": np.linspace(0, 1, 25), "y": np.sin(6 * np.linspace(0, 1, 25))}


def test_a_float64_program_runs_in_float64():
    prog = Program(gp, "auto_normal", GP_DATA, seed=0, dtype=torch.float64)
    assert prog.config["dtype"] == "float64"
    assert prog.data["X"].dtype == torch.float64
    assert all(p.dtype == torch.float64 for p in prog.parameters())
    s = pgm.fit(prog, epochs=20, lr=0.01, progress=False, log_every=0)
    assert all(np.isfinite(r["train_loss"]) for r in s["history"])
    assert torch.get_default_dtype() == torch.float32  # restored
    assert posterior(prog, num_samples=4).posterior["f"].dtype == np.float64


def test_the_same_program_in_float32_is_refused_up_front_naming_the_site():
    with pytest.raises(ModelError, match=r"(?s)at site 'f'.*dtype=torch.float64"):
        Program(gp, "auto_normal", GP_DATA, seed=0)


def test_errors_name_the_users_sample_site_not_a_plate():
    def bad_scale(x):
        a = pyro.sample("a", dist.Normal(0.0, 1.0))
        with pyro.plate("data", len(x)):
            pyro.sample("b", dist.Normal(a, -1.0), obs=x)

    with pytest.raises(ModelError, match=r"raised ValueError at site 'b' \(building its "
                                         r"arguments, test_supports.py:\d+\)"):
        Program(bad_scale, "auto_normal", {"x": torch.zeros(3)})

    def first(x):
        with pyro.plate("data", len(x)):
            pyro.sample("b",
                        dist.Normal(0.0, torch.tensor(-1.0)),
                        obs=x)

    with pytest.raises(ModelError, match="at site 'b'"):
        Program(first, None, {"x": torch.zeros(3)})

    def between(x):
        a = pyro.sample("a", dist.Normal(0.0, 1.0))
        with pyro.plate("data", len(x)):
            raise RuntimeError(f"user code after {float(a) * 0:.0f}")

    with pytest.raises(ModelError, match="after site 'a'"):
        Program(between, "auto_normal", {"x": torch.zeros(3)})

    def before(x):
        raise RuntimeError("nothing yet")

    with pytest.raises(ModelError, match="before its first sample site"):
        Program(before, None, {"x": torch.zeros(3)})
