"""FVSBN: the fully visible sigmoid belief network (Frey et al., 1996).

Pixel ``i`` of the ordering is a logistic regression on all pixels before it,
"the network whose input grows with i"::

    p(x_i = 1 | x_{<i}) = sigmoid(b_i + sum_{j<i} W_ij x_j)

``W`` is kept strictly lower-triangular by a mask, so all D conditionals come
from one masked matrix product: ``D (D - 1) / 2 + D`` free parameters.
"""

from __future__ import annotations

import torch
from torch import nn

from pgm.autoregressive.base import Autoregressive
from pgm.core import register
from pgm.errors import check_positive_int


@register("fvsbn")
class FVSBN(Autoregressive):
    """Fully visible sigmoid belief network over binary pixels.

    :param shape: ``(channels, height, width)``.
    :param ordering: ``"raster"``, ``"snake"``, ``"column"``, ``"random"`` or a permutation.
    :param seed: seed of the ``"random"`` ordering.
    """

    defaults = {"lr": 1e-3, "lr_decay": 0.95, "epochs": 60, "patience": 5}

    def __init__(self, shape=(1, 28, 28), ordering="raster", seed: int = 0):
        super().__init__(shape, ordering, seed)
        d = self.dim
        self.register_buffer("mask", torch.ones(d, d).tril(-1))  # W_ij used only for j < i
        self.W = nn.Parameter(torch.zeros(d, d))
        self.b = nn.Parameter(torch.zeros(d))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Conditional logits ``(B, D) -> (B, D)``, raster order."""
        xo = x[:, self.order]
        return (torch.addmm(self.b, xo, (self.W * self.mask).T))[:, self.inverse]

    def initialize(self, x: torch.Tensor) -> None:
        """Biases at the logits of the pixel marginals."""
        with torch.no_grad():
            self.b.copy_(self.marginal_logits(x))

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
