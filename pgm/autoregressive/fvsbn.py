"""FVSBN: the fully visible sigmoid belief network (Frey et al., 1996).

Pixel ``i`` of the ordering is a logistic regression on all pixels before it,
"the network whose input grows with i"::

    p(x_i = 1 | x_{<i}) = sigmoid(b_i + sum_{j<i} W_ij x_j)

``W`` is kept strictly lower-triangular by a mask, so all D conditionals come
from one masked matrix product: ``D (D - 1) / 2 + D`` free parameters.
"""

from __future__ import annotations

import pyro
import torch
from torch import nn

from pgm import orderings
from pgm.core import GenerativeModel, register
from pgm.distributions import ProductBernoulli
from pgm.errors import check_positive_int


@register("fvsbn")
class FVSBN(GenerativeModel):
    """Fully visible sigmoid belief network over binary pixels.

    :param shape: ``(channels, height, width)``.
    :param ordering: ``"raster"``, ``"snake"``, ``"column"``, ``"random"`` or a permutation.
    :param seed: seed of the ``"random"`` ordering.
    """

    defaults = {"lr": 1e-3, "lr_decay": 0.95, "epochs": 60, "patience": 5}

    def __init__(self, shape=(1, 28, 28), ordering="raster", seed: int = 0):
        order = ordering if isinstance(ordering, str) else list(map(int, ordering))
        super().__init__(shape, ordering=order, seed=seed)
        perm = orderings.resolve(ordering, self.shape, seed)
        d = self.dim
        self.register_buffer("order", perm)
        self.register_buffer("inverse", torch.argsort(perm))
        self.register_buffer("mask", torch.ones(d, d).tril(-1))  # W_ij used only for j < i
        self.W = nn.Parameter(torch.zeros(d, d))
        self.b = nn.Parameter(torch.zeros(d))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Conditional logits ``(B, D) -> (B, D)``, raster order."""
        xo = x[:, self.order]
        return (torch.addmm(self.b, xo, (self.W * self.mask).T))[:, self.inverse]

    def model(self, x: torch.Tensor, num_data: int | None = None) -> None:
        self.register()
        with self.data_plate(x, num_data):
            pyro.sample("x", ProductBernoulli(self.logits(x)), obs=x)

    def initialize(self, x: torch.Tensor) -> None:
        p = (x[:, self.order].sum(0) + 1) / (x.shape[0] + 2)
        with torch.no_grad():
            self.b.copy_(torch.logit(p))

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        x = self.check(x)
        return ProductBernoulli(self.logits(x)).log_prob(x)

    @torch.no_grad()
    def sample(self, n: int) -> torch.Tensor:
        n = check_positive_int(n, "n")
        w = self.W * self.mask
        x = torch.zeros(n, self.dim, dtype=w.dtype)  # in the ordering
        for i in range(self.dim):
            x[:, i] = torch.bernoulli(torch.sigmoid(x @ w[i] + self.b[i]))
        return x[:, self.inverse]

    @property
    def num_parameters(self) -> int:
        d = self.dim
        return d * (d - 1) // 2 + d
