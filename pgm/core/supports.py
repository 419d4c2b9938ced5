"""Flat priors and supports that depend on other sites, for automatic guides and NUTS.

* **Flat priors** (``dist.ImproperUniform``) have no draws; their sites start at a
  feasible point (:func:`feasible`), in automatic guides, NUTS and the first trace alike.
* **Supports that depend on other sites** (``beta ~ Uniform(0, 1 - alpha)``) cannot be
  followed by an automatic guide, whose transforms to unconstrained space are fixed at
  the first trace; such a site ``x`` is sampled instead as ``x_unconstrained`` (a flat
  prior on the real line, hidden from the results), mapped into the support of the
  moment and weighted by the density and the Jacobian (:class:`Unconstrain`), so that
  ``x`` always lies in its support (Stan does the same for its bounded parameters).

References: Stan Development Team, *Stan Reference Manual*, "Constraint transforms";
Pyro's ``poutine.reparam`` for the mechanism of moving a site's randomness elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pyro
import pyro.distributions as dist
import torch
from pyro import poutine
from pyro.distributions import constraints
from pyro.distributions.torch_distribution import ExpandedDistribution, MaskedDistribution
from pyro.infer.autoguide.initialization import InitMessenger
from pyro.poutine.messenger import Messenger
from torch.distributions import biject_to, transform_to
from torch.distributions.constraints import Constraint

from pgm.core.seeding import seeded
from pgm.core.sites import UNCONSTRAINED, _sample_sites, is_deterministic, is_factor


def improper(fn: Any) -> bool:
    """Whether ``fn`` is a flat prior (``dist.ImproperUniform``, possibly expanded, masked or
    reinterpreted), which has no draws."""
    while isinstance(fn, (dist.Independent, MaskedDistribution, ExpandedDistribution)):
        fn = fn.base_dist
    return isinstance(fn, dist.ImproperUniform)


def feasible(fn: Any, radius: float = 0.0) -> torch.Tensor:
    """A point in the support of ``fn``, of its shape ``batch_shape + event_shape``.

    ``transform_to(support)`` of zeros in unconstrained space (``radius=0``), or of a
    uniform draw in ``(-radius, radius)``; it needs no draw from ``fn`` itself.
    """
    t = transform_to(fn.support)
    shape = t.inverse_shape(fn.batch_shape + fn.event_shape)
    u = torch.zeros(shape) if radius == 0 else (2 * torch.rand(shape) - 1) * radius
    return t(u).detach()


class InitImproper(Messenger):
    """Gives every unobserved flat-prior site (:func:`improper`) a feasible value
    (:func:`feasible`), leaving every other site to the handlers around it.

    Innermost, it acts before an automatic guide's ``InitMessenger``, which would draw from
    the distribution (``init_to_sample``, ``init_to_median`` and ``init_to_feasible`` all
    do, and a flat prior has no draws).
    """

    def _pyro_sample(self, msg) -> None:
        if msg["value"] is None and not msg["is_observed"] and improper(msg["fn"]):
            msg["value"] = feasible(msg["fn"])


def init_improper(default: Callable) -> Callable:
    """An init strategy: ``default`` for proper sites, a uniform point in ``(-2, 2)``
    of unconstrained space for flat priors (:func:`feasible`), as ``init_to_uniform``."""

    def init(site):
        if improper(site["fn"]):
            return feasible(site["fn"], radius=2.0)
        return default(site)

    return init


def _random_point(site) -> torch.Tensor:
    fn = site["fn"]
    if fn.support.is_discrete:
        return fn.sample().detach()
    return feasible(fn, radius=2.0)


def _same_constraint(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, (torch.Tensor, int, float)) and not isinstance(a, bool):
        try:
            x, y = torch.as_tensor(a), torch.as_tensor(b)
            return x.shape == y.shape and bool(torch.equal(x, y))
        except (TypeError, RuntimeError):
            return True
    if isinstance(a, Constraint):
        va, vb = vars(a), vars(b)
        return va.keys() == vb.keys() and all(_same_constraint(va[k], vb[k]) for k in va)
    try:
        return bool(a == b)
    except (TypeError, RuntimeError):
        return True


def dependent_supports(fn: Callable, kwargs: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """Sample sites whose support moves with the values of other sites.

    The model is traced twice from two random points (each continuous latent site at a
    uniform point of ``(-2, 2)`` in unconstrained space, discrete ones drawn), under a fixed
    seed that leaves the caller's generators alone (:func:`seeded`), and the supports of
    each site compared.

    :returns: ``(latent, observed)``: the continuous latent sites and the observed sites
        whose supports differ; both empty when the model cannot be traced so.
    """
    try:
        with seeded(2_718_281), poutine.block():
            a, b = (poutine.trace(InitMessenger(_random_point)(fn)).get_trace(**kwargs)
                    for _ in range(2))
    except Exception:  # the first trace, with the user's values, has already passed
        return [], []
    latent, observed = [], []
    for name, site in _sample_sites(a):
        other = b.nodes.get(name)
        if other is None or is_deterministic(site) or is_factor(site):
            continue
        try:
            same = _same_constraint(site["fn"].support, other["fn"].support)
            discrete = site["fn"].support.is_discrete
        except NotImplementedError:
            continue
        if not same:
            if site["is_observed"]:
                observed.append(name)
            elif not discrete:
                latent.append(name)
    return latent, observed


class Unconstrain(Messenger):
    """Samples the latent sites ``sites`` through a flat site on the real line.

    For a site ``x ~ p`` whose support depends on other sites: ``u = x_unconstrained`` is
    drawn from a flat prior (:data:`UNCONSTRAINED`, marked ``_pgm_internal``),
    ``x = T(u)`` with ``T = biject_to(p.support)`` of this very run, and ``x`` becomes an
    observed ``Delta(x, log_density = log p(x) + log |dT/du|)`` (marked
    ``_pgm_unconstrained``). The joint density of ``u`` is that of ``x`` changed by the
    Jacobian, so the model is the same; an automatic guide or NUTS sees only ``u``, on the
    real line, and ``x`` cannot leave its support.

    Apply it innermost (around the user's function), so that plates act on ``x`` first and
    conditioning, replay and tracing see ``u``.
    """

    def __init__(self, sites: tuple[str, ...] | list[str]) -> None:
        super().__init__()
        self.sites = frozenset(sites)

    def _pyro_sample(self, msg) -> None:
        if msg["name"] not in self.sites or msg["is_observed"] or msg["value"] is not None:
            return
        fn, name = msg["fn"], msg["name"] + UNCONSTRAINED
        t = biject_to(fn.support)
        batch = fn.batch_shape
        full = t.inverse_shape(batch + fn.event_shape)
        u = pyro.sample(name, dist.ImproperUniform(constraints.real, batch, full[len(batch):]),
                        infer={"_pgm_internal": True})
        value = t(u)
        ladj = t.log_abs_det_jacobian(u, value)
        extra = ladj.dim() - len(batch)
        if extra > 0:
            ladj = ladj.sum(tuple(range(-extra, 0)))
        density = fn.log_prob(value) + ladj
        msg["fn"] = dist.Delta(value, log_density=density, event_dim=fn.event_dim)
        msg["value"], msg["is_observed"] = value, True
        msg["infer"] = {**msg["infer"], "_pgm_unconstrained": name}


def unconstrained(fn: Callable, sites: tuple[str, ...] | list[str]) -> Callable:
    """``fn`` with :class:`Unconstrain` innermost for ``sites`` (``fn`` itself if none)."""
    if not sites:
        return fn
    handler = Unconstrain(sites)

    def model(*args: Any, **kwargs: Any) -> Any:
        with handler:
            return fn(*args, **kwargs)

    model.__name__ = getattr(fn, "__name__", type(fn).__name__)
    model.__wrapped__ = fn
    return model


def _with_init(fn: Callable) -> Callable:
    def model(**kwargs: Any) -> Any:
        with InitImproper():
            return fn(**kwargs)

    return model
