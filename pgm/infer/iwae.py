"""The importance-weighted bound (IWAE; Burda, Grosse & Salakhutdinov, 2016) as a Pyro ELBO.

    L_k = E_{z_1..k ~ q} [ log (1/k) sum_j p(x, z_j) / q(z_j | x) ]  <=  log p(x)

``L_1`` is the ELBO and ``L_k`` rises to ``log p(x)`` as ``k`` grows. Pyro's
``RenyiELBO(alpha=0)`` computes the same bound but offers no
``differentiable_loss``, which pgm's trainer uses; this class does, with the
``k`` particles vectorized in one plate. It weights whole examples, so every
latent site must be local (inside the data plate).

Sites scaled by ``poutine.scale`` beyond the data plate's scale (a KL warm-up's
``beta`` on the latent sites) enter each log weight times that extra factor,
``log w = log p(x | z) + beta (log p(z) - log q(z | x))``: the annealed weights
that a warm-up uses, which bound ``log p(x)`` only at ``beta = 1``.
"""

from __future__ import annotations

import math

import pyro
import torch
from pyro import poutine
from pyro.infer import ELBO
from pyro.poutine.util import site_is_subsample


class IWAE_ELBO(ELBO):  # noqa: N801  (Pyro's naming: Trace_ELBO, TraceEnum_ELBO)
    """Importance-weighted ELBO with ``num_particles`` vectorized samples per example."""

    def __init__(self, num_particles: int = 5, max_plate_nesting: int = 1):
        super().__init__(num_particles=num_particles, max_plate_nesting=max_plate_nesting,
                         vectorize_particles=True)

    def _get_trace(self, model, guide, args, kwargs):  # ELBO's abstract hook; unused here
        raise NotImplementedError

    def differentiable_loss(self, model, guide, *args, **kwargs) -> torch.Tensor:
        dim = -(self.max_plate_nesting + 1)
        particles = pyro.plate("iwae_particles", self.num_particles, dim=dim)
        guide_tr = poutine.trace(particles(guide)).get_trace(*args, **kwargs)
        model_tr = poutine.trace(poutine.replay(particles(model), trace=guide_tr)).get_trace(
            *args, **kwargs)
        terms, data_scales = [], set()  # (signed log-density (k, B), its scale)
        for tr, sign in ((model_tr, 1.0), (guide_tr, -1.0)):
            for name, site in tr.nodes.items():
                if site["type"] != "sample" or site_is_subsample(site):
                    continue
                lp = site["fn"].log_prob(site["value"])  # (k, B): unscaled
                if lp.dim() < -dim:
                    raise ValueError(f"IWAE_ELBO: site {name!r} is outside the data plate; "
                                     "the importance-weighted bound needs local latents only")
                terms.append((sign * lp, float(site["scale"])))
                if site["is_observed"]:
                    data_scales.add(float(site["scale"]))
        if len(data_scales) != 1:
            raise ValueError(f"IWAE_ELBO: expected observed sites at one scale (the data "
                             f"plate's), got scales {sorted(data_scales)}")
        scale = data_scales.pop()
        log_w = sum(lp * (s / scale) for lp, s in terms)  # latent sites: times their beta
        bound = torch.logsumexp(log_w, dim) - math.log(self.num_particles)  # (B,)
        return -bound.sum() * scale

    def loss(self, model, guide, *args, **kwargs) -> float:
        with torch.no_grad():
            return self.differentiable_loss(model, guide, *args, **kwargs).item()

    def loss_and_grads(self, model, guide, *args, **kwargs) -> float:
        loss = self.differentiable_loss(model, guide, *args, **kwargs)
        loss.backward()
        return loss.item()
