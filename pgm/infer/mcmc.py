"""NUTS on a user's model, for comparison with SVI (:mod:`pgm.core.program`).

:func:`nuts` runs ``pyro.infer.MCMC`` with the No-U-Turn sampler (Hoffman & Gelman,
2014) one chain after another, each from its own seed, and returns ArviZ
``InferenceData`` built by :func:`pgm.inspect.predictive`, the same function that
turns an SVI posterior into ``InferenceData``: the groups, the dims (named after the
model's plates) and the pointwise log-likelihood are computed the same way, so the two
can be put side by side. Discrete sites marked for enumeration are summed out by the
sampler and then drawn from their exact conditional for each draw.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import arviz as az
import numpy as np
import pyro
from pyro.infer import MCMC, NUTS

from pgm.core.program import as_data, enumerated, plate_nesting, trace
from pgm.errors import check_positive_int
from pgm.inspect import predictive


def nuts(model: Callable, data: Mapping[str, Any] | None = None, *, num_samples: int = 1000,
         warmup_steps: int = 500, chains: int = 2, seed: int = 0, progress: bool = False,
         coords: Mapping[str, object] | None = None,
         **nuts_options: Any) -> az.InferenceData:
    """Sample the posterior of ``model(**data)`` with NUTS.

    :param model: a Pyro model function without ``pyro.param`` statements.
    :param data: its keyword arguments (checked as :class:`~pgm.core.program.Program` does).
    :param chains: chains, run one after another (chain ``c`` seeded ``seed + c``).
    :param coords: coordinate values for the plates' dims, as in :func:`pgm.inspect.posterior`.
    :param nuts_options: passed to ``pyro.infer.NUTS`` (``target_accept_prob``, ...).
    :returns: ``InferenceData`` with ``posterior`` (``chains`` chains of ``num_samples``),
        ``sample_stats`` (``diverging``), ``posterior_predictive``, ``log_likelihood`` and
        ``observed_data``.
    """
    for v, name in ((num_samples, "num_samples"), (warmup_steps, "warmup_steps"),
                    (chains, "chains")):
        check_positive_int(v, name)
    data = as_data(data, model)
    tr = trace(model, data, f"model {getattr(model, '__name__', model)!r}", score=True)
    nesting = plate_nesting(tr)
    draws, diverging = [], np.zeros((chains, num_samples), dtype=bool)
    for c in range(chains):
        pyro.set_rng_seed(seed + c)
        kernel = NUTS(model, max_plate_nesting=nesting, **nuts_options)
        mcmc = MCMC(kernel, num_samples=num_samples, warmup_steps=warmup_steps,
                    disable_progbar=not progress)
        mcmc.run(**data)
        samples = mcmc.get_samples()
        draws += [{k: v[i] for k, v in samples.items()} for i in range(num_samples)]
        for idx in mcmc.diagnostics()["divergences"].values():
            diverging[c, idx] = True
    return predictive(model, data, draws, chains=chains, enumerated=bool(enumerated(tr)),
                      max_plate_nesting=nesting, coords=coords,
                      sample_stats={"diverging": diverging})
