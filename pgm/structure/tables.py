"""Distributions over ``n`` binary variables with their structure in the code.

* :class:`JointTable` (``joint``): one Categorical over all ``2^n`` states;
* :class:`AutoregressiveTable` (``ar``): ``p(x_i | previous k pixels of the ordering)``
  by full tables (``k = n - 1`` is the chain rule), or by logistic regressions of the
  context when ``2^k`` tables would not fit;
* :class:`MarkovChain` (``markov``): the ``k = 1`` case, its model written with
  ``pyro.markov`` so that Pyro sees the first-order dependence.

The fully independent model is :class:`pgm.structure.IndependentBernoulli`.
All have an exact ``log_prob``, ``sample``, an SVI ``model`` and a closed-form
maximum-likelihood estimate from counts (:meth:`fit_counts`).
"""

from __future__ import annotations

import math

import pyro
import pyro.distributions as dist
import torch
from torch import nn

from pgm.autoregressive.base import Autoregressive
from pgm.core import GenerativeModel, register
from pgm.errors import check_nonnegative, check_positive_int
from pgm.structure import counting

#: the largest table ``joint`` builds (2^24 states, 64 MiB of float32)
MAX_JOINT_BITS = 24
#: ``ar`` with conditional="auto" uses tables while n * 2^k stays at or below this
MAX_TABLE_ENTRIES = 2**20


@register("joint")
class JointTable(GenerativeModel):
    """Fully dependent: one Categorical over the ``2^n`` joint states (``2^n - 1`` parameters).

    :param shape: ``(n,)`` or ``(C, H, W)`` with ``n = C*H*W <= 24``.
    """

    defaults = {"lr": 0.05, "epochs": 20}

    def __init__(self, shape=(8,)):
        super().__init__(shape)
        if self.dim > MAX_JOINT_BITS:
            raise ValueError(
                f"shape: the joint table over {self.dim} binary variables needs 2^{self.dim} - 1 "
                f"parameters; pgm builds it for at most {MAX_JOINT_BITS} variables. Assume some "
                "independence instead (bernoulli, markov, ar)")
        self.logits = nn.Parameter(torch.zeros(2**self.dim))  # (2^n,)
        self.register_buffer("powers", 2 ** torch.arange(self.dim))

    def index(self, x: torch.Tensor) -> torch.Tensor:
        """The state number ``sum_i x_i 2^i`` of each row, ``(B, n) -> (B,)``."""
        return (x.long() * self.powers).sum(-1)

    def model(self, x: torch.Tensor, num_data: int | None = None) -> None:
        self.register_parameters()
        with self.data_plate(x, num_data):
            pyro.sample("state", dist.Categorical(logits=self.logits), obs=self.index(x))

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        x = self.check(x)
        return torch.log_softmax(self.logits, -1)[self.index(x)]

    def sample(self, n: int) -> torch.Tensor:
        s = dist.Categorical(logits=self.logits).sample((check_positive_int(n, "n"),))
        return ((s[:, None] >> torch.arange(self.dim)) & 1).to(self.logits.dtype)

    def fit_counts(self, x: torch.Tensor, pseudo_count: float = 0.0) -> JointTable:
        """Set the maximum-likelihood (or, with pseudo-counts, smoothed) estimate."""
        a = check_nonnegative(pseudo_count, "pseudo_count")
        c = torch.bincount(self.index(self.check(x)), minlength=2**self.dim).double() + a
        with torch.no_grad():
            self.logits.copy_(c.log() - c.sum().log())
        return self

    @property
    def num_parameters(self) -> int:
        return counting.fully_dependent(self.dim)


@register("ar")
class AutoregressiveTable(Autoregressive):
    """Order-``k`` autoregressive model: ``p(x_i | the k pixels before i in the ordering)``.

    :param shape: ``(n,)`` or ``(C, H, W)``.
    :param k: context length, ``0 <= k < n``; ``k = n - 1`` is the chain rule, ``k = 1``
        the Markov chain, ``k = 0`` full independence.
    :param ordering: ``"raster"``, ``"snake"``, ``"column"``, ``"random"`` or a permutation.
    :param conditional: ``"table"`` (a probability for every context), ``"logistic"``
        (a logistic regression on the context), or ``"auto"``: tables while
        ``n * 2^k <= 2^20``.
    """

    defaults = {"lr": 0.05, "lr_decay": 0.9, "epochs": 20}

    def __init__(self, shape=(1, 28, 28), k: int = 1, ordering="raster", seed: int = 0,
                 conditional: str = "auto"):
        super().__init__(shape, ordering, seed, k=k, conditional=conditional)
        n = self.dim
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < n:
            raise ValueError(f"k: expected an integer in 0..{n - 1}, got {k!r}")
        if conditional not in ("auto", "table", "logistic"):
            raise ValueError(
                f"conditional: expected 'auto', 'table' or 'logistic', got {conditional!r}")
        if conditional == "auto":
            conditional = "table" if n * 2**k <= MAX_TABLE_ENTRIES else "logistic"
        self.k, self.tabular = k, conditional == "table"
        width = torch.tensor([min(i, k) for i in range(n)])  # context length at position i
        self.register_buffer("width", width)
        if self.tabular:
            sizes = 2**width
            self.register_buffer("offset", torch.cumsum(sizes, 0) - sizes)
            self.table = nn.Parameter(torch.zeros(int(sizes.sum())))  # logits
        else:
            self.weight = nn.Parameter(torch.zeros(n, k))  # weight[i, t-1] on x_{i-t}
            self.bias = nn.Parameter(torch.zeros(n))

    def context(self, xo: torch.Tensor) -> torch.Tensor:
        """``(B, n, k)``: entry ``t-1`` is ``x_{i-t}`` in the ordering (0 before the start)."""
        b, n = xo.shape
        pad = torch.cat([xo.new_zeros(b, self.k), xo], 1)  # (B, k + n)
        return torch.stack([pad[:, self.k - t : self.k - t + n] for t in range(1, self.k + 1)],
                           -1) if self.k else xo.new_zeros(b, n, 0)

    def logits_ordered(self, xo: torch.Tensor) -> torch.Tensor:
        """Conditional logits ``(B, n)`` for ``xo`` already in the ordering."""
        ctx = self.context(xo)  # (B, n, k)
        if not self.tabular:
            return (ctx * self.weight).sum(-1) + self.bias
        code = (ctx.long() * (2 ** torch.arange(self.k))).sum(-1)  # (B, n), < 2^width
        return self.table[self.offset + code]

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, n) -> (B, n)`` conditional logits, raster order."""
        return self.logits_ordered(x[:, self.order])[:, self.inverse]

    @torch.no_grad()
    def sample(self, n: int) -> torch.Tensor:
        n = check_positive_int(n, "n")
        dtype = self.table.dtype if self.tabular else self.bias.dtype
        xo = torch.zeros(n, self.dim, dtype=dtype)
        for i in range(self.dim):  # each step reads only positions < i
            xo[:, i] = torch.bernoulli(torch.sigmoid(self.logits_ordered(xo)[:, i]))
        return xo[:, self.inverse]

    def fit_counts(self, x: torch.Tensor, pseudo_count: float = 0.0) -> AutoregressiveTable:
        """Closed-form maximum likelihood: each table entry is a frequency among its contexts.

        ``p = (ones + a) / (seen + 2a)``; a context never seen gets 1/2 when ``a > 0``.
        With ``a = 0`` such entries are left at logit 0 and never-varying ones become
        ``+-inf``-like logits clipped at +-30.
        """
        if not self.tabular:
            raise ValueError("fit_counts: needs conditional='table'; logistic conditionals "
                             "have no closed form (use pgm.fit)")
        a = check_nonnegative(pseudo_count, "pseudo_count")
        xo = self.check(x)[:, self.order]
        code = (self.context(xo).long() * (2 ** torch.arange(self.k))).sum(-1)
        idx = (self.offset + code).reshape(-1)
        size = self.table.numel()
        seen = torch.bincount(idx, minlength=size).double()
        ones = torch.bincount(idx, weights=xo.reshape(-1).double(), minlength=size)
        p = (ones + a) / (seen + 2 * a).clamp(min=1e-300)
        p = torch.where(seen + 2 * a > 0, p, torch.full_like(p, 0.5))
        with torch.no_grad():
            self.table.copy_(torch.logit(p).clamp(-30, 30))
        return self

    @property
    def num_parameters(self) -> int:
        if self.tabular:
            return counting.autoregressive(self.dim, self.k)
        return counting.logistic_autoregressive(self.dim, self.k)


@register("markov")
class MarkovChain(AutoregressiveTable):
    """First-order Markov chain over the ordering: ``2n - 1`` parameters.

    Its ``model`` walks the pixels with ``pyro.markov``, one sample site per pixel,
    so the first-order dependence is declared to Pyro (``model_vectorized`` is the
    one-site equivalent used for fast training).
    """

    def __init__(self, shape=(1, 28, 28), ordering="raster", seed: int = 0):
        k = 1 if math.prod(shape) > 1 else 0
        super().__init__(shape, k=k, ordering=ordering, seed=seed, conditional="table")
        self.config = {"shape": list(self.shape), "ordering": self.config["ordering"],
                       "seed": seed}

    def model(self, x: torch.Tensor, num_data: int | None = None) -> None:
        self.register_parameters()
        t = self.table  # t[0]: logit of x_0; t[1 + 2(i-1) + x_{i-1}]: logit of x_i
        with self.data_plate(x, num_data):
            prev = None
            for i in pyro.markov(range(self.dim)):
                logit = t[0] if i == 0 else t[1 + 2 * (i - 1) + prev.long()]
                prev = pyro.sample(f"x_{i}", dist.Bernoulli(logits=logit),
                                   obs=x[:, self.order[i]])

    def model_vectorized(self, x: torch.Tensor, num_data: int | None = None) -> None:
        """The same distribution as :meth:`model`, observed in one site."""
        super().model(x, num_data)
