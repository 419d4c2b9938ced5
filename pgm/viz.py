"""Pictures: image grids as PNG files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from pgm.io import atomic_write


def grid(images: torch.Tensor, shape: tuple[int, ...], nrow: int | None = None,
         pad: int = 1) -> np.ndarray:
    """Tile images ``(n, pixels)`` of ``shape`` ``(C, H, W)`` into one ``uint8`` array.

    Values are taken to lie in [0, 1]. Returns ``(rows*(H+pad)+pad, cols*(W+pad)+pad[, 3])``.
    """
    c, h, w = shape
    n = images.shape[0]
    nrow = nrow or math.ceil(math.sqrt(n))
    ncol = math.ceil(n / nrow)
    imgs = images.detach().float().clamp(0, 1).reshape(n, c, h, w).cpu().numpy()
    out = np.ones((c, nrow * (h + pad) + pad, ncol * (w + pad) + pad), dtype=np.float32) * 0.5
    for i in range(n):
        r, q = divmod(i, ncol)
        out[:, pad + r * (h + pad) : pad + r * (h + pad) + h,
            pad + q * (w + pad) : pad + q * (w + pad) + w] = imgs[i]
    out = (out * 255).round().astype(np.uint8)
    return out[0] if c == 1 else out.transpose(1, 2, 0)


def save_grid(images: torch.Tensor, shape: tuple[int, ...], path: str | Path,
              nrow: int | None = None, scale: int = 2) -> Path:
    """Write a grid of ``images`` ``(n, pixels)`` to the PNG ``path`` (atomically)."""
    img = Image.fromarray(grid(images, shape, nrow))
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    with atomic_write(path) as f:
        img.save(f, format="PNG")
    return path
