"""The fully independent model: one Bernoulli per pixel, ``D`` parameters.

    p(x) = prod_d Bernoulli(x_d | sigmoid(l_d))

Independence is written as a ``pyro.plate`` over the pixels, nested inside the
data plate, so the structure is visible in the model itself.
"""

from __future__ import annotations

import pyro
import pyro.distributions as dist
import torch
from torch import nn

from pgm.core import GenerativeModel, register
from pgm.distributions import ProductBernoulli
from pgm.errors import check_nonnegative, check_positive_int


@register("bernoulli")
class IndependentBernoulli(GenerativeModel):
    """Fully independent binary pixels (one parameter each).

    :param shape: ``(channels, height, width)`` of an image.
    """

    defaults = {"lr": 0.05, "lr_decay": 0.8, "epochs": 10}

    def __init__(self, shape: tuple[int, ...] = (1, 28, 28)):
        super().__init__(shape)
        self.logits = nn.Parameter(torch.zeros(self.dim))  # (D,)

    def model(self, x: torch.Tensor, num_data: int | None = None) -> None:
        self.register_parameters()
        with pyro.plate("pixels", self.dim):  # dim -1
            with self.data_plate(x, num_data):  # dim -2
                pyro.sample("x", dist.Bernoulli(logits=self.logits), obs=x)  # (B, D)

    def fit_counts(self, x: torch.Tensor, pseudo_count: float = 0.0) -> IndependentBernoulli:
        """Closed-form maximum likelihood: each pixel's frequency, ``(ones + a) / (n + 2a)``."""
        a = check_nonnegative(pseudo_count, "pseudo_count")
        x = self.check(x)
        p = (x.sum(0).double() + a) / (x.shape[0] + 2 * a)
        with torch.no_grad():
            self.logits.copy_(torch.logit(p).clamp(-30, 30))
        return self

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        x = self.check(x)
        return ProductBernoulli(self.logits).log_prob(x)  # (B,)

    def sample(self, n: int) -> torch.Tensor:
        """``n`` draws ``(n, D)``.

        :raises ValueError: ``n`` is not a positive integer.
        """
        return ProductBernoulli(self.logits).sample((check_positive_int(n, "n"),))  # (n, D)
