"""Two unpaired image domains made from one real data set, for translation models (CycleGAN).

A translation model learns maps ``A -> B`` and ``B -> A`` from images of each domain with
no pairs between them. To score one, the true map must be known, so pgm makes domain B
from domain A by a fixed transform ``T`` and keeps the two halves of the data apart:
``A`` is one half of the images, ``B = T(other half)``. No image of ``A`` has its own
``T``-image in ``B``, yet on held-out images ``T(a)`` is the answer a translation of
``a`` should give; :func:`pgm.metrics.translation.translation_errors` scores a translator
against it.

===========  ==========================================================================
transform    ``T``
===========  ==========================================================================
``plain``    none: the images as they are
``bold``     strokes thickened: a 3x3 grey-level dilation (each pixel the maximum of its
             neighbourhood)
``inverted`` ``1 - x``: ink and paper swapped
===========  ==========================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from pgm._deprecated import moved

__all__ = ["TRANSFORMS", "bold", "inverted", "labelled", "plain", "unpaired"]

# translation_errors moved to pgm.metrics.translation; it works from here for one release
__getattr__ = moved(__name__, {"translation_errors": "pgm.metrics.translation"})


def plain(x: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    """The images ``(n, D)`` unchanged."""
    return x


def bold(x: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    """Images ``(n, D)`` of ``shape`` ``(C, H, W)`` with strokes thickened by one pixel on
    every side: the maximum over each pixel's 3x3 neighbourhood. ``(n, D) -> (n, D)``."""
    img = x.reshape(-1, *shape)
    return F.max_pool2d(img, 3, stride=1, padding=1).reshape(x.shape)


def inverted(x: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    """``1 - x``: images ``(n, D)`` in [0, 1] with ink and paper swapped."""
    return 1.0 - x


#: the transforms ``T`` that make domain B, by name
TRANSFORMS: dict[str, Callable[[torch.Tensor, tuple[int, int, int]], torch.Tensor]] = {
    "plain": plain, "bold": bold, "inverted": inverted}


def transform(name: str) -> Callable[[torch.Tensor, tuple[int, int, int]], torch.Tensor]:
    """The transform called ``name`` (one of :data:`TRANSFORMS`)."""
    if name not in TRANSFORMS:
        raise ValueError(f"domains: expected one of {sorted(TRANSFORMS)}, got {name!r}")
    return TRANSFORMS[name]


def unpaired(x: torch.Tensor, shape: tuple[int, int, int], name: str, seed: int = 0
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """Domains ``(a, b)`` from images ``x`` ``(n, D)``: a seeded random half of ``x`` as
    ``a`` ``(n // 2, D)``, and the transform ``name`` of the other half as ``b`` (the same
    size), so that no image of ``a`` has its counterpart in ``b``."""
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"x: expected images (n, D) with n >= 2, got shape {tuple(x.shape)}")
    t = transform(name)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    half = len(x) // 2
    return x[order[:half]], t(x[order[half:2 * half]], shape)


def labelled(x: torch.Tensor, shape: tuple[int, int, int], names: Sequence[str], seed: int = 0
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """Several domains from images ``x`` ``(n, D)``, for a multi-domain translator (StarGAN):
    ``x`` cut into ``len(names)`` seeded random parts of ``n // len(names)`` images, part
    ``k`` transformed by ``names[k]``. Returns the images ``(m, D)`` and their domain
    labels ``(m,)`` (``k``), part after part; no image appears in two domains."""
    if x.ndim != 2 or len(x) < len(names):
        raise ValueError(f"x: expected images (n, D) with n >= {len(names)} (one per domain), "
                         f"got shape {tuple(x.shape)}")
    ts = [transform(name) for name in names]
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    size = len(x) // len(names)
    parts = [t(x[order[k * size:(k + 1) * size]], shape) for k, t in enumerate(ts)]
    labels = torch.arange(len(names)).repeat_interleave(size)
    return torch.cat(parts), labels
