"""Posteriors: what a fitted model learned, as ArviZ ``InferenceData``.

(This module was ``pgm.inspect``, a name that shadowed the standard library's
:mod:`inspect`; that name is kept as a deprecated alias for one release.)

* :func:`posterior`: a fitted :class:`~pgm.core.program.Program` (a user's model and
  guide) as ``InferenceData`` with ``posterior`` (chain, draw and the model's plates as
  dims), ``posterior_predictive``, ``observed_data`` and pointwise ``log_likelihood``, so
  ``az.summary``, ``az.plot_trace``, ``az.plot_pair``, ``az.plot_ppc`` and ``az.loo`` work.
* :func:`predict`: the fitted program at new inputs (ArviZ's ``predictions`` group).
* :func:`summarize`: ``az.summary`` of the latent and deterministic sites and ``az.loo``
  of each observation, what ``pgm inspect`` prints (a :class:`Report`).
* :func:`latent_posterior`: the amortized posterior ``q(z | x)`` of a built-in latent
  model (the VAE) for chosen images, with the reconstructions alongside.

What goes where (:func:`predictive`, shared with :func:`pgm.infer.mcmc.nuts`):

* ``posterior``: the latent sites (enumerated discrete ones drawn from their exact
  conditional, ``infer_discrete``) and the ``pyro.deterministic`` sites. The imputed part
  ``NAME_unobserved`` of an ``obs_mask=`` site keeps its missing entries only, along one
  dim ``NAME_unobserved_entry`` whose coordinates are the entries' flat (C-order) indices
  into the site's batch shape.
* ``observed_data`` and ``posterior_predictive``: the sites that hold data
  (:func:`~pgm.core.sites.observed_sites`); ``pyro.factor`` and deterministic sites are
  not data. Masked entries (``obs_mask=``, ``poutine.mask``, ``.mask(m)``) are NaN in
  ``observed_data``; ``posterior_predictive`` draws every entry.
* ``log_likelihood``: for each observed site, its log-density given the draw's
  continuous latent values, **marginal over the enumerated discrete sites**, one value per
  entry of its batch shape. When enumerated sites tie observations together (a discrete
  site outside the observations' plate, a Markov chain over ``pyro.markov`` steps, two
  observed sites sharing a discrete parent), entries are not separable; the variable then
  holds the *joint* log-likelihood of the tied observations per element of the plates they
  all share (per sequence for an HMM over a ``"data"`` plate of sequences; one value for
  all the data when nothing is shared), and is named ``"A+B"`` after its sites (``"A+...+Z
  (n sites)"`` for more than three; the attribute ``pgm_sites`` lists them). Masked
  entries are left out: a site with masked entries gets one dim ``VAR_entry`` over its
  observed entries (flat indices as above), so ``az.loo`` works. ``pyro.factor`` sites are
  not in it: their log-factor belongs to the joint density, not to any datum; within a
  group tied by enumeration, factors and continuous sites that depend on the enumerated
  sites enter as ``log p(y | c) = log sum_z p(z, c, y) - log sum_z p(z, c)``.

Dimensions are named after the plates a site sits in (:func:`site_dims`), other
dimensions ``<site>_dim_<i>``, the same in every group.

References: A. Vehtari, A. Gelman, J. Gabry, "Practical Bayesian model evaluation using
leave-one-out cross-validation and WAIC", Statistics and Computing 27 (2017); F. Obermeyer
et al., "Tensor variable elimination for plated factor graphs", ICML 2019 (the
contraction, ``pyro.ops.contract``); L. Rabiner, "A tutorial on hidden Markov models",
Proc. IEEE 77 (1989) (the forward algorithm the HMM case reduces to).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import arviz as az
import numpy as np
import pyro
import torch
import xarray as xr
from arviz.data.base import make_attrs
from pyro import poutine
from pyro.infer import Predictive, infer_discrete

from pgm.core import GenerativeModel
from pgm.core.program import Program, as_data
from pgm.core.seeding import seeded
from pgm.core.sites import (
    _sample_sites,
    batch_rank,
    is_factor,
    observation_mask,
    observed_sites,
    sampled_sites,
    site_dims,
)
from pgm.core.supports import _with_init
from pgm.core.tracing import trace
from pgm.errors import InferenceDataError, check_positive_int
from pgm.infer.loglik import (
    Plan,
    Redraw,
    direct_loglik,
    enum_trace,
    group_loglik,
    make_plan,
)
from pgm.infer.psis import GuideCheck, check_guide


def _check_counts(num_samples: object, chains: object) -> None:
    check_positive_int(chains, "chains")
    if not (isinstance(num_samples, int) and not isinstance(num_samples, bool)
            and num_samples >= chains and num_samples % chains == 0):
        raise ValueError(f"num_samples: expected a positive multiple of chains={chains}, "
                         f"got {num_samples!r}")


def _stack(draws: list[dict[str, torch.Tensor]], chains: int, keep: Mapping | None = None,
           tag: str | None = None) -> dict[str, np.ndarray]:
    """Per-draw dicts -> ``{site: (chains, draws / chains, ...)}``; entries kept by
    ``keep[site]`` (or ``keep[(tag, site)]``) only, flattened into one dim."""
    out = {}
    for k in draws[0]:
        a = torch.stack([d[k] for d in draws]).numpy()
        mask = (keep or {}).get((tag, k) if tag else k)
        if mask is not None:
            a = a[:, mask]
        out[k] = a.reshape((chains, -1) + a.shape[1:])
    return out


def _raw(draws: list[dict[str, torch.Tensor]], chains: int) -> dict[str, Any]:
    try:
        return _stack(draws, chains)
    except Exception:  # shapes that do not stack: keep the per-draw values as they are
        return {k: [d[k] for d in draws] for k in draws[0]} if draws else {}


def _dataset(arrays: Mapping[str, np.ndarray], dims: Mapping[str, list[str]],
             coords: Mapping[str, Any], lead: list[str], sizes: tuple[int, ...] = (),
             attrs: Mapping[str, Any] | None = None) -> xr.Dataset:
    """A Dataset whose variables have dims ``lead + dims[var]``; missing coordinates are
    ``0..size-1``."""
    variables = {}
    for k, a in arrays.items():
        d = list(lead) + list(dims[k])
        if len(d) != a.ndim:
            raise ValueError(f"{k}: expected dims {d} for an array of shape {a.shape}")
        c = {n: np.asarray(coords[n]) if n in coords else np.arange(size)
             for n, size in zip(d, a.shape, strict=True)}
        variables[k] = xr.DataArray(a, dims=d, coords=c)
    ds = xr.Dataset(variables)
    if not variables and lead:
        ds = ds.assign_coords({n: np.arange(size) for n, size in zip(lead, sizes, strict=True)})
    ds.attrs.update(make_attrs(dict(attrs or {}), library=pyro))
    return ds


def _entry_dims(plan: Plan, var: str, base: list[str], mask: np.ndarray | None,
                event: list[str]) -> list[str]:
    if mask is None:
        return base + event
    name = f"{var}_entry"
    plan.coords[name] = np.flatnonzero(mask.reshape(-1))
    return [name] + event


@torch.no_grad()
def predictive(model: Callable, data: Mapping[str, Any], draws: list[dict[str, torch.Tensor]],
               *, chains: int, enumerated: bool = False, max_plate_nesting: int = 0,
               coords: Mapping[str, object] | None = None,
               sample_stats: Mapping[str, np.ndarray] | None = None,
               attrs: Mapping[str, Any] | None = None) -> az.InferenceData:
    """Posterior draws of a model's continuous latent sites as ``InferenceData``.

    For each draw (in chain-major order) the model is run conditioned on it: enumerated
    discrete sites are sampled from their exact conditional (``infer_discrete``), the
    observed sites' log-likelihoods are computed, marginal over the enumerated sites (a
    sum-product contraction of the enumerated trace, :mod:`pyro.ops.contract`), and then
    new observations are drawn given every latent value (the posterior predictive).
    Shared by SVI (:func:`posterior`) and NUTS (:func:`pgm.infer.mcmc.nuts`), so both
    give the same groups and dims; the module docstring says what goes where.

    :param model: the Pyro model, called as ``model(**data)``.
    :param draws: ``len(draws)`` dicts ``{site: value}``, a multiple of ``chains``.
    :param enumerated: whether the model has sites marked for parallel enumeration.
    :param max_plate_nesting: the plates' batch dims; enumeration uses those to its left.
    :param coords: coordinate values by dim name (a plate's), replacing ``0..size-1``.
    :param sample_stats: arrays ``(chains, draws / chains)`` for the ``sample_stats`` group.
    :param attrs: attributes of the ``posterior`` group.
    :raises ValueError: no draws, or not a multiple of ``chains``.
    :raises InferenceDataError: anything failed once the draws were made; the error keeps
        them (``.draws``, ``.sample_stats``) and chains the cause.
    """
    draws = list(draws)
    if not draws or len(draws) % chains:
        raise ValueError(f"draws: expected a positive multiple of chains={chains}, "
                         f"got {len(draws)}")
    try:
        return _build(model, data, draws, chains, enumerated, max_plate_nesting, coords,
                      sample_stats, attrs)
    except Exception as e:
        raise InferenceDataError(
            f"building InferenceData from {len(draws)} finished draws failed "
            f"({type(e).__name__}: {e}); the draws are kept in this error's .draws "
            "(and .sample_stats)", _raw(draws, chains), sample_stats) from e


def _build(model, data, draws, chains, enumerated, max_plate_nesting, coords, sample_stats,
           attrs) -> az.InferenceData:
    enum_dim = -1 - max_plate_nesting if enumerated else None
    post, ppc, loglik = [], [], []
    plan = first = None
    for draw in draws:
        fn = poutine.condition(model, draw)
        if enum_dim is not None:
            fn = infer_discrete(fn, first_available_dim=enum_dim)
        tr = trace(fn, data, "model")
        if plan is None:
            plan, first = make_plan(tr, draw, model, data, enum_dim, coords), tr
        post.append({s: tr.nodes[s]["value"] for s in plan.posterior})
        ll = direct_loglik(tr, plan.direct)
        if plan.groups:
            ll.update(group_loglik(enum_trace(model, data, draw, enum_dim), plan.groups))
        loglik.append(ll)
        values = {**draw, **{s: tr.nodes[s]["value"] for s in sampled_sites(tr)}}
        # redraw inside, condition outside: the observed sites are drawn anew while the
        # latent sites keep this draw's values
        new = trace(poutine.condition(Redraw(plan.observed)(model), values), data, "model")
        ppc.append({s: new.nodes[s]["value"] for s in plan.observed})

    dims: dict[str, list[str]] = {}
    for s in plan.posterior:
        site = first.nodes[s]
        nb = batch_rank(site)
        dims[s] = _entry_dims(plan, s, plan.dims[s][:nb], plan.keep.get(s), plan.dims[s][nb:])
    ll_dims = {v: _entry_dims(plan, v, d, plan.keep.get(("ll", v)), [])
               for v, d in plan.ll_dims.items()}
    observed = {}
    for s in plan.observed:
        value = first.nodes[s]["value"].numpy()
        mask = observation_mask(first.nodes[s])
        if mask is not None:
            value = value.astype(np.result_type(value.dtype, np.float32), copy=True)
            m = np.broadcast_to(mask.numpy().reshape(mask.shape + (1,) * (value.ndim - mask.dim())),
                                value.shape)
            value[~m] = np.nan
        observed[s] = value
    lead, sizes = ["chain", "draw"], (chains, len(draws) // chains)
    ll_ds = _dataset(_stack(loglik, chains, plan.keep, "ll"), ll_dims, plan.coords, lead)
    for g in plan.groups:
        ll_ds[g.var].attrs["pgm_sites"] = ",".join(g.sites)
    groups = {
        "posterior": _dataset(_stack(post, chains, plan.keep), dims, plan.coords, lead, sizes,
                              attrs),
        "posterior_predictive": _dataset(_stack(ppc, chains), plan.dims, plan.coords, lead),
        "log_likelihood": ll_ds,
        "observed_data": _dataset(observed, plan.dims, plan.coords, []),
    }
    if sample_stats:
        groups["sample_stats"] = _dataset(
            {k: np.asarray(v) for k, v in sample_stats.items()}, {k: [] for k in sample_stats},
            {}, lead)
    if not plan.observed:
        for g in ("posterior_predictive", "log_likelihood", "observed_data"):
            del groups[g]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return az.InferenceData(**groups)


def _guide_draws(program: Program, num_samples: int) -> list[dict[str, torch.Tensor]]:
    draws = []
    for _ in range(num_samples):
        g = trace(program._guide_fn, program.data, "guide")
        draws.append({s: g.nodes[s]["value"] for s in program.guided})
    return draws


@torch.no_grad()
def posterior(program: Program, num_samples: int = 1000, seed: int = 0, chains: int = 4,
              coords: Mapping[str, object] | None = None, *,
              data: Mapping[str, Any] | None = None) -> az.InferenceData:
    """The fitted guide's posterior of a user's model as ArviZ ``InferenceData``.

    Each of the ``num_samples`` draws samples the guide, then the model's enumerated
    discrete sites from their exact conditional (``infer_discrete``), then new
    observations given all latent values (the posterior predictive; :func:`predictive`).

    :param program: a :class:`~pgm.core.program.Program`, usually after :func:`pgm.fit`.
    :param seed: the draws are the same, bit for bit, for the same seed in any process;
        the caller's random generators are left as they were
        (:func:`~pgm.core.seeding.seeded`).
    :param chains: the draws are independent; they are split into this many chains of
        ``num_samples / chains`` draws so that ArviZ's diagnostics, which need two chains
        or more, run (``r_hat`` should read 1.00).
    :param coords: coordinate values for the plates' dims (by plate name), replacing
        ``0..size-1``.
    :param data: new inputs: the same as :func:`predict` ``(program, data, ...)``.
    :returns: groups ``posterior`` (latent and deterministic sites, dims
        ``(chain, draw, *plates)``), ``posterior_predictive``, ``log_likelihood``
        (pointwise, marginal over enumerated sites; see the module docstring) and
        ``observed_data``; the posterior's attributes ``pgm_guide`` and
        ``pgm_independent_draws`` (1: draws are independent, so ``az.loo``'s relative
        efficiency is 1).
    :raises ValueError: ``num_samples`` not a positive multiple of ``chains``.
    :raises InferenceDataError: building the groups failed; the draws are kept in it.
    """
    if data is not None:
        return predict(program, data, num_samples=num_samples, seed=seed, chains=chains,
                       coords=coords)
    _check_counts(num_samples, chains)
    with seeded(seed), program.scope():
        draws = _guide_draws(program, num_samples)
        return predictive(program._model, program.data, draws, chains=chains,
                          enumerated=bool(program.enumerated),
                          max_plate_nesting=program.max_plate_nesting, coords=coords,
                          attrs={"pgm_guide": str(program.config["guide"]),
                                 "pgm_independent_draws": 1})


def _new_data(program: Program, data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` over the training arguments that are not tensors (settings, sizes)."""
    given = as_data(data, program.fn, program.dtype)
    kept = {k: v for k, v in program.data.items()
            if k not in given and not isinstance(v, torch.Tensor)}
    return {**kept, **given}


def _frames(site: Mapping[str, Any]) -> dict[str, int]:
    return {f.name: f.size for f in site["cond_indep_stack"] if f.vectorized}


@torch.no_grad()
def predict(program: Program, data: Mapping[str, Any], *, num_samples: int = 1000,
            seed: int = 0, chains: int = 4,
            coords: Mapping[str, object] | None = None) -> az.InferenceData:
    """The fitted program at new inputs: ArviZ ``predictions``.

    ``model(**data)`` is run once per draw with its **global** latent sites (those whose
    plates and shape are the same at the new inputs as in training) set to a draw of the
    guide fitted on the training data (enumerated ones drawn from their exact conditional
    given the training data), and every other site drawn from the model: local latent
    sites from their prior, and the sites observed in training (``y`` of ``def
    linreg(X, y=None)``) as predictions. Observations given in ``data`` are not
    conditioned on (for that, :meth:`~pgm.core.program.Program.with_data`).

    :param program: a fitted :class:`~pgm.core.program.Program`.
    :param data: the model's keyword arguments at the new inputs; training arguments not
        given are dropped when they are tensors (the training examples' data) and kept
        otherwise (settings such as sizes).
    :param num_samples: draws, split into ``chains`` chains of independent draws.
    :param seed: as :func:`posterior`'s.
    :param coords: coordinate values for the dims (by plate name) at the new inputs.
    :returns: groups ``posterior`` (the global latent sites), ``predictions`` (every other
        sample and deterministic site at the new inputs, dims from their plates) and
        ``predictions_constant_data`` (the new inputs' arrays), following ArviZ's
        convention for out-of-sample predictions.
    :raises ModelError: the model fails at the new inputs (the message names the site).
    :raises InferenceDataError: building the groups failed; the draws are kept in it.
    """
    _check_counts(num_samples, chains)
    new = _new_data(program, data)
    enum_dim = -1 - program.max_plate_nesting if program.enumerated else None
    at_new = f"model {program.config['model']!r} at the new inputs"
    with seeded(seed), program.scope():
        draws = _guide_draws(program, num_samples)
        fitted, predicted = [], []
        keep = tr_fit0 = tr0 = None
        for draw in draws:
            fn = poutine.condition(program._model, draw)
            if enum_dim is not None:
                fn = infer_discrete(fn, first_available_dim=enum_dim)
            tr_fit = trace(fn, program.data, "model")
            if keep is None:
                prior = trace(_with_init(program.fn), new, at_new)
                redraw = Redraw(observed_sites(prior))
                keep = [s for s in program.latent if s in prior.nodes
                        and _frames(prior.nodes[s]) == _frames(tr_fit.nodes[s])
                        and prior.nodes[s]["value"].shape == tr_fit.nodes[s]["value"].shape]
                tr_fit0 = tr_fit
            values = {s: tr_fit.nodes[s]["value"] for s in keep}
            tr = trace(poutine.condition(redraw(program.fn), values), new, at_new)
            if tr0 is None:
                tr0 = tr
                shown = [n for n, s in _sample_sites(tr)
                         if n not in keep and not is_factor(s)]
            fitted.append(values)
            predicted.append({s: tr.nodes[s]["value"] for s in shown})
    try:
        dims_fit, coords_fit = site_dims(tr_fit0, keep)
        dims_new, coords_new = site_dims(tr0, shown)
        constant = {k: v.numpy() for k, v in new.items() if isinstance(v, torch.Tensor)}
        const_dims = {k: [f"{k}_dim_{i}" for i in range(v.ndim)] for k, v in constant.items()}
        lead, sizes = ["chain", "draw"], (chains, num_samples // chains)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return az.InferenceData(
                posterior=_dataset(_stack(fitted, chains), dims_fit, coords_fit, lead, sizes,
                                   {"pgm_guide": str(program.config["guide"]),
                                    "pgm_independent_draws": 1}),
                predictions=_dataset(_stack(predicted, chains), dims_new,
                                     {**coords_new, **(coords or {})}, lead, sizes),
                predictions_constant_data=_dataset(constant, const_dims, {}, []),
            )
    except Exception as e:
        raise InferenceDataError(
            f"building the predictions' InferenceData failed ({type(e).__name__}: {e}); "
            "the draws are kept in this error's .draws",
            {**_raw(fitted, chains), **_raw(predicted, chains)}) from e


@dataclass
class Report:
    """What :func:`summarize` found.

    :ivar idata: the ``InferenceData`` summarized.
    :ivar table: ``az.summary`` of :attr:`var_names` (a ``pandas.DataFrame``).
    :ivar var_names: the posterior's variables: latent and deterministic sites.
    :ivar loo: ``{log-likelihood variable: az.loo's ELPDData}``, one per observation
        (or group of observations tied by enumeration), never for factor or
        deterministic sites.
    :ivar guide: for a fitted program, the Pareto k-hat of its guide
        (:func:`pgm.infer.psis.check_guide`): whether the posterior can be trusted.
    """

    idata: az.InferenceData
    table: Any
    var_names: list[str]
    loo: dict[str, Any]
    guide: GuideCheck | None = None

    def lines(self) -> list[str]:
        """The guide's check and the LOO results, one line each."""
        return [*([str(self.guide)] if self.guide is not None else []),
                *(f"loo ({v}): elpd {r.elpd_loo:.2f} (se {r.se:.2f}), p_loo {r.p_loo:.2f}, "
                  f"Pareto k > 0.7: {int((np.asarray(r.pareto_k) > 0.7).sum())}"
                  for v, r in self.loo.items())]

    def __str__(self) -> str:
        return "\n".join([self.table.to_string(), *self.lines()])


def summarize(source: Program | az.InferenceData, *, num_samples: int = 1000, seed: int = 0,
              chains: int = 4, var_names: list[str] | None = None) -> Report:
    """``az.summary`` of the latent and deterministic sites and ``az.loo`` of each
    observation: what ``pgm inspect`` prints.

    :param source: a fitted :class:`~pgm.core.program.Program` (its :func:`posterior` is
        drawn with ``num_samples``, ``seed`` and ``chains``) or ``InferenceData`` from
        :func:`posterior` or :func:`pgm.infer.mcmc.nuts`.
    :param var_names: the posterior variables to summarize (all of them by default).
    :returns: a :class:`Report`; ``str(report)`` is the table, for a program the Pareto
        k-hat of its guide (from ``num_samples`` draws), and one line per LOO. LOO's
        relative efficiency is 1 for independent draws (SVI, marked
        ``pgm_independent_draws``), else ArviZ's estimate from the chains.
    """
    program = isinstance(source, Program)
    idata = posterior(source, num_samples=num_samples, seed=seed, chains=chains) if program \
        else source
    guide = check_guide(source, num_samples, seed) if program and source.guided else None
    names = list(var_names) if var_names is not None else list(idata.posterior.data_vars)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        table = az.summary(idata, var_names=names) if names else _empty_table()
        loo = {}
        if "log_likelihood" in idata.groups():
            independent = (idata.posterior.attrs.get("pgm_independent_draws")
                           or not idata.posterior.data_vars)
            for v in idata.log_likelihood.data_vars:
                loo[v] = az.loo(idata, var_name=v, reff=1.0 if independent else None)
    return Report(idata, table, names, loo, guide)


def _empty_table() -> Any:
    import pandas as pd

    return pd.DataFrame()


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
