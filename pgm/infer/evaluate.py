"""Evaluation shared by every model: negative log-likelihood and bits per dimension."""

from __future__ import annotations

import math

import torch

from pgm.core import GenerativeModel


@torch.no_grad()
def nll(model: GenerativeModel, x: torch.Tensor, batch_size: int = 1000) -> float:
    """Mean negative log-likelihood of ``x`` ``(n, pixels)`` in nats per example.

    Exact for explicit models; for latent-variable models, whatever estimate
    their ``log_prob`` gives (importance sampling).
    """
    was_training = model.training
    model.eval()
    try:
        total = 0.0
        for i in range(0, x.shape[0], batch_size):
            total -= model.log_prob(x[i : i + batch_size]).double().sum().item()
    finally:
        model.train(was_training)
    return total / x.shape[0]


def bits_per_dim(nll_nats: float, dim: int) -> float:
    """Convert nats per example to bits per dimension: ``nll / (dim ln 2)``."""
    return nll_nats / (dim * math.log(2))


def evaluate(model: GenerativeModel, x: torch.Tensor, batch_size: int = 1000) -> dict:
    """``{"nll_nats", "bits_per_dim", "n"}`` for the images ``x``."""
    model.check(x)
    v = nll(model, x, batch_size)
    return {"nll_nats": v, "bits_per_dim": bits_per_dim(v, model.dim), "n": int(x.shape[0])}
