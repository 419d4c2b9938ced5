"""Pixel orderings for autoregressive models.

An ordering is a permutation ``o`` of ``0..D-1``: the model factorizes
``p(x) = prod_i p(x_{o[i]} | x_{o[0]}, ..., x_{o[i-1]})``.

* ``raster``: row by row, left to right (the identity);
* ``snake``: row by row, alternating direction (boustrophedon, "zigzag");
* ``column``: column by column, top to bottom;
* ``random``: a uniformly random permutation from ``seed``.
"""

from __future__ import annotations

import torch

NAMES = ("raster", "snake", "column", "random")


def ordering(name: str, shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    """The permutation ``(D,)`` called ``name`` for images of ``shape`` ``(C, H, W)``
    (``(H, W)`` and plain vectors ``(D,)`` are accepted too).

    Channels, when there are several, are kept together per pixel position
    (all channels of a position before the next position).
    """
    c, h, w = {1: (1, 1, *shape), 2: (1, *shape)}.get(len(shape), tuple(shape))
    grid = torch.arange(c * h * w).reshape(c, h, w).permute(1, 2, 0)  # (H, W, C)
    if name == "raster":
        perm = grid.reshape(-1)
    elif name == "snake":
        rows = [grid[r] if r % 2 == 0 else grid[r].flip(0) for r in range(h)]
        perm = torch.cat([r.reshape(-1) for r in rows])
    elif name == "column":
        perm = grid.transpose(0, 1).reshape(-1)
    elif name == "random":
        perm = torch.randperm(c * h * w, generator=torch.Generator().manual_seed(seed))
    else:
        raise ValueError(f"ordering: expected one of {list(NAMES)}, got {name!r}")
    return perm


def check_permutation(perm: object, n: int, name: str = "ordering") -> torch.Tensor:
    """Return ``perm`` as a LongTensor if it is a permutation of ``0..n-1``, else raise."""
    try:
        t = torch.as_tensor(perm)
    except (TypeError, ValueError, RuntimeError) as e:
        raise ValueError(f"{name}: expected a permutation of 0..{n - 1}, got {perm!r}") from e
    if t.dim() != 1 or t.numel() != n or t.is_floating_point():
        raise ValueError(
            f"{name}: expected a permutation of 0..{n - 1} ({n} integers), got shape "
            f"{tuple(t.shape)} dtype {t.dtype}")
    t = t.long()
    if not torch.equal(t.sort().values, torch.arange(n)):
        missing = sorted(set(range(n)) - set(t.tolist()))[:5]
        raise ValueError(f"{name}: not a permutation of 0..{n - 1} (missing {missing}, "
                         "or repeated entries)")
    return t


def resolve(order: str | object, shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    """An ordering given by name or as an explicit permutation."""
    n = 1
    for s in shape:
        n *= s
    if isinstance(order, str):
        return ordering(order, shape, seed)
    return check_permutation(order, n)
