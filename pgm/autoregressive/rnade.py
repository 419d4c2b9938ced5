"""RNADE: NADE for real-valued data (Uria, Murray & Larochelle, 2013).

The hidden layer is NADE's running sum; each conditional is a mixture of ``K``
Gaussians whose weights, means and scales are read off the hidden units::

    a_i = c + W_{<i} x_{<i},   h_i = sigmoid(rho_i a_i)        (H,)
    p(x_i | x_{<i}) = sum_k pi_ik N(x_i | mu_ik, sigma_ik)
    pi_i = softmax(V^pi_i h_i + b^pi_i),  mu_i = V^mu_i h_i + b^mu_i,
    sigma_i = exp(V^sigma_i h_i + b^sigma_i)                     (K,) each

``log_prob`` is the exact density (nats, with respect to Lebesgue measure on
``R^D``). The implementation is the vectorized one, ``(B, D, H)`` at once, which
suits the low- and moderate-dimensional data RNADE is shown on here.
"""

from __future__ import annotations

import pyro
import pyro.distributions as dist
import torch
import torch.nn.functional as F
from torch import nn

from pgm.autoregressive.base import Autoregressive
from pgm.core import register
from pgm.errors import DataError, check_positive_int


@register("rnade")
class RNADE(Autoregressive):
    """RNADE: real-valued NADE with mixture-of-Gaussians conditionals.

    :param shape: ``(channels, height, width)``, or ``(D,)`` for plain vectors.
    :param hidden: hidden units ``H``.
    :param components: Gaussians per conditional ``K``.
    :param ordering: ``"raster"``, ``"snake"``, ``"column"``, ``"random"`` or a permutation.
    :param seed: seed of the ``"random"`` ordering.
    """

    binary = False
    defaults = {"lr": 1e-3, "lr_decay": 0.98, "epochs": 50, "patience": 5}

    def __init__(self, shape=(1, 28, 28), hidden: int = 100, components: int = 5,
                 ordering="raster", seed: int = 0):
        hidden = check_positive_int(hidden, "hidden")
        k = check_positive_int(components, "components")
        super().__init__(shape, ordering, seed, hidden=hidden, components=k)
        d = self.dim
        self.W = nn.Parameter(torch.randn(d, hidden) * 0.05)
        self.c = nn.Parameter(torch.zeros(hidden))
        # per position i of the ordering: activation scale, and the pi, mu, sigma heads
        self.log_rho = nn.Parameter(torch.zeros(d))
        self.V = nn.Parameter(torch.randn(3, d, hidden, k) * 0.05)
        self.bias = nn.Parameter(torch.zeros(3, d, k))
        with torch.no_grad():  # spread the initial means
            self.bias[1].copy_(torch.linspace(-1, 1, k).expand(d, k))

    def check(self, x: object, name: str = "x") -> torch.Tensor:
        """Validate real-valued data ``(batch, pixels)``; binary data is refused: a density
        on the real line grows without bound on values that are all 0 or 1.

        :raises DataError: as :func:`pgm.errors.check_images`, or every value 0 or 1.
        """
        x = super().check(x, name)
        if x.numel() > x.shape[0] and bool(((x == 0) | (x == 1)).all()):
            raise DataError(f"{name}: RNADE models real-valued pixels, got binary data (every "
                            "value 0 or 1), on which its likelihood has no maximum; use a "
                            "binary model (nade, fvsbn, ...) or grey data (pgm.data.dequantize)")
        return x

    def conditionals(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Mixture parameters ``(logits_pi, mu, sigma)``, each ``(B, D, K)``, raster order."""
        xo = x[:, self.order]
        xw = xo[:, :, None] * self.W  # (B, D, H)
        a = self.c + torch.cumsum(xw, 1) - xw  # exclusive running sum
        h = torch.sigmoid(a * self.log_rho.exp()[:, None])  # (B, D, H)
        out = torch.einsum("bdh,sdhk->sbdk", h, self.V) + self.bias[:, None]  # (3, B, D, K)
        logits, mu, log_sigma = (t[:, self.inverse] for t in out)
        return logits, mu, F.softplus(log_sigma) + 1e-3

    def _dist(self, x: torch.Tensor) -> dist.Distribution:
        logits, mu, sigma = self.conditionals(x)
        mix = dist.MixtureSameFamily(dist.Categorical(logits=logits), dist.Normal(mu, sigma))
        return mix.to_event(1)  # batch (B,), event (D,)

    def model(self, x: torch.Tensor, num_data: int | None = None) -> None:
        self.register_parameters()
        with self.data_plate(x, num_data):
            pyro.sample("x", self._dist(x), obs=x)

    def initialize(self, x: torch.Tensor) -> None:
        """Centre the output means on the data's range per pixel."""
        xo = x[:, self.order]  # parameters are indexed by position in the ordering
        lo, hi = xo.min(0).values, xo.max(0).values  # (D,)
        k = self.bias.shape[-1]
        with torch.no_grad():
            t = torch.linspace(0.1, 0.9, k)
            self.bias[1].copy_(lo[:, None] + (hi - lo)[:, None] * t)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        x = self.check(x)
        return self._dist(x).log_prob(x)  # (B,)

    @torch.no_grad()
    def sample(self, n: int) -> torch.Tensor:
        n = check_positive_int(n, "n")
        xo = torch.zeros(n, self.dim, dtype=self.W.dtype)  # in the ordering
        a = self.c.expand(n, -1).clone()
        rho = self.log_rho.exp()
        for i in range(self.dim):
            h = torch.sigmoid(a * rho[i])  # (n, H)
            logits, mu, pre = (h @ self.V[s, i] + self.bias[s, i] for s in range(3))  # (n, K)
            k = dist.Categorical(logits=logits).sample()[:, None]
            sigma = F.softplus(pre) + 1e-3
            xo[:, i] = torch.normal(mu.gather(1, k), sigma.gather(1, k))[:, 0]
            a += xo[:, i, None] * self.W[i]
        return xo[:, self.inverse]
