"""The importance-weighted bound (pgm.infer.iwae), against its formula."""

import math

import pyro
import pyro.distributions as dist
import pytest
import torch
from pyro import poutine

from pgm.infer.iwae import IWAE_ELBO

X = torch.tensor([0.3, -1.2, 2.0])


def program(beta: float = 1.0):
    """z ~ N(0, 1), x | z ~ N(z, 0.5); guide q(z | x) = N(x / 2, 0.8); latent sites
    scaled by ``beta``, the data plate by 10 (three examples of thirty)."""
    def model(x):
        with pyro.plate("data", 30, subsample=torch.arange(3)):
            with poutine.scale(scale=beta):
                z = pyro.sample("z", dist.Normal(0.0, 1.0))
            pyro.sample("x", dist.Normal(z, 0.5), obs=x)

    def guide(x):
        with pyro.plate("data", 30, subsample=torch.arange(3)), poutine.scale(scale=beta):
            pyro.sample("z", dist.Normal(x / 2, 0.8))

    return model, guide


@pytest.mark.parametrize("beta", [1.0, 0.3])
def test_loss_is_the_formula_with_latent_terms_weighted_by_beta(beta):
    k = 7
    model, guide = program(beta)
    pyro.set_rng_seed(0)
    loss = IWAE_ELBO(num_particles=k).differentiable_loss(model, guide, X)
    pyro.set_rng_seed(0)  # the same draws of z: (k, 3)
    z = dist.Normal(X / 2, 0.8).sample((k,))
    log_w = (dist.Normal(z, 0.5).log_prob(X)
             + beta * (dist.Normal(0.0, 1.0).log_prob(z) - dist.Normal(X / 2, 0.8).log_prob(z)))
    expected = -10 * (torch.logsumexp(log_w, 0) - math.log(k)).sum()
    torch.testing.assert_close(loss, expected)


def test_observed_sites_at_different_scales_are_refused():
    def model(x):
        with pyro.plate("data", 3):
            z = pyro.sample("z", dist.Normal(0.0, 1.0))
            pyro.sample("x", dist.Normal(z, 0.5), obs=x)
            with poutine.scale(scale=2.0):
                pyro.sample("x2", dist.Normal(z, 0.5), obs=x)

    def guide(x):
        with pyro.plate("data", 3):
            pyro.sample("z", dist.Normal(0.0, 1.0))

    with pytest.raises(ValueError, match=r"observed sites at one scale .* \[1.0, 2.0\]"):
        IWAE_ELBO(num_particles=2).differentiable_loss(model, guide, X)
