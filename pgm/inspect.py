"""Inspection: what a fitted model learned, as ArviZ ``InferenceData``.

:func:`latent_posterior` draws the amortized posterior ``q(z | x)`` of chosen images
through ``pyro.infer.Predictive`` and returns it with named dimensions, alongside the
posterior predictive (reconstructions) and the observed images, ready for
``az.summary``, ``az.plot_posterior`` or ``az.plot_forest``.
"""

from __future__ import annotations

import arviz as az
import torch
from pyro.infer import Predictive

from pgm.core import GenerativeModel


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
