"""Metrics of models with a likelihood, and of what they learned.

* :func:`evaluate` (also :func:`pgm.evaluate`): negative log-likelihood and bits per
  dimension of held-out images, :func:`nll` and :func:`bits_per_dim` its parts;
* :func:`auroc`: how well anomaly scores (a negative log-likelihood) separate outliers;
* :func:`linear_probe`: how much of the labels a linear classifier reads off features
  (a latent model's posterior means).

(These lived in ``pgm.infer.evaluate``, which re-exports them for one release.)
"""

from __future__ import annotations

import math

import torch

from pgm.core import GenerativeModel
from pgm.core.base import evaluating
from pgm.core.seeding import seeded


@torch.no_grad()
def nll(model: GenerativeModel, x: torch.Tensor, batch_size: int = 1000) -> float:
    """Mean negative log-likelihood of ``x`` ``(n, pixels)`` in nats per example.

    Exact for explicit models; for latent-variable models, whatever estimate
    their ``log_prob`` gives (importance sampling).
    """
    total = 0.0
    with evaluating(model):
        for i in range(0, x.shape[0], batch_size):
            total -= model.log_prob(x[i : i + batch_size]).double().sum().item()
    return total / x.shape[0]


def bits_per_dim(nll_nats: float, dim: int) -> float:
    """Convert nats per example to bits per dimension: ``nll / (dim ln 2)``."""
    return nll_nats / (dim * math.log(2))


def evaluate(model: GenerativeModel, x: torch.Tensor, batch_size: int = 1000,
             seed: int = 0) -> dict:
    """``{"nll_nats", "bits_per_dim", "n"}`` for the images ``x`` ``(n, pixels)``.

    :param seed: seeds the draws of an estimated log-likelihood (a latent model's
        importance samples), so that evaluating a model twice gives the same figure; the
        caller's random state is left as it was.
    :raises TypeError: ``model`` is not a pgm model (a run folder is loaded with
        :func:`pgm.load_model` first).
    :raises DataError: ``x`` is not data the model takes.
    """
    if not isinstance(model, GenerativeModel):
        raise TypeError(f"model: expected a pgm model (load a run with pgm.load_model(path)), "
                        f"got {type(model).__name__} {model!r:.60}")
    x = model.check(x)
    with seeded(seed):
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


def linear_probe(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor,
                 test_y: torch.Tensor, l2: float = 1e-4, steps: int = 200) -> float:
    """Test accuracy of a linear classifier trained on features: representation quality.

    Multinomial logistic regression on standardized features ``(n, F)`` with labels
    ``(n,)`` in ``0..C-1``, fitted by full-batch L-BFGS (deterministic) with an L2
    penalty ``l2``; the standardization uses the training features only.
    """
    if train_x.dim() != 2 or test_x.dim() != 2 or train_x.shape[1] != test_x.shape[1]:
        raise ValueError(f"train_x, test_x: expected (n, F) features of one width, got "
                         f"{tuple(train_x.shape)} and {tuple(test_x.shape)}")
    if len(train_x) != len(train_y) or len(test_x) != len(test_y):
        raise ValueError("train_y, test_y: expected one label per example")
    mean, sd = train_x.mean(0), train_x.std(0).clamp_min(1e-6)
    a, b = ((t.double() - mean) / sd for t in (train_x, test_x))
    classes = int(max(train_y.max(), test_y.max())) + 1
    w = torch.zeros(a.shape[1], classes, dtype=torch.float64, requires_grad=True)
    c = torch.zeros(classes, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, c], max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(a @ w + c, train_y) + l2 * (w**2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return float(((b @ w + c).argmax(1) == test_y).double().mean())
