"""Is the fitted guide a good posterior? The Pareto k-hat of its importance weights.

A guide ``q(z)`` fitted by SVI is only an approximation of the posterior ``p(z | x)``.
Yao, Vehtari, Simpson & Gelman (2018), "Yes, but did it work?: Evaluating variational
inference", read how far it is from the posterior off the importance weights

``log w_s = log p(x, z_s) - log q(z_s)``,  ``z_s ~ q``,  ``s = 1..S``:

their right tail is fitted by a generalized Pareto distribution (Pareto-smoothed
importance sampling, Vehtari et al. 2017; here ArviZ's ``psislw``), and its shape ``k``
says whether the guide can be trusted:

=============  ===============================================================
``k < 0.5``    good: the guide is close to the posterior
``0.5 - 0.7``  usable with care: means are fair, tails and spreads may be off
``k > 0.7``    do not trust the guide; use a richer guide (a full-rank normal,
               a normalizing flow) or NUTS (:func:`pgm.infer.mcmc.nuts`)
=============  ===============================================================

Enumerated discrete sites are summed out of ``p(x, z)`` (one particle of
``TraceEnum_ELBO`` is exactly ``-log w``); so is nothing else: the estimate is as good as
``S`` draws allow (a few hundred at least).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import arviz as az
import numpy as np
import torch
from pyro.infer import Trace_ELBO, TraceEnum_ELBO

from pgm.core.program import Program
from pgm.core.seeding import seeded
from pgm.errors import check_positive_int

#: the thresholds of Yao et al. (2018)
GOOD, USABLE = 0.5, 0.7


@dataclass
class GuideCheck:
    """The Pareto k-hat of a guide's importance weights, and what it means.

    :ivar k: the shape of the fitted generalized Pareto tail; NaN for a point estimate
        (every weight the same: there is no spread to check).
    :ivar num_samples: the guide draws it was estimated from.
    """

    k: float
    num_samples: int

    @property
    def reading(self) -> str:
        """The verdict, in words, with what to do."""
        if math.isnan(self.k):
            return ("the guide is a point estimate (MAP): it has no posterior spread to "
                    "check; use a distribution guide (auto_normal, auto_multivariate_normal) "
                    "or NUTS for uncertainty")
        if self.k < GOOD:
            return "good: the guide is close to the posterior"
        if self.k <= USABLE:
            return "usable with care: means are fair, spreads and tails may be off"
        return ("do not trust the guide: try a richer guide (auto_multivariate_normal, "
                "auto_iaf_normal) or NUTS (pgm.infer.mcmc.nuts)")

    def __str__(self) -> str:
        k = "n/a" if math.isnan(self.k) else f"{self.k:.2f}"
        return f"guide Pareto k-hat {k} ({self.num_samples} draws): {self.reading}"


def pareto_k(log_weights: torch.Tensor | np.ndarray) -> float:
    """The Pareto k-hat of log importance weights ``(S,)`` (ArviZ's ``psislw``); NaN when
    they are all equal (a point-mass guide)."""
    lw = np.asarray(log_weights, dtype=np.float64).reshape(-1)
    if not np.isfinite(lw).all():
        raise ValueError("log_weights: expected finite values, got "
                         f"{int((~np.isfinite(lw)).sum())} non-finite of {lw.size}")
    if np.ptp(lw) == 0:
        return math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ArviZ warns above 0.7: the caller reads k
        _, k = az.psislw(lw, reff=1.0)
    return float(k)


@torch.no_grad()
def log_weights(program: Program, num_samples: int = 1000, seed: int = 0) -> torch.Tensor:
    """``log p(x, z_s) - log q(z_s)`` for ``num_samples`` draws ``z_s`` of a program's
    guide on all its data, enumerated sites summed out: ``(num_samples,)``, in nats.

    :raises ValueError: ``num_samples`` not a positive integer.
    """
    check_positive_int(num_samples, "num_samples")
    elbo = (TraceEnum_ELBO(max_plate_nesting=program.max_plate_nesting)
            if program.enumerated else Trace_ELBO())
    with seeded(seed):
        return torch.tensor([-elbo.loss(program.model, program.guide)
                             for _ in range(num_samples)], dtype=torch.float64)


def check_guide(program: Program, num_samples: int = 1000, seed: int = 0) -> GuideCheck:
    """The Pareto k-hat of a fitted program's guide (Yao et al. 2018): whether its
    posterior can be trusted (see the module docstring for the reading).

    :param program: a :class:`~pgm.core.program.Program`, after :func:`pgm.fit`.
    :param num_samples: guide draws (a few hundred at least; 1000 by default).
    :param seed: fixes the draws, in any process.
    :raises ValueError: ``num_samples`` not a positive integer, or a weight that is not
        finite (the guide puts mass where the model has none).
    """
    return GuideCheck(pareto_k(log_weights(program, num_samples, seed)), num_samples)
