"""What the sites of a Pyro trace are: latent, observed, deterministic, factor, masked.

A user's model mixes kinds of sample sites that results must keep apart:

* **latent** sites are what a guide or a sampler draws (plates' subsample sites and
  auxiliary sites left out);
* **observed** sites hold data, and only they have a pointwise log-likelihood; an
  observation with ``obs_mask=`` is split by Pyro into ``NAME_observed`` (observed, masked
  to the observed entries) and ``NAME_unobserved`` (latent: the imputed entries), joined
  by a deterministic ``NAME``;
* ``pyro.deterministic`` sites are functions of the others, not data;
* ``pyro.factor`` sites add a log-factor to the joint density and hold no data.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pyro.distributions as dist
import torch
from pyro import poutine
from pyro.distributions.torch_distribution import ExpandedDistribution, MaskedDistribution
from pyro.poutine.subsample_messenger import _Subsample

#: suffix of the flat site that :class:`~pgm.core.supports.Unconstrain` samples in place
#: of a site whose support moves
UNCONSTRAINED = "_unconstrained"


def _sample_sites(tr: poutine.Trace) -> Iterator[tuple[str, dict]]:
    return ((n, s) for n, s in tr.nodes.items()
            if s["type"] == "sample" and not isinstance(s["fn"], _Subsample))


def is_deterministic(site: Mapping[str, Any]) -> bool:
    """A ``pyro.deterministic`` site: a function of other sites, recorded."""
    return bool(site["infer"].get("_deterministic"))


def is_factor(site: Mapping[str, Any]) -> bool:
    """A ``pyro.factor`` site: a log-factor added to the joint density, with no data."""
    return bool(site["is_observed"] and not is_deterministic(site)
                and (isinstance(site["fn"], dist.Unit) or site["infer"].get("is_auxiliary")))


def enumerated(tr: poutine.Trace) -> list[str]:
    """Sample sites of ``tr`` marked for parallel enumeration."""
    return [n for n, s in tr.nodes.items() if s["type"] == "sample"
            and s["infer"].get("enumerate") == "parallel" and not s["is_observed"]]


def sampled_sites(tr: poutine.Trace) -> list[str]:
    """The sites a guide or a sampler draws: unobserved sample sites, plates' subsample
    sites and auxiliary sites left out, pgm's own :data:`UNCONSTRAINED` sites kept."""
    return [n for n, s in _sample_sites(tr)
            if not s["is_observed"] and not s["infer"].get("is_auxiliary")]


def latent_sites(tr: poutine.Trace) -> list[str]:
    """The model's latent sites as its author declared them.

    Unobserved sample sites (plates' subsample sites and auxiliary sites left out), with a
    site that :class:`~pgm.core.supports.Unconstrain` samples through
    ``NAME_unconstrained`` listed as ``NAME``; ``obs_mask=`` sites contribute their
    imputed part ``NAME_unobserved``.
    """
    return [n for n, s in _sample_sites(tr)
            if (not s["is_observed"] and not s["infer"].get("is_auxiliary")
                and not s["infer"].get("_pgm_internal"))
            or s["infer"].get("_pgm_unconstrained")]


def observation_mask(site: Mapping[str, Any]) -> torch.Tensor | None:
    """Which entries of a site's batch shape count, or ``None`` when all of them do.

    Combines the site's ``poutine.mask`` (which ``obs_mask=`` uses) with the masks of its
    distribution (``.mask(m)``, also under ``.to_event`` and ``.expand``): a boolean
    tensor of shape ``fn.batch_shape``.
    """
    fn = site["fn"]
    mask = _dist_mask(fn)
    if site.get("mask") is not None:
        m = torch.as_tensor(site["mask"], dtype=torch.bool)
        mask = m if mask is None else mask & m
    if mask is None:
        return None
    mask = mask.expand(torch.broadcast_shapes(mask.shape, fn.batch_shape))
    return None if bool(mask.all()) else mask


def _dist_mask(fn: Any) -> torch.Tensor | None:
    if isinstance(fn, MaskedDistribution):
        inner = _dist_mask(fn.base_dist)
        m = torch.as_tensor(fn._mask, dtype=torch.bool)
        return m if inner is None else inner & m
    if isinstance(fn, dist.Independent):
        inner = _dist_mask(fn.base_dist)
        if inner is None:
            return None
        k = fn.reinterpreted_batch_ndims
        inner = inner.expand(torch.broadcast_shapes(inner.shape, fn.base_dist.batch_shape))
        return inner.flatten(-k).any(-1) if k else inner
    if isinstance(fn, ExpandedDistribution):
        return _dist_mask(fn.base_dist)
    return None


def observed_sites(tr: poutine.Trace) -> list[str]:
    """The model's observations: observed sample sites that hold data.

    Left out: ``pyro.deterministic`` sites, ``pyro.factor`` sites (no data), sites that
    :class:`~pgm.core.supports.Unconstrain` rewrote, and sites masked out entirely (``mask=False``).
    """
    out = []
    for n, s in _sample_sites(tr):
        if (not s["is_observed"] or is_deterministic(s) or is_factor(s)
                or s["infer"].get("_pgm_unconstrained")):
            continue
        mask = observation_mask(s)
        if mask is None or bool(mask.any()):
            out.append(n)
    return out


def obs_mask_parts(tr: poutine.Trace) -> dict[str, tuple[str, str]]:
    """Sites split by ``pyro.sample(NAME, ..., obs_mask=m)``:
    ``{NAME: ("NAME_observed", "NAME_unobserved")}``."""
    return {n: (f"{n}_observed", f"{n}_unobserved") for n, s in _sample_sites(tr)
            if is_deterministic(s) and f"{n}_observed" in tr.nodes
            and f"{n}_unobserved" in tr.nodes}


def deterministic_sites(tr: poutine.Trace) -> list[str]:
    """``pyro.deterministic`` sites, less those that join the parts of an ``obs_mask=``
    site (its imputed part is latent, its observed part observed)."""
    joins = obs_mask_parts(tr)
    return [n for n, s in _sample_sites(tr) if is_deterministic(s) and n not in joins]


def factor_sites(tr: poutine.Trace) -> list[str]:
    """``pyro.factor`` sites."""
    return [n for n, s in _sample_sites(tr) if is_factor(s)]


def plate_nesting(tr: poutine.Trace) -> int:
    """How many batch dimensions the model's plates use (``max_plate_nesting``)."""
    return max((-f.dim for s in tr.nodes.values() if s["type"] == "sample"
                for f in s["cond_indep_stack"] if f.vectorized and f.dim is not None),
               default=0)


def batch_rank(site: Mapping[str, Any]) -> int:
    """How many leading dims of a site's value are batch dims.

    ``pyro.deterministic`` makes every dim of its value an event dim unless told otherwise
    (``event_dim=value.ndim``); for such a site the longest run of trailing dims that the
    enclosing plates own (same position, same size) counts as batch dims instead.
    """
    value = site["value"]
    nbatch = max(value.dim() - len(site["fn"].event_shape), 0)
    if is_deterministic(site) and nbatch == 0:
        plates = {f.dim: f.size for f in site["cond_indep_stack"] if f.vectorized}
        while nbatch < value.dim() and plates.get(-1 - nbatch) == value.shape[-1 - nbatch]:
            nbatch += 1
    return nbatch


def site_dims(tr: poutine.Trace, sites: list[str]) -> tuple[dict, dict]:
    """ArviZ ``dims`` and ``coords`` for ``sites`` of a model trace, from its plates.

    A batch dimension that a plate owns is named after the plate (coordinates
    ``0..size-1``); every other dimension, batch or event, is ``<site>_dim_<i>`` with ``i``
    its position in the site's value (coordinates ``0..size-1``). A site's batch dims
    come first, so its log-likelihood's dims are the first ones of its value's.
    """
    dims, coords = {}, {}
    for name in sites:
        site = tr.nodes[name]
        shape = site["value"].shape
        nbatch = batch_rank(site)
        plates = {f.dim: f for f in site.get("cond_indep_stack", ()) if f.vectorized}
        names = []
        for i, size in enumerate(shape):
            f = plates.get(i - nbatch) if i < nbatch else None
            if f is not None and f.size == size:
                names.append(f.name)
            else:
                names.append(f"{name}_dim_{i}")
            coords.setdefault(names[-1], np.arange(size))
        dims[name] = names
    return dims, coords
