"""The Pareto k-hat of a guide (Yao et al. 2018), on guides whose quality is known."""

import math

import numpy as np
import pyro
import pyro.distributions as dist
import pytest
import torch

from pgm.core.program import Program
from pgm.infer.psis import check_guide, log_weights, pareto_k

FLIPS = torch.tensor([1.0] * 14 + [0.0] * 6)  # Beta(2, 2) prior: posterior Beta(16, 8)


def coin(flips):
    p = pyro.sample("p", dist.Beta(2.0, 2.0))
    with pyro.plate("data", len(flips)):
        pyro.sample("flip", dist.Bernoulli(p), obs=flips)


def beta_guide(a: float, b: float):
    def guide(flips):
        pyro.sample("p", dist.Beta(torch.tensor(a), torch.tensor(b)))
    return guide


def test_the_weights_are_log_joint_minus_log_guide():
    program = Program(coin, beta_guide(16.0, 8.0), {"flips": FLIPS})
    lw = log_weights(program, num_samples=50, seed=0)
    # with the exact posterior as guide, every weight is log p(x), the evidence:
    # log B(16, 8) - log B(2, 2)
    evidence = (math.lgamma(16) + math.lgamma(8) - math.lgamma(24)
                - (math.lgamma(2) + math.lgamma(2) - math.lgamma(4)))
    torch.testing.assert_close(lw, torch.full((50,), evidence, dtype=torch.float64),
                               atol=1e-4, rtol=0)


def test_a_good_guide_reads_good_and_a_too_narrow_one_reads_do_not_trust():
    near = check_guide(Program(coin, beta_guide(15.0, 8.5), {"flips": FLIPS}), 1000)
    assert near.k < 0.5 and near.reading.startswith("good"), near
    # the same mean, a quarter of the spread: the posterior's tails are missed
    narrow = check_guide(Program(coin, beta_guide(16 * 16.0, 8 * 16.0), {"flips": FLIPS}), 1000)
    assert narrow.k > 0.7 and narrow.reading.startswith("do not trust"), narrow
    assert "Pareto k-hat" in str(narrow)


def test_a_point_estimate_has_no_spread_to_check():
    program = Program(coin, "auto_delta", {"flips": FLIPS})
    check = check_guide(program, 20)
    assert math.isnan(check.k) and "point estimate" in check.reading


def test_pareto_k_of_known_tails():
    rng = np.random.default_rng(0)
    # weights with a Pareto tail of shape xi = 1 / alpha: log w = log of Pareto(alpha) draws
    heavy = np.log(rng.pareto(1.0, 4000) + 1)  # alpha 1: k near 1
    light = rng.normal(size=4000) * 0.1  # nearly equal weights: k well below 0.5
    assert pareto_k(heavy) > 0.7 and pareto_k(light) < 0.5
    with pytest.raises(ValueError, match="log_weights: expected finite values"):
        pareto_k([0.0, float("nan")])
