"""How well a translator (CycleGAN, StarGAN) maps between domains whose true map is known.

The domains are made by :mod:`pgm.data.domains` from one data set by fixed transforms, so
the right translation of a held-out image is known. (:func:`translation_errors` lived in
``pgm.data.domains``, which re-exports it for one release.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from pgm.data.domains import transform

__all__ = ["translation_errors"]


@torch.no_grad()
def translation_errors(translate: Callable[[torch.Tensor, int, int], torch.Tensor],
                       x: torch.Tensor, shape: tuple[int, int, int], names: Sequence[str]
                       ) -> dict[tuple[int, int], tuple[float, float]]:
    """How well a translator maps between the domains ``names`` on held-out images ``x``
    ``(n, D)``, whose versions in every domain are known: for each pair ``j != k``, the
    mean absolute pixel error of ``translate(T_j(x), j, k)`` against ``T_k(x)``, and that
    of leaving the images unchanged (``|T_j(x) - T_k(x)|``), the mark to beat. Returns
    ``{(j, k): (error, unchanged)}``."""
    versions = [transform(name)(x, shape) for name in names]
    out = {}
    for j, src in enumerate(versions):
        for k, dst in enumerate(versions):
            if j != k:
                out[j, k] = ((translate(src, j, k) - dst).abs().mean().item(),
                             (src - dst).abs().mean().item())
    return out
