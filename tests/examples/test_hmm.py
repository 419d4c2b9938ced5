"""examples/hmm.py: an HMM fitted with its states enumerated, then decoded exactly."""

import itertools
import sys
from pathlib import Path

import pyro.distributions as dist
import pytest
import torch
from pyro.infer import TraceEnum_ELBO

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))

import hmm as ex  # noqa: E402


@pytest.fixture(scope="module")
def fitted():
    y, z = ex.simulate(6, 40, seed=1)
    return y, z, ex.learn(y, epochs=80, lr=0.05)


@pytest.fixture(scope="module")
def short(fitted):
    """The fitted HMM on two sequences of 6 steps, where every path can be listed."""
    y, _ = ex.simulate(2, 6, seed=7)
    return y, fitted[2].with_data(y=y)


def brute_force(y: torch.Tensor, pi, A, mu, sigma) -> torch.Tensor:
    """``log p(z, y)`` ``(S, K**T)`` for every path ``z`` (in itertools.product order)."""
    paths = torch.tensor(list(itertools.product(range(ex.K), repeat=y.shape[1])))  # (P, T)
    log_p = pi.log()[paths[:, 0]] + A.log()[paths[:, :-1], paths[:, 1:]].sum(-1)  # (P,)
    log_e = dist.Normal(mu[paths], sigma[paths]).log_prob(y[:, None, :]).sum(-1)  # (S, P)
    return log_p + log_e


def test_states_are_enumerated(fitted):
    y, _, prog = fitted
    assert prog.enumerated == [f"z_{t}" for t in range(y.shape[1])]
    assert isinstance(prog.elbo(), TraceEnum_ELBO) and prog.max_plate_nesting == 1


def test_loss_is_the_forward_algorithms_log_likelihood(fitted):
    y, _, prog = fitted
    _, log_z = ex.forward_backward(y, **ex.params(prog))
    with torch.no_grad():
        loss = prog.elbo().loss(prog.model, prog.guide)
    assert -loss == pytest.approx(float(log_z.sum()), rel=1e-5)


def test_decoded_states_are_accurate(fitted):
    y, z, prog = fitted
    decoded = ex.viterbi(prog)
    assert decoded.shape == z.shape
    perm, acc = ex.best_relabelling(decoded, z)
    chance = float(z.flatten().bincount(minlength=ex.K).max() / z.numel())
    assert acc > 0.9 and acc > chance + 0.2, (acc, chance)
    # an HMM that has not learned (its starting parameters) decodes worse
    _, acc0 = ex.best_relabelling(ex.viterbi(ex.learn(y, epochs=1, lr=1e-6)), z)
    assert acc0 < acc - 0.1


def test_learned_parameters_are_close_to_the_truth(fitted):
    y, z, prog = fitted
    perm, _ = ex.best_relabelling(ex.viterbi(prog), z)
    inv = torch.tensor(perm).argsort()
    p = ex.params(prog)
    assert (p["mu"][inv] - ex.TRUE["mu"]).abs().max() < 0.3, p["mu"]
    assert (p["sigma"][inv] - ex.TRUE["sigma"]).abs().max() < 0.25, p["sigma"]
    assert (p["A"][inv][:, inv] - ex.TRUE["A"]).abs().max() < 0.15, p["A"]


def test_map_path_is_the_brute_force_argmax(short):
    y, prog = short
    log_joint = brute_force(y, **ex.params(prog))
    paths = list(itertools.product(range(ex.K), repeat=y.shape[1]))
    best = torch.tensor([paths[i] for i in log_joint.argmax(-1).tolist()])
    assert torch.equal(ex.viterbi(prog), best)


def test_forward_backward_is_exact(short):
    y, prog = short
    p = ex.params(prog)
    post, log_z = ex.forward_backward(y, **p)
    log_joint = brute_force(y, **p)
    assert torch.allclose(log_z, log_joint.logsumexp(-1), atol=1e-4)
    paths = torch.tensor(list(itertools.product(range(ex.K), repeat=y.shape[1])))
    w = (log_joint - log_z[:, None]).exp()  # p(path | y), (S, P)
    brute = torch.einsum("sp,ptk->stk", w, torch.nn.functional.one_hot(paths, ex.K).float())
    assert torch.allclose(post, brute, atol=1e-4)


def test_posterior_draws_match_forward_backward(short):
    y, prog = short
    draws = 400
    sampled = ex.sampled_marginals(prog, num_samples=draws, seed=1)
    exact, _ = ex.forward_backward(y, **ex.params(prog))
    assert sampled.shape == exact.shape == (2, 6, ex.K)
    # clamped: a marginal that rounds to just above 1 would give a NaN standard error
    se = (exact * (1 - exact)).clamp(min=0).div(draws).sqrt()
    assert ((sampled - exact).abs() <= 4 * se + 0.01).all(), (sampled, exact)
