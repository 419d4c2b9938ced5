"""Inspection: what a fitted model learned, as ArviZ ``InferenceData``.

* :func:`posterior`: a fitted :class:`~pgm.core.program.Program` (a user's model and
  guide) as ``InferenceData`` with ``posterior`` (chain, draw and the model's plates as
  dims), ``posterior_predictive``, ``observed_data`` and pointwise ``log_likelihood``, so
  ``az.summary``, ``az.plot_trace``, ``az.plot_pair``, ``az.plot_ppc`` and ``az.loo`` work.
* :func:`latent_posterior`: the amortized posterior ``q(z | x)`` of a built-in latent
  model (the VAE) for chosen images, with the reconstructions alongside.

Dimensions are named after the plates a site sits in (:func:`site_dims`); NUTS results
get the same names (:func:`pgm.infer.mcmc.nuts`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import arviz as az
import numpy as np
import pyro
import torch
from pyro import poutine
from pyro.infer import Predictive, infer_discrete

from pgm.core import GenerativeModel
from pgm.core.program import Program, latent_sites, observed_sites, trace
from pgm.errors import check_positive_int


def site_dims(tr: poutine.Trace, sites: list[str]) -> tuple[dict, dict]:
    """ArviZ ``dims`` and ``coords`` for ``sites`` of a model trace, from its plates.

    A batch dimension that a plate owns is named after the plate (coordinates
    ``0..size-1``); other dimensions are ``<site>_dim_<i>``.
    """
    dims, coords = {}, {}
    for name in sites:
        site = tr.nodes[name]
        shape = site["value"].shape
        nbatch = len(shape) - len(site["fn"].event_shape) if site["type"] == "sample" else 0
        plates = {f.dim: f for f in site.get("cond_indep_stack", ()) if f.vectorized}
        names = []
        for i, size in enumerate(shape):
            f = plates.get(i - nbatch) if i < nbatch else None
            if f is not None and f.size == size:
                names.append(f.name)
                coords[f.name] = np.arange(size)
            else:
                names.append(f"{name}_dim_{len(names)}")
        dims[name] = names
    return dims, coords


def _stack(draws: list[dict[str, torch.Tensor]], chains: int) -> dict[str, np.ndarray]:
    """Per-draw dicts -> ``{site: (chains, draws / chains, ...)}``."""
    return {k: torch.stack([d[k] for d in draws]).unflatten(0, (chains, -1)).numpy()
            for k in draws[0]}


@torch.no_grad()
def predictive(model: Callable, data: Mapping[str, Any], draws: list[dict[str, torch.Tensor]],
               *, chains: int, enumerated: bool = False, max_plate_nesting: int = 0,
               coords: Mapping[str, object] | None = None,
               **groups: Mapping[str, np.ndarray]) -> az.InferenceData:
    """Posterior draws of a model's continuous latent sites as ``InferenceData``.

    For each draw (in chain-major order) the model is run conditioned on it: enumerated
    discrete sites are sampled from their exact conditional (``infer_discrete``), the
    observed sites' pointwise log-densities are read off, and then new observations are
    drawn given every latent value (the posterior predictive). Shared by SVI
    (:func:`posterior`) and NUTS (:func:`pgm.infer.mcmc.nuts`), so both give the same
    groups and dims.

    :param model: the Pyro model, called as ``model(**data)``.
    :param draws: ``len(draws)`` dicts ``{site: value}``, a multiple of ``chains``.
    :param groups: further ``az.from_dict`` groups (``sample_stats=...``).
    """
    full, ppc, loglik = [], [], []
    for draw in draws:
        fn = poutine.condition(model, draw)
        if enumerated:
            fn = infer_discrete(fn, first_available_dim=-1 - max_plate_nesting)
        tr = trace(fn, data, "model")
        free = set(latent_sites(tr))
        latent = [s for s in tr.nodes if s in draw or s in free]
        observed = [s for s in observed_sites(tr) if s not in draw]
        values = {s: tr.nodes[s]["value"] for s in latent}
        full.append(values)
        loglik.append({s: tr.nodes[s]["fn"].log_prob(tr.nodes[s]["value"]) for s in observed})
        # uncondition inside, condition outside: the observed sites are drawn anew while
        # the latent sites keep this draw's values (the other order redraws them too)
        new = trace(poutine.condition(poutine.uncondition(model), values), data, "model")
        ppc.append({s: new.nodes[s]["value"] for s in observed})
    dims, default = site_dims(tr, latent + observed)
    return az.from_dict(
        posterior=_stack(full, chains),
        posterior_predictive=_stack(ppc, chains),
        log_likelihood=_stack(loglik, chains),
        observed_data={s: tr.nodes[s]["value"].numpy() for s in observed},
        coords={**default, **(coords or {})},
        dims=dims,
        **groups,
    )


@torch.no_grad()
def posterior(program: Program, num_samples: int = 1000, seed: int = 0, chains: int = 4,
              coords: Mapping[str, object] | None = None) -> az.InferenceData:
    """The fitted guide's posterior of a user's model as ArviZ ``InferenceData``.

    Each of the ``num_samples`` draws samples the guide, then the model's enumerated
    discrete sites from their exact conditional (``infer_discrete``), then new
    observations given all latent values (the posterior predictive; :func:`predictive`).

    :param program: a :class:`~pgm.core.program.Program`, usually after :func:`pgm.fit`.
    :param chains: the draws are independent; they are split into this many chains of
        ``num_samples / chains`` draws so that ArviZ's diagnostics, which need two chains
        or more, run (``r_hat`` should read 1.00).
    :param coords: coordinate values for the plates' dims (by plate name), replacing
        ``0..size-1``.
    :returns: groups ``posterior`` (every latent site, dims ``(chain, draw, *plates)``),
        ``posterior_predictive`` and ``log_likelihood`` (every observed site, pointwise
        log-density given the draw's latent values) and ``observed_data``.
    """
    check_positive_int(chains, "chains")
    if not (isinstance(num_samples, int) and num_samples >= chains
            and num_samples % chains == 0):
        raise ValueError(f"num_samples: expected a positive multiple of chains={chains}, "
                         f"got {num_samples!r}")
    pyro.set_rng_seed(seed)
    with program.scope():
        draws = []
        for _ in range(num_samples):
            g = trace(program._guide_fn, program.data, "guide")
            draws.append({s: g.nodes[s]["value"] for s in program.guided})
        idata = predictive(program._model, program.data, draws, chains=chains,
                           enumerated=bool(program.enumerated),
                           max_plate_nesting=program.max_plate_nesting, coords=coords)
    idata.posterior.attrs["pgm_guide"] = str(program.config["guide"])
    return idata


@torch.no_grad()
def latent_posterior(model: GenerativeModel, x: torch.Tensor, num_samples: int = 500,
                     site: str = "z") -> az.InferenceData:
    """The guide's posterior over ``site`` for images ``x`` ``(B, D)``.

    Groups: ``posterior`` (``z`` with dims ``image``, ``latent``), ``posterior_predictive``
    (``x``: one Bernoulli reconstruction per draw, dims ``image``, ``pixel``) and
    ``observed_data``. One chain of ``num_samples`` draws.
    """
    x = model.check(x)
    pred = Predictive(model.model, guide=model.guide, num_samples=num_samples,
                      return_sites=(site,), parallel=True)
    z = pred(x)[site]  # (S, B, L)
    recon = model.decoder(z).sigmoid().bernoulli()  # (S, B, D)
    coords = {"image": list(range(x.shape[0])), "latent": list(range(z.shape[-1])),
              "pixel": list(range(x.shape[1]))}
    return az.from_dict(
        posterior={site: z[None].numpy()},
        posterior_predictive={"x": recon[None].numpy()},
        observed_data={"x": x.numpy()},
        coords=coords,
        dims={site: ["image", "latent"], "x": ["image", "pixel"]},
    )
