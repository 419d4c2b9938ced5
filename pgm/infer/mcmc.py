"""NUTS on a user's model, for comparison with SVI (:mod:`pgm.core.program`).

:func:`nuts` runs ``pyro.infer.MCMC`` with the No-U-Turn sampler (Hoffman & Gelman,
2014) one chain after another, each from its own seed, and returns ArviZ
``InferenceData`` built by :func:`pgm.posterior.predictive`, the same function that
turns an SVI posterior into ``InferenceData``: the groups, the dims (named after the
model's plates) and the pointwise log-likelihood (marginal over enumerated sites) are
computed the same way, so the two can be put side by side. Discrete sites marked for
enumeration are summed out by the sampler and then drawn from their exact conditional
for each draw.

The output is built once from the starting point **before** sampling, so a model whose
draws cannot become ``InferenceData`` fails in seconds; should building still fail after
sampling, :class:`pgm.errors.InferenceDataError` carries the draws.

Flat priors (``dist.ImproperUniform``) start at a uniform point of ``(-2, 2)`` in
unconstrained space; sites whose support depends on other sites are sampled through
``NAME_unconstrained`` (:class:`pgm.core.supports.Unconstrain`), as Pyro's NUTS fixes each
site's transform at the starting point.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import arviz as az
import numpy as np
import pyro
import torch
from pyro.infer import MCMC, NUTS
from pyro.infer.autoguide.initialization import init_to_uniform

from pgm.core.program import (
    as_data,
    as_dtype,
    default_dtype,
    trace,
)
from pgm.core.seeding import seeded
from pgm.core.sites import (
    enumerated,
    plate_nesting,
    sampled_sites,
)
from pgm.core.supports import (
    _with_init,
    dependent_supports,
    init_improper,
    unconstrained,
)
from pgm.errors import InferenceDataError, ModelError, check_positive_int
from pgm.posterior import predictive


def nuts(model: Callable, data: Mapping[str, Any] | None = None, *, num_samples: int = 1000,
         warmup_steps: int = 500, chains: int = 2, seed: int = 0, progress: bool = False,
         coords: Mapping[str, object] | None = None, dtype: torch.dtype | str | None = None,
         **nuts_options: Any) -> az.InferenceData:
    """Sample the posterior of ``model(**data)`` with NUTS.

    :param model: a Pyro model function without ``pyro.param`` statements.
    :param data: its keyword arguments (checked as :class:`~pgm.core.program.Program` does).
    :param chains: chains, run one after another (chain ``c`` seeded ``seed + c``).
    :param seed: the result is the same, bit for bit, for the same seed in any process;
        the caller's random generators are left as they were
        (:func:`~pgm.core.seeding.seeded`).
    :param coords: coordinate values for the plates' dims, as in :func:`pgm.posterior.posterior`.
    :param dtype: ``torch.float64`` runs the model in float64 (data and sampler), as
        :class:`~pgm.core.program.Program`'s ``dtype``.
    :param nuts_options: passed to ``pyro.infer.NUTS`` (``target_accept_prob``, ...).
    :returns: ``InferenceData`` with ``posterior`` (``chains`` chains of ``num_samples``:
        latent and deterministic sites), ``sample_stats`` (``diverging``),
        ``posterior_predictive``, ``log_likelihood`` and ``observed_data``
        (:func:`pgm.posterior.predictive`).
    :raises ValueError: a count that is not a positive integer.
    :raises ModelError: the model fails when traced, or its output cannot be built from
        its starting point (both before any sampling).
    :raises InferenceDataError: building the output failed after sampling; the error
        keeps the draws (``.draws``: ``{site: (chains, num_samples, ...)}``) and
        ``.sample_stats``.
    """
    for v, name in ((num_samples, "num_samples"), (warmup_steps, "warmup_steps"),
                    (chains, "chains")):
        check_positive_int(v, name)
    dtype = as_dtype(dtype)
    label = f"model {getattr(model, '__name__', model)!r}"
    with seeded(seed), default_dtype(dtype), pyro.validation_enabled(True):
        data = as_data(data, model, dtype)
        tr = trace(_with_init(model), data, label, score=True)
        nesting, enum = plate_nesting(tr), enumerated(tr)
        with pyro.validation_enabled(False):
            moving, _ = dependent_supports(model, data)
        fn = unconstrained(model, [s for s in moving if s not in enum])
        start = trace(_with_init(fn), data, label)
        try:  # the output of one draw, the starting point, before the expensive part
            predictive(fn, data, [{s: start.nodes[s]["value"] for s in sampled_sites(start)
                                   if s not in enum}], chains=1, enumerated=bool(enum),
                       max_plate_nesting=nesting, coords=coords)
        except InferenceDataError as e:
            raise ModelError(f"{label}: its draws cannot be turned into InferenceData "
                             f"(checked before sampling): {e.__cause__}") from e.__cause__
        options = {"max_plate_nesting": nesting, "init_strategy": init_improper(init_to_uniform),
                   **nuts_options}
        draws, diverging = [], np.zeros((chains, num_samples), dtype=bool)
        for c in range(chains):
            pyro.set_rng_seed(seed + c)
            kernel = NUTS(fn, **options)
            mcmc = MCMC(kernel, num_samples=num_samples, warmup_steps=warmup_steps,
                        disable_progbar=not progress)
            mcmc.run(**data)
            samples = mcmc.get_samples()
            draws += [{k: v[i] for k, v in samples.items()} for i in range(num_samples)]
            for idx in mcmc.diagnostics()["divergences"].values():
                diverging[c, idx] = True
        return predictive(fn, data, draws, chains=chains, enumerated=bool(enum),
                          max_plate_nesting=nesting, coords=coords,
                          sample_stats={"diverging": diverging})
