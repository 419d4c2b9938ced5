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


def auroc(inlier_scores: torch.Tensor, outlier_scores: torch.Tensor) -> float:
    """Area under the ROC curve of anomaly scores (higher = more anomalous).

    The probability that a random outlier scores above a random inlier (ties count
    one half), computed from ranks: the Mann-Whitney U statistic over ``n_in * n_out``.
    """
    s = torch.cat([inlier_scores, outlier_scores]).double()
    order = s.argsort()
    ranks = torch.empty_like(s)
    ranks[order] = torch.arange(1, len(s) + 1, dtype=torch.float64)
    for v in s.unique()[torch.unique(s, return_counts=True)[1] > 1]:  # average tied ranks
        ranks[s == v] = ranks[s == v].mean()
    n_in, n_out = len(inlier_scores), len(outlier_scores)
    u = ranks[n_in:].sum() - n_out * (n_out + 1) / 2
    return float(u / (n_in * n_out))
