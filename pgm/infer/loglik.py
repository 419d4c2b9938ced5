"""Pointwise log-likelihoods, marginal over enumerated discrete sites.

For each posterior draw, :func:`plan` reruns the model conditioned on the draw's
continuous latent values and decides what each observed site's log-likelihood is: its
own log-density, or, where discrete sites marked for enumeration lie behind it, its
log-density summed over them (``pyro.ops.contract`` over the enumerated dims, keeping the
plate dims). Observations tied together by enumerated sites (a Markov chain, a discrete
site shared by all the data) are grouped, and the group's *joint* log-likelihood is kept
per element of the plates they share. See :mod:`pgm.posterior` for what goes where.

References: F. Obermeyer et al., "Tensor variable elimination for plated factor graphs",
ICML 2019; L. Rabiner, "A tutorial on hidden Markov models", Proc. IEEE 77 (1989).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from pyro import poutine
from pyro.ops.contract import contract_to_tensor
from pyro.ops.packed import pack, unpack
from pyro.poutine.messenger import Messenger

from pgm.core.sites import (
    _sample_sites,
    batch_rank,
    deterministic_sites,
    is_deterministic,
    is_factor,
    obs_mask_parts,
    observation_mask,
    observed_sites,
    site_dims,
)
from pgm.core.tracing import trace


def _joint_name(sites: list[str]) -> str:
    if len(sites) <= 3:
        return "+".join(sites)
    return f"{sites[0]}+...+{sites[-1]} ({len(sites)} sites)"


def _on_frames(t: torch.Tensor, frames: list, reduce: Callable) -> torch.Tensor:
    """``t``, aligned right like a site's batch dims, over ``frames`` only (outermost
    first): every other dim is reduced with ``reduce(t, dim)`` (keeping it)."""
    keep = {f.dim for f in frames}
    for d in range(-t.dim(), 0):
        if d not in keep and t.shape[d] > 1:
            t = reduce(t, d)
    n = max([-f.dim for f in frames] + [t.dim()])
    t = t.reshape((1,) * (n - t.dim()) + tuple(t.shape))
    full = [1] * n
    for f in frames:
        full[n + f.dim] = f.size
    return t.expand(full).reshape([f.size for f in frames])


def _any(t: torch.Tensor, d: int) -> torch.Tensor:
    return t.any(d, keepdim=True)


def _sum(t: torch.Tensor, d: int) -> torch.Tensor:
    return t.sum(d, keepdim=True)


class Redraw(Messenger):
    """Draws the observed sites ``names`` anew (``poutine.uncondition`` for these only:
    deterministic and factor sites keep their values), each in the shape of its data: a
    distribution that an observation broadcasts (``Normal(mu, 1)`` observing 30 values
    outside any plate) is expanded to the observation's batch shape first."""

    def __init__(self, names: list[str]) -> None:
        super().__init__()
        self.names = frozenset(names)

    def _pyro_sample(self, msg) -> None:
        if msg["name"] in self.names and msg["is_observed"]:
            fn, value = msg["fn"], msg["value"]
            batch = value.shape[:max(value.dim() - len(fn.event_shape), 0)]
            full = torch.broadcast_shapes(batch, fn.batch_shape)
            if full != fn.batch_shape:
                msg["fn"] = fn.expand(full)
            msg["infer"] = {**msg["infer"], "was_observed": True, "obs": value}
            msg["is_observed"], msg["value"], msg["done"] = False, None, False


@dataclass
class _Group:
    """Observed sites whose log-likelihood is contracted jointly over enumerated sites."""

    var: str
    sites: list[str]
    prior: list[str]  # the other factors that carry the group's enumerated dims
    frames: list  # the plates it stays pointwise over, outermost first
    normalize: bool  # prior holds more than the enumerated sites' own distributions


@dataclass
class Plan:
    """What goes where, from the trace of the first draw (the model's structure is static)."""

    latent: list[str]
    deterministic: list[str]
    observed: list[str]
    dims: dict[str, list[str]]
    coords: dict[str, Any]
    keep: dict[str, np.ndarray] = field(default_factory=dict)  # var -> entries kept
    direct: list[str] = field(default_factory=list)
    groups: list[_Group] = field(default_factory=list)
    ll_dims: dict[str, list[str]] = field(default_factory=dict)

    @property
    def posterior(self) -> list[str]:
        return self.latent + self.deterministic


def _classify(tr: poutine.Trace, drawn: set[str]) -> tuple[list[str], list[str], list[str]]:
    """``(latent, deterministic, observed)`` of a trace conditioned on ``drawn`` sites
    (conditioning marks them observed; they are latent all the same)."""
    latent = []
    for n, s in _sample_sites(tr):
        if s["infer"].get("_pgm_internal") or is_deterministic(s) or is_factor(s):
            continue
        if (n in drawn or s["infer"].get("_pgm_unconstrained")
                or (not s["is_observed"] and not s["infer"].get("is_auxiliary"))):
            latent.append(n)
    observed = [n for n in observed_sites(tr) if n not in drawn]
    return latent, deterministic_sites(tr), observed


def make_plan(tr: poutine.Trace, draw: Mapping[str, Any], model: Callable, data: Mapping,
          enum_dim: int | None, coords: Mapping[str, Any] | None) -> Plan:
    latent, deterministic, observed = _classify(tr, set(draw))
    dims, default = site_dims(tr, latent + deterministic + observed)
    for k, v in (coords or {}).items():
        if k in default and len(v) != len(default[k]):
            raise ValueError(f"coords[{k!r}]: expected {len(default[k])} values (the size "
                             f"of that dim), got {len(v)}")
    plan = Plan(latent, deterministic, observed, dims, {**default, **(coords or {})})
    for _, unobserved in obs_mask_parts(tr).values():
        mask = observation_mask(tr.nodes[unobserved]) if unobserved in latent else None
        if mask is not None:
            plan.keep[unobserved] = mask.numpy()
    plan.direct = list(observed)
    if enum_dim is not None:
        etr = enum_trace(model, data, draw, enum_dim)
        plan.groups = _groups(etr, observed)
        tied = {s for g in plan.groups for s in g.sites}
        plan.direct = [s for s in observed if s not in tied]
    for s in plan.direct:
        site = tr.nodes[s]
        plan.ll_dims[s] = dims[s][:batch_rank(site)]
        mask = observation_mask(site)
        if mask is not None:
            plan.keep[("ll", s)] = mask.numpy()
    for g in plan.groups:
        plan.ll_dims[g.var] = [f.name for f in g.frames]
        masks = [observation_mask(tr.nodes[s]) for s in g.sites]
        if any(m is not None for m in masks):
            has = torch.zeros([f.size for f in g.frames], dtype=torch.bool)
            for s, m in zip(g.sites, masks, strict=True):
                m = (torch.ones(tr.nodes[s]["fn"].batch_shape, dtype=torch.bool)
                     if m is None else m)
                has |= _on_frames(m, g.frames, _any)
            if not bool(has.all()):
                plan.keep[("ll", g.var)] = has.numpy()
        for f in g.frames:
            plan.coords.setdefault(f.name, np.arange(f.size))
    return plan


def enum_trace(model: Callable, data: Mapping, draw: Mapping, enum_dim: int) -> poutine.Trace:
    fn = poutine.enum(poutine.condition(model, draw), first_available_dim=enum_dim)
    tr = trace(fn, data, "model (enumerated)")
    tr.symbolize_dims()
    return tr


def _factor(site: Mapping[str, Any]) -> torch.Tensor:
    """A site's log-density, masked (masked entries 0) but not scaled, packed."""
    lp = site["fn"].log_prob(site["value"])
    if site["mask"] is not None:
        lp = torch.where(torch.as_tensor(site["mask"]), lp, lp.new_zeros(()))
    return pack(lp, site["infer"]["_dim_to_symbol"])


def _ordinal(tr: poutine.Trace, site: Mapping[str, Any]) -> frozenset:
    return frozenset(tr.plate_to_symbol[f.name] for f in site["cond_indep_stack"]
                     if f.vectorized)


def _groups(tr: poutine.Trace, observed: list[str]) -> list[_Group]:
    """Observed sites tied together by enumerated dims, from an enumerated trace."""
    plate_syms = set(tr.plate_to_symbol.values())
    enum_syms = set(tr.symbol_to_dim) - plate_syms
    parent = {s: s for s in enum_syms}

    def root(s: str) -> str:
        while parent[s] != s:
            parent[s] = parent[parent[s]]
            s = parent[s]
        return s

    names = [n for n, s in _sample_sites(tr) if not is_deterministic(s)]
    syms = {n: set(_factor(tr.nodes[n])._pyro_dims) & enum_syms for n in names}
    for n in names:
        linked = sorted(syms[n])
        for a in linked[1:]:
            parent[root(a)] = root(linked[0])
    enum_sites = set(tr.nodes) & {n for n, s in _sample_sites(tr)
                                  if s["infer"].get("_enumerate_dim") is not None}
    frames = {tr.plate_to_symbol[f.name]: f for n in names
              for f in tr.nodes[n]["cond_indep_stack"] if f.vectorized}
    by_root: dict[str, _Group] = {}
    for n in observed:
        if not syms.get(n):
            continue
        r = root(next(iter(syms[n])))
        if r not in by_root:
            prior = [m for m in names if m not in observed and syms[m]
                     and root(next(iter(syms[m]))) == r]
            by_root[r] = _Group("", [], prior, [],
                                any(m not in enum_sites for m in prior))
        by_root[r].sites.append(n)
    groups = []
    for g in by_root.values():
        common = frozenset.intersection(*(_ordinal(tr, tr.nodes[m]) for m in g.prior + g.sites))
        g.frames = sorted((frames[s] for s in common), key=lambda f: f.dim)
        g.var = _joint_name(g.sites)
        groups.append(g)
    return groups


def _contract(tr: poutine.Trace, names: list[str], factors: dict, target: frozenset,
              enum_syms: set) -> torch.Tensor:
    tree: OrderedDict = OrderedDict()
    for n in names:
        tree.setdefault(_ordinal(tr, tr.nodes[n]), []).append(factors[n])
    return contract_to_tensor(tree, enum_syms, target_ordinal=target)


def group_loglik(tr: poutine.Trace, groups: list[_Group]) -> dict[str, torch.Tensor]:
    enum_syms = set(tr.symbol_to_dim) - set(tr.plate_to_symbol.values())
    needed = {n for g in groups for n in g.prior + g.sites}
    factors = {n: _factor(tr.nodes[n]) for n in needed}
    out = {}
    for g in groups:
        target = frozenset(tr.plate_to_symbol[f.name] for f in g.frames)
        t = unpack(_contract(tr, g.prior + g.sites, factors, target, enum_syms),
                   tr.symbol_to_dim)
        if g.normalize:
            t = t - unpack(_contract(tr, g.prior, factors, target, enum_syms),
                           tr.symbol_to_dim)
        out[g.var] = _on_frames(torch.as_tensor(t), g.frames, _sum)
    return out


def direct_loglik(tr: poutine.Trace, sites: list[str]) -> dict[str, torch.Tensor]:
    out = {}
    for s in sites:
        site = tr.nodes[s]
        lp = site["fn"].log_prob(site["value"])
        out[s] = lp.expand(site["value"].shape[:batch_rank(site)])
    return out


