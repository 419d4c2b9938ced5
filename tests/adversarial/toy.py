"""A 2-D mixture of Gaussians, the usual toy data of GAN papers."""

import math

import torch

SHAPE = (1, 1, 2)


def mixture(n: int, seed: int = 0, modes: int = 4, radius: float = 2.0,
            sd: float = 0.1) -> torch.Tensor:
    """``n`` points ``(n, 2)`` from ``modes`` Gaussians evenly spaced on a circle."""
    g = torch.Generator().manual_seed(seed)
    k = torch.randint(0, modes, (n,), generator=g)
    angle = 2 * math.pi * k / modes
    centres = radius * torch.stack([angle.cos(), angle.sin()], 1)
    return centres + sd * torch.randn(n, 2, generator=g)
