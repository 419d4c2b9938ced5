"""The shared shape of autoregressive models: a pixel ordering and, for binary
images, Bernoulli conditionals given the pixels before.

    p(x) = prod_i p(x_{o[i]} | x_{o[0]}, ..., x_{o[i-1]})

A subclass computes every conditional at once from the image itself (the
"teacher forcing" of a fully observed model) in :meth:`Autoregressive.logits`;
the Pyro model then observes the whole image in one site.
"""

from __future__ import annotations

import pyro
import torch

from pgm.autoregressive import orderings
from pgm.core.base import GenerativeModel, marginal_logits
from pgm.distributions import ProductBernoulli


class Autoregressive(GenerativeModel):
    """A model over pixels taken in an ordering; binary with Bernoulli conditionals
    unless a subclass says otherwise.

    :param shape: ``(channels, height, width)``, or ``(D,)`` for plain vectors.
    :param ordering: ``"raster"``, ``"snake"``, ``"column"``, ``"random"`` or a permutation.
    :param seed: seed of the ``"random"`` ordering.
    """

    def __init__(self, shape=(1, 28, 28), ordering="raster", seed: int = 0, **config):
        order = ordering if isinstance(ordering, str) else [int(i) for i in ordering]
        super().__init__(shape, ordering=order, seed=seed, **config)
        perm = orderings.resolve(ordering, self.shape, seed)
        self.register_buffer("order", perm)  # position in the ordering -> pixel
        self.register_buffer("inverse", torch.argsort(perm))  # pixel -> position

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Conditional logits ``(B, D) -> (B, D)`` in raster order."""
        raise NotImplementedError

    def model(self, x: torch.Tensor, num_data: int | None = None) -> None:
        self.register_parameters()
        with self.data_plate(x, num_data):
            pyro.sample("x", ProductBernoulli(self.logits(x)), obs=x)  # (B,)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        x = self.check(x)
        return ProductBernoulli(self.logits(x)).log_prob(x)

    def marginal_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of the smoothed pixel marginals of ``x``, in the ordering, ``(D,)``."""
        return marginal_logits(x[:, self.order])
