"""The stored log-likelihood is marginal over enumerated discrete sites.

Every expected value is computed here by hand: ``logsumexp`` over the components of a
mixture, the forward algorithm of an HMM, Bayes' rule for a discrete parent shared by a
continuous latent and an observation.
"""

import warnings

import arviz as az
import numpy as np
import pyro
import pyro.distributions as dist
import pytest
import torch

import pgm
from pgm.core.program import Program
from pgm.infer.mcmc import nuts
from pgm.posterior import posterior, summarize

pytestmark = pytest.mark.usefixtures("one_thread")


X = torch.cat([torch.randn(12, generator=torch.Generator().manual_seed(0)) - 2,
               torch.randn(12, generator=torch.Generator().manual_seed(1)) + 2])


def mixture(x):
    w = pyro.sample("w", dist.Beta(2.0, 2.0))
    locs = pyro.sample("locs", dist.Normal(0.0, 5.0).expand([2]).to_event(1))
    with pyro.plate("data", len(x)):
        z = pyro.sample("z", dist.Categorical(torch.stack([1 - w, w], -1)),
                        infer={"enumerate": "parallel"})
        pyro.sample("x", dist.Normal(locs[z], 1.0), obs=x)


def by_hand(idata, x):
    """log(w_0 N(x | mu_0, 1) + w_1 N(x | mu_1, 1)) for every draw: (chains, draws, N)."""
    w = torch.as_tensor(idata.posterior["w"].values, dtype=torch.float64)[..., None]
    locs = torch.as_tensor(idata.posterior["locs"].values, dtype=torch.float64)
    x = x.double()
    comp = torch.stack([(1 - w).log() + dist.Normal(locs[..., :1], 1.0).log_prob(x),
                        w.log() + dist.Normal(locs[..., 1:], 1.0).log_prob(x)])
    return torch.logsumexp(comp, 0)


def loo(log_lik: np.ndarray) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        idata = az.from_dict(posterior={"a": np.zeros(log_lik.shape[:2])},
                             log_likelihood={"x": log_lik})
        return float(az.loo(idata, reff=1.0).elpd_loo)


def check_mixture(idata):
    ll = idata.log_likelihood["x"]
    assert ll.dims == ("chain", "draw", "data")
    expected = by_hand(idata, X)
    assert torch.allclose(torch.as_tensor(ll.values).double(), expected, atol=1e-4)
    # the value of the sampled component alone is not what is stored (log 2 nats apart
    # where the components are equally likely)
    z = torch.as_tensor(idata.posterior["z"].values)
    locs = torch.as_tensor(idata.posterior["locs"].values)
    conditional = dist.Normal(locs.gather(-1, z), 1.0).log_prob(X)
    assert not torch.allclose(torch.as_tensor(ll.values), conditional, atol=1e-2)
    return expected


def test_svi_mixture_loglik_is_the_logsumexp_over_components_and_loo_follows():
    prog = Program(mixture, "auto_normal", {"x": X}, seed=0)
    pgm.fit(prog, epochs=60, lr=0.05, progress=False, log_every=0)
    idata = posterior(prog, num_samples=200)
    expected = check_mixture(idata)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        elpd = float(az.loo(idata, reff=1.0).elpd_loo)
    assert elpd == pytest.approx(loo(expected.numpy()), abs=1e-3)
    report = summarize(idata)
    assert list(report.loo) == ["x"] and report.loo["x"].elpd_loo == pytest.approx(elpd)
    assert {"w", "locs[0]", "locs[1]"} <= set(report.table.index)


def test_nuts_mixture_loglik_is_the_logsumexp_over_components():
    idata = nuts(mixture, {"x": X}, num_samples=30, warmup_steps=30, chains=1, seed=1)
    expected = check_mixture(idata)  # asserts the stored values are the by-hand ones
    assert expected.shape == (1, 30, len(X))


K = 2
A = torch.tensor([[0.8, 0.2], [0.3, 0.7]])
PI = torch.tensor([0.6, 0.4])


def hmm(y):
    mu = pyro.sample("mu", dist.Normal(0.0, 3.0).expand([K]).to_event(1))
    with pyro.plate("seq", y.shape[0]):
        z = None
        for t in pyro.markov(range(y.shape[1])):
            z = pyro.sample(f"z_{t}", dist.Categorical(PI if z is None else A[z]),
                            infer={"enumerate": "parallel"})
            pyro.sample(f"y_{t}", dist.Normal(mu[z], 1.0), obs=y[:, t])


def forward(y: torch.Tensor, mu: torch.Tensor) -> torch.Tensor:
    """log p(y_s | mu) of each sequence, by the forward algorithm: (S,)."""
    log_e = dist.Normal(mu.double(), 1.0).log_prob(y.double()[..., None])  # (S, T, K)
    alpha = PI.double().log() + log_e[:, 0]
    for t in range(1, y.shape[1]):
        alpha = torch.logsumexp(alpha[:, :, None] + A.double().log(), 1) + log_e[:, t]
    return torch.logsumexp(alpha, -1)


def test_hmm_stores_each_sequences_joint_loglik_the_forward_algorithm():
    y = torch.randn(3, 6, generator=torch.Generator().manual_seed(2))
    prog = Program(hmm, "auto_normal", {"y": y}, seed=0)
    idata = posterior(prog, num_samples=8, chains=2)
    name = "y_0+...+y_5 (6 sites)"
    assert list(idata.log_likelihood.data_vars) == [name]
    ll = idata.log_likelihood[name]
    assert ll.dims == ("chain", "draw", "seq")
    assert ll.attrs["pgm_sites"] == ",".join(f"y_{t}" for t in range(6))
    mu = torch.as_tensor(idata.posterior["mu"].values).reshape(-1, K)
    got = torch.as_tensor(ll.values).reshape(-1, 3).double()
    for s in range(mu.shape[0]):
        assert torch.allclose(got[s], forward(y, mu[s]), atol=1e-4)


def test_a_discrete_site_shared_by_all_data_gives_one_joint_value():
    def model(x):
        locs = pyro.sample("locs", dist.Normal(0.0, 5.0).expand([2]).to_event(1))
        c = pyro.sample("c", dist.Bernoulli(0.3), infer={"enumerate": "parallel"})
        with pyro.plate("data", len(x)):
            pyro.sample("x", dist.Normal(locs[c.long()], 1.0), obs=x)

    x = torch.tensor([0.5, 1.0, 2.0])
    idata = posterior(Program(model, "auto_normal", {"x": x}, seed=0), num_samples=6,
                      chains=2)
    ll = idata.log_likelihood["x"]
    assert ll.dims == ("chain", "draw")  # not separable by data point
    locs = torch.as_tensor(idata.posterior["locs"].values).reshape(-1, 2).double()
    for i, (m0, m1) in enumerate(locs):
        joint = torch.logsumexp(torch.stack([
            np.log(0.7) + dist.Normal(m0, 1.0).log_prob(x.double()).sum(),
            np.log(0.3) + dist.Normal(m1, 1.0).log_prob(x.double()).sum()]), 0)
        assert float(ll.values.reshape(-1)[i]) == pytest.approx(float(joint), abs=1e-4)


def test_a_continuous_latent_under_the_discrete_site_conditions_it_bayes_rule():
    """z_i -> m_i (latent, continuous) and z_i -> x_i: p(x_i | m_i) sums over
    p(z_i | m_i), not over the prior p(z_i)."""
    locs, scales, w = torch.tensor([-1.0, 2.0]), torch.tensor([0.5, 2.0]), 0.3

    def model(x):
        with pyro.plate("data", len(x)):
            z = pyro.sample("z", dist.Bernoulli(w), infer={"enumerate": "parallel"}).long()
            m = pyro.sample("m", dist.Normal(locs[z], 1.0))
            pyro.sample("x", dist.Normal(m, scales[z]), obs=x)

    x = torch.tensor([-1.0, 0.0, 3.0])
    idata = posterior(Program(model, "auto_normal", {"x": x}, seed=0), num_samples=4,
                      chains=2)
    m = torch.as_tensor(idata.posterior["m"].values).reshape(-1, 3).double()
    ll = torch.as_tensor(idata.log_likelihood["x"].values).reshape(-1, 3).double()
    prior = torch.tensor([1 - w, w], dtype=torch.float64).log()
    joint = prior[:, None, None] + dist.Normal(locs.double()[:, None, None], 1.0).log_prob(m)
    post = joint - torch.logsumexp(joint, 0)  # log p(z | m), (2, draws, N)
    lik = dist.Normal(m, scales.double()[:, None, None]).log_prob(x.double())
    assert torch.allclose(ll, torch.logsumexp(post + lik, 0), atol=1e-4)
