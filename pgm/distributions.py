"""Distributions pgm adds to Pyro's.

:class:`SwissRoll` can be sampled but has no density: the kind of prior an adversarial
autoencoder can fit its codes to and a VAE cannot (its ELBO needs ``log p(z)``).

:class:`ProductBernoulli` is ``Bernoulli(logits).to_event(1)`` with a
``log_prob`` that contracts the pixel dimension by a matrix product. When the
logits carry an enumerated batch dimension (a mixture's component, say, shape
``(K, 1, D)``) and the value is a batch ``(B, D)``, Pyro's Bernoulli would
build a ``(K, B, D)`` tensor; this one computes the ``(K, B)`` result by
``einsum`` without it.

:class:`DiagonalNormalMixture` is a mixture of ``K`` diagonal Gaussians (the learned
priors of a VAE) whose ``log_prob`` also works by matrix products: for ``N`` points it
costs two ``(N, L) x (L, K)`` products instead of an ``(N, K, L)`` tensor.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from pyro.distributions import TorchDistribution, constraints


class ProductBernoulli(TorchDistribution):
    """Independent Bernoulli pixels with logits ``(..., D)``; event shape ``(D,)``.

    ``log_prob(x) = sum_d x_d * l_d - softplus(l_d)`` in nats.
    """

    arg_constraints = {"logits": constraints.real}
    support = constraints.independent(constraints.boolean, 1)
    has_enumerate_support = False

    def __init__(self, logits: torch.Tensor, validate_args: bool | None = None):
        self.logits = logits
        self._compact = logits  # un-expanded logits: log_prob never touches copies
        super().__init__(logits.shape[:-1], logits.shape[-1:], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(ProductBernoulli, _instance)
        batch_shape = torch.Size(batch_shape)
        new.logits = self.logits.expand(batch_shape + self.event_shape)
        new._compact = self._compact
        super(ProductBernoulli, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self) -> torch.Tensor:
        return torch.sigmoid(self.logits)

    @property
    def variance(self) -> torch.Tensor:
        p = torch.sigmoid(self.logits)
        return p * (1 - p)

    def sample(self, sample_shape: tuple[int, ...] = ()) -> torch.Tensor:
        shape = self._extended_shape(sample_shape)
        with torch.no_grad():
            return torch.bernoulli(torch.sigmoid(self.logits).expand(shape))

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        lp = torch.einsum("...d,...d->...", value, self._compact)
        lp = lp - F.softplus(self._compact).sum(-1)
        return lp.expand(torch.broadcast_shapes(lp.shape, self.batch_shape))


class DiagonalNormalMixture(TorchDistribution):
    """``sum_k softmax(logits)_k N(loc_k, diag(scale_k^2))``; event shape ``(L,)``.

    :param logits: mixture weights ``(K,)``, unnormalized.
    :param loc: component means ``(K, L)``.
    :param scale: component standard deviations ``(K, L)``, positive.

    The same density as ``MixtureSameFamily(Categorical(logits), Normal(loc, scale)
    .to_event(1))``. ``log_prob`` expands ``sum_l (z_l - mu_kl)^2 / s_kl^2`` into
    ``z^2 @ (1/s^2)^T - 2 z @ (mu/s^2)^T + sum_l mu^2/s^2``, so a batch of ``N`` points costs
    two ``(N, L) x (L, K)`` products: the VampPrior's 500 components score 5000
    importance samples of 100 images without an ``(N, K, L)`` tensor. The terms are each
    of order ``z^2 / s^2`` and cancel near a component, so they are summed in float64.
    """

    arg_constraints = {"logits": constraints.real_vector, "loc": constraints.real,
                       "scale": constraints.positive}
    support = constraints.independent(constraints.real, 1)

    def __init__(self, logits: torch.Tensor, loc: torch.Tensor, scale: torch.Tensor,
                 validate_args: bool | None = None):
        if loc.dim() != 2 or scale.shape != loc.shape or logits.shape != loc.shape[:1]:
            raise ValueError(f"logits, loc, scale: expected shapes (K,), (K, L), (K, L), got "
                             f"{tuple(logits.shape)}, {tuple(loc.shape)}, {tuple(scale.shape)}")
        self.logits, self.loc, self.scale = logits, loc, scale
        super().__init__(torch.Size(), loc.shape[-1:], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(DiagonalNormalMixture, _instance)
        new.logits, new.loc, new.scale = self.logits, self.loc, self.scale
        super(DiagonalNormalMixture, new).__init__(torch.Size(batch_shape), self.event_shape,
                                                   validate_args=False)
        new._validate_args = self._validate_args
        return new

    def sample(self, sample_shape: tuple[int, ...] = ()) -> torch.Tensor:
        shape = self._extended_shape(sample_shape)[:-1]
        with torch.no_grad():
            k = torch.distributions.Categorical(logits=self.logits).sample(shape)  # shape
            loc = self.loc[k]  # shape + (L,)
            return loc + self.scale[k] * torch.randn_like(loc)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        # in float64: the three terms are ~ z^2 / s^2 each and cancel to ~ 1 near a component
        z, loc, scale = value.double(), self.loc.double(), self.scale.double()
        prec = scale.pow(-2)  # (K, L)
        quad = z.pow(2) @ prec.T - 2 * z @ (loc * prec).T + (loc.pow(2) * prec).sum(-1)
        norm = scale.log().sum(-1) + 0.5 * loc.shape[-1] * math.log(2 * math.pi)  # (K,)
        lp = torch.logsumexp(self.logits.double().log_softmax(-1) - norm - 0.5 * quad, -1)
        lp = lp.to(value.dtype)  # (...,)
        return lp.expand(torch.broadcast_shapes(lp.shape, self.batch_shape))


class SwissRoll(TorchDistribution):
    """Points on a 2-D spiral with Gaussian noise; event shape ``(2,)``; no density.

    ``t = turns * 2 pi * sqrt(u)``, ``u ~ U(0, 1)``, and the point is
    ``radius * t / (turns * 2 pi) * (cos t, sin t) + N(0, noise^2 I)``: the arc length grows
    with ``t``, so ``sqrt`` spreads the points evenly along the roll (Makhzani et al. 2016
    fit codes to such a prior, Fig. 4). ``log_prob`` raises: only samples exist.
    """

    arg_constraints: dict = {}
    support = constraints.independent(constraints.real, 1)

    def __init__(self, radius: float = 4.0, turns: float = 1.5, noise: float = 0.05,
                 validate_args: bool | None = None):
        self.radius, self.turns, self.noise = float(radius), float(turns), float(noise)
        super().__init__(torch.Size(), torch.Size([2]), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(SwissRoll, _instance)
        new.radius, new.turns, new.noise = self.radius, self.turns, self.noise
        super(SwissRoll, new).__init__(torch.Size(batch_shape), self.event_shape,
                                       validate_args=False)
        return new

    def sample(self, sample_shape: tuple[int, ...] = ()) -> torch.Tensor:
        shape = self._extended_shape(sample_shape)[:-1]
        with torch.no_grad():
            t = self.turns * 2 * math.pi * torch.rand(shape).sqrt()
            r = self.radius * t / (self.turns * 2 * math.pi)
            xy = torch.stack([r * t.cos(), r * t.sin()], -1)
            return xy + self.noise * torch.randn_like(xy)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(
            "SwissRoll has no density, only samples: fit codes to it adversarially "
            "(pgm's 'aae'), not by an ELBO, whose prior-fitting term needs log p(z)")
