"""NADE: the neural autoregressive distribution estimator (Larochelle & Murray, 2011).

For pixels in an ordering ``o`` (``x_i`` below means ``x_{o[i]}``)::

    a_i = c + W_{<i} x_{<i}          (H,)  one running sum, weights shared across i
    h_i = act(a_i)                   (H,)  sigmoid (L&M 2011) or relu (Uria et al. 2014)
    p(x_i = 1 | x_{<i}) = sigmoid(V_i . h_i + b_i)

``log_prob`` is exact and costs ``O(D H)`` per image: the running sum is the
trick that turns D networks into one. On CPU the forward and backward passes
run in fused kernels (:mod:`pgm.autoregressive._nade_kernels`) that never
build a ``(batch, D, H)`` tensor; :meth:`NADE.logits_reference` is the obvious
vectorized version, kept for tests and benchmarks.

Shapes: images ``(B, D)`` in raster order in and out; the ordering is applied
inside. Parameters: ``W, V (D, H)``, ``c (H,)``, ``b (D,)``.
"""

from __future__ import annotations

import numba
import torch
from torch import nn

from pgm.autoregressive import _nade_kernels as kernels
from pgm.autoregressive.base import Autoregressive
from pgm.core import register
from pgm.errors import DataError, check_positive_int

ACTIVATIONS = {"sigmoid": 0, "relu": 1}


class _NADELogits(torch.autograd.Function):
    """logits ``(B, D)`` of ``x (B, D)`` in the model's ordering, by the fused kernels."""

    @staticmethod
    def forward(ctx, x, W, c, V, b, act: int):
        xs = x.detach().contiguous()
        args = [t.detach().contiguous() for t in (W, c, V, b)]
        out = kernels.forward(xs.numpy(), *(t.numpy() for t in args), act)
        ctx.save_for_backward(xs, *args[:3])
        ctx.act = act
        return torch.from_numpy(out)

    @staticmethod
    def backward(ctx, g):
        x, W, c, V = ctx.saved_tensors
        dW, dc, dV = kernels.backward(x.numpy(), W.numpy(), c.numpy(), V.numpy(),
                                      g.contiguous().numpy(), ctx.act, numba.get_num_threads())
        return (None, torch.from_numpy(dW), torch.from_numpy(dc), torch.from_numpy(dV),
                g.sum(0), None)


@register("nade")
class NADE(Autoregressive):
    """NADE, exact likelihood of binary images in any pixel ordering.

    :param shape: ``(channels, height, width)``.
    :param hidden: hidden units ``H``.
    :param ordering: ``"raster"``, ``"snake"``, ``"column"``, ``"random"`` or a permutation.
    :param seed: seed of the ``"random"`` ordering.
    :param activation: ``"sigmoid"`` or ``"relu"``.
    """

    defaults = {"lr": 1e-3, "lr_decay": 0.98, "epochs": 200, "patience": 20}

    def __init__(self, shape=(1, 28, 28), hidden: int = 500, ordering="raster", seed: int = 0,
                 activation: str = "sigmoid"):
        hidden = check_positive_int(hidden, "hidden")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation: expected one of {list(ACTIVATIONS)}, got {activation!r}")
        super().__init__(shape, ordering, seed, hidden=hidden, activation=activation)
        d = self.dim
        self.W = nn.Parameter(torch.randn(d, hidden) * 0.01)
        self.c = nn.Parameter(torch.zeros(hidden))
        self.V = nn.Parameter(torch.randn(d, hidden) * 0.01)
        self.b = nn.Parameter(torch.zeros(d))
        self.act = ACTIVATIONS[activation]

    def _h(self, a: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(a) if self.act == 0 else torch.relu(a)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """``p(x_d = 1 | pixels before d)`` as logits, ``(B, D) -> (B, D)``, raster order."""
        xo = x[:, self.order]
        out = _NADELogits.apply(xo, self.W, self.c, self.V, self.b, self.act)
        return out[:, self.inverse]

    def logits_reference(self, x: torch.Tensor) -> torch.Tensor:
        """The obvious vectorized NADE (builds ``(B, D, H)``); same result as :meth:`logits`."""
        xo = x[:, self.order]
        xw = xo[:, :, None] * self.W  # (B, D, H)
        a = self.c + torch.cumsum(xw, 1) - xw  # exclusive running sum
        return ((self._h(a) * self.V).sum(-1) + self.b)[:, self.inverse]

    def initialize(self, x: torch.Tensor) -> None:
        """Output biases at the logits of the pixel marginals (smoothed)."""
        with torch.no_grad():
            self.b.copy_(self.marginal_logits(x))

    @torch.no_grad()
    def _sample_from(self, x: torch.Tensor, start: int) -> torch.Tensor:
        # x (n, D) in the ordering, positions < start fixed; sample the rest sequentially
        a = self.c + x[:, :start] @ self.W[:start]  # (n, H)
        for i in range(start, self.dim):
            p = torch.sigmoid(self._h(a) @ self.V[i] + self.b[i])  # (n,)
            x[:, i] = torch.bernoulli(p)
            a += x[:, i, None] * self.W[i]
        return x[:, self.inverse]

    def sample(self, n: int) -> torch.Tensor:
        n = check_positive_int(n, "n")
        return self._sample_from(torch.zeros(n, self.dim, dtype=self.W.dtype), 0)

    def complete(self, x: torch.Tensor, observed: int | torch.Tensor) -> torch.Tensor:
        """Sample the missing pixels given an observed prefix of the ordering.

        :param x: images ``(B, D)``; only the observed pixels are read.
        :param observed: the prefix length ``m`` (pixels ``order[:m]`` are observed), or a
            boolean mask ``(D,)`` that must mark exactly such a prefix. NADE conditions
            exactly only on a prefix of its ordering; other masks are refused.
        :returns: ``(B, D)``, the observed pixels kept and the rest sampled.
        """
        x = self.check(x)
        if isinstance(observed, torch.Tensor):
            mask = observed.bool()
            if mask.shape != (self.dim,):
                raise DataError(f"observed: expected a mask of shape ({self.dim},), "
                                f"got {tuple(mask.shape)}")
            m = int(mask.sum())
            if not bool(mask[self.order[:m]].all()):
                raise DataError("observed: the mask is not a prefix of the model's ordering; "
                                "NADE conditions exactly only on a prefix (pass observed=m, or "
                                "train a model whose ordering puts the observed pixels first)")
        else:
            m = observed
            if isinstance(m, bool) or not isinstance(m, int) or not 0 <= m <= self.dim:
                raise DataError(f"observed: expected a prefix length in 0..{self.dim}, got {m!r}")
        return self._sample_from(x[:, self.order].clone(), m)
