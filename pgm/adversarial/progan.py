"""Progressive GAN for 28x28 images (Karras, Aila, Laine & Lehtinen, 2018).

Karras et al., "Progressive Growing of GANs for Improved Quality, Stability, and
Variation", ICLR 2018. Both players start small and grow together: first they play on
7x7 images, then a 14x14 block is faded in, then a 28x28 one. The training schedule counts
real images shown, ``phase`` of them per phase::

    phase   0          1             2           3             4, 5, ...
    level   7x7        14x14 fade    14x14       28x28 fade    28x28
    alpha   1          0 -> 1        1           0 -> 1        1

During a fade the new block's output is blended with the old one's, ``alpha`` rising
linearly, so the new layers enter without a shock (the paper's Fig. 2)::

    G:  z (B, L) -> pixel norm -> Linear -> (B, c0, 7, 7) -> conv 3x3        level 0
        -> upsample x2 -> conv 3x3 -> conv 3x3 -> (B, c1, 14, 14)           level 1
        -> upsample x2 -> conv 3x3 -> conv 3x3 -> (B, c2, 28, 28)           level 2
        image at level l = (1 - alpha) up(to_image[l-1]) + alpha to_image[l]   (logits)
    D:  the mirror image: from_image[l] (1x1 conv) at the level's resolution, conv 3x3
        pairs and 2x2 average pooling down to 7x7, minibatch standard deviation, conv 3x3,
        Linear, Linear -> logit (B,)

Kept from the paper: pixelwise feature normalization after every generator convolution,
the equalized learning rate (weights drawn from ``N(0, 1)`` and scaled at run time by
He's constant, so Adam updates every layer at the same pace), the minibatch standard
deviation in the discriminator, nearest-neighbour upsampling and average pooling, LeakyReLU
0.2, and an exponential moving average of the generator's weights to sample from (the
trainer's ``ema``). Changed for pgm: the loss is the GAN loss of
:mod:`pgm.adversarial.base` (non-saturating by default) rather than WGAN-GP; images lie in
[0, 1], so the blended logits go through a sigmoid; channels are ``width`` at 7x7 and 14x14
and ``width // 2`` at 28x28 rather than 512 halving towards 1024x1024.

The generator always returns 28x28 images: a lower level's image is repeated to 28x28
(nearest neighbour), and the discriminator average-pools what it reads to the level it
plays at, which gives real and generated images at the same resolution. So the adversarial
loop, sampling and the metrics need no change; ``images_seen``, a buffer, holds the
schedule and travels with checkpoints.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from pgm.adversarial.base import AdversarialModel
from pgm.adversarial.dcgan import minibatch_std
from pgm.core import register
from pgm.errors import check_positive_int

#: resolutions of the levels; each doubles the one before
SIZES = (7, 14, 28)


class EqualizedLinear(nn.Module):
    """``Linear`` with the equalized learning rate: ``w ~ N(0, 1)``, times ``gain / sqrt(fan_in)``
    at run time (Karras et al., 2018, Sec. 4.1). ``(..., I) -> (..., O)``."""

    def __init__(self, n_in: int, n_out: int, gain: float = math.sqrt(2)):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_out, n_in))
        self.bias = nn.Parameter(torch.zeros(n_out))
        self.scale = gain / math.sqrt(n_in)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)


class EqualizedConv2d(nn.Module):
    """``Conv2d`` (stride 1, 'same' padding) with the equalized learning rate:
    ``(B, I, H, W) -> (B, O, H, W)``."""

    def __init__(self, n_in: int, n_out: int, kernel: int, gain: float = math.sqrt(2)):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_out, n_in, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(n_out))
        self.scale = gain / math.sqrt(n_in * kernel * kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.weight.shape[-1] // 2)


def pixel_norm(h: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Each pixel's feature vector scaled to unit mean square (Sec. 4.2): over dim 1."""
    return h * torch.rsqrt(h.pow(2).mean(1, keepdim=True) + eps)


class PixelNorm(nn.Module):
    """:func:`pixel_norm` as a layer."""

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return pixel_norm(h)


def _conv(n_in: int, n_out: int, norm: bool) -> list[nn.Module]:
    layers = [EqualizedConv2d(n_in, n_out, 3), nn.LeakyReLU(0.2)]
    return [*layers, PixelNorm()] if norm else layers


def channels(width: int) -> tuple[int, int, int]:
    """Feature maps at 7x7, 14x14 and 28x28."""
    return width, width, max(1, width // 2)


class _Generator(nn.Module):
    def __init__(self, latent: int, width: int, image_channels: int):
        super().__init__()
        c = channels(width)
        self.c0 = c[0]
        self.project = EqualizedLinear(latent, c[0] * 7 * 7, gain=math.sqrt(2) / 4)
        self.blocks = nn.ModuleList([
            nn.Sequential(nn.LeakyReLU(0.2), PixelNorm(), *_conv(c[0], c[0], True)),
            nn.Sequential(nn.Upsample(scale_factor=2), *_conv(c[0], c[1], True),
                          *_conv(c[1], c[1], True)),
            nn.Sequential(nn.Upsample(scale_factor=2), *_conv(c[1], c[2], True),
                          *_conv(c[2], c[2], True))])
        self.to_image = nn.ModuleList([EqualizedConv2d(ci, image_channels, 1, gain=1.0)
                                       for ci in c])

    def forward(self, z: torch.Tensor, level: int = 2, alpha: float = 1.0) -> torch.Tensor:
        """Noise ``(B, L)`` -> images ``(B, C * 28 * 28)`` in [0, 1], drawn at ``level``."""
        h = self.project(pixel_norm(z)).reshape(z.shape[0], self.c0, 7, 7)
        for block in self.blocks[:level]:
            h = block(h)  # after level 0's block: (B, c0, 7, 7); then 14x14
        old = self.to_image[level - 1](h) if level > 0 and alpha < 1 else None
        h = self.blocks[level](h)  # (B, c_level, s, s)
        logits = self.to_image[level](h)
        if old is not None:
            logits = torch.lerp(F.interpolate(old, scale_factor=2), logits, alpha)
        full = F.interpolate(logits, size=(28, 28))  # nearest: exact repeats
        return torch.sigmoid(full).flatten(1)


class _Discriminator(nn.Module):
    def __init__(self, width: int, image_channels: int):
        super().__init__()
        c = channels(width)
        self.image_channels = image_channels
        self.from_image = nn.ModuleList([
            nn.Sequential(EqualizedConv2d(image_channels, ci, 1), nn.LeakyReLU(0.2)) for ci in c])
        self.blocks = nn.ModuleList([
            nn.Sequential(*_conv(c[0] + 1, c[0], False), nn.Flatten(),
                          EqualizedLinear(c[0] * 7 * 7, c[0]), nn.LeakyReLU(0.2),
                          EqualizedLinear(c[0], 1, gain=1.0)),
            nn.Sequential(*_conv(c[1], c[1], False), *_conv(c[1], c[0], False),
                          nn.AvgPool2d(2)),
            nn.Sequential(*_conv(c[2], c[2], False), *_conv(c[2], c[1], False),
                          nn.AvgPool2d(2))])

    def forward(self, x: torch.Tensor, level: int = 2, alpha: float = 1.0) -> torch.Tensor:
        """Images ``(B, C * 28 * 28)`` -> logits ``(B,)``, read at ``level``'s resolution."""
        img = x.reshape(x.shape[0], self.image_channels, 28, 28)
        img = F.adaptive_avg_pool2d(img, SIZES[level])  # (B, C, s, s)
        h = self.from_image[level](img)
        if level > 0:
            h = self.blocks[level](h)  # (B, c_{level-1}, s/2, s/2)
            if alpha < 1:
                h = torch.lerp(self.from_image[level - 1](F.avg_pool2d(img, 2)), h, alpha)
            for block in self.blocks[level - 1:0:-1]:
                h = block(h)  # down to (B, c0, 7, 7)
        return self.blocks[0](minibatch_std(h)).reshape(-1)


@register("progan")
class ProgressiveGAN(AdversarialModel):
    """Progressive GAN: both players grow from 7x7 to 28x28 images as training goes on.

    :param shape: ``(channels, 28, 28)``.
    :param latent: dimension ``L`` of the noise ``z ~ N(0, I)``.
    :param width: feature maps at 7x7 and 14x14 (``width // 2`` at 28x28).
    :param phase: real images per phase of the growth schedule (the paper: 800,000).
    :param loss: generator loss, ``"ns"`` (non-saturating) or ``"minimax"``.
    :param pixels: ``"grey"`` or ``"bernoulli"`` (see :mod:`pgm.adversarial.base`).
    :param temperature: of the straight-through relaxed Bernoulli (``pixels="bernoulli"``).
    """

    defaults = {"lr": 1e-3, "batch_size": 64, "epochs": 10}

    def __init__(self, shape=(1, 28, 28), latent: int = 128, width: int = 32,
                 phase: int = 60_000, loss: str = "ns", pixels: str = "grey",
                 temperature: float = 0.5):
        check_positive_int(width, "width")
        check_positive_int(phase, "phase")
        if tuple(shape)[1:] != (28, 28):
            raise ValueError(f"shape: ProgressiveGAN is sized for (C, 28, 28) images, got "
                             f"{tuple(shape)}")
        super().__init__(shape, latent=latent, loss=loss, pixels=pixels,
                         temperature=temperature, width=width, phase=phase)
        self.generator = _Generator(latent, width, self.shape[0])
        self.discriminator = _Discriminator(width, self.shape[0])
        #: real images the discriminator has read in training: the growth schedule's clock
        self.register_buffer("images_seen", torch.zeros((), dtype=torch.long))

    def schedule(self, images: int | None = None) -> tuple[int, float]:
        """``(level, alpha)`` after ``images`` real images (by default, those seen so far)."""
        images = int(self.images_seen) if images is None else images
        phase, into = divmod(images, self.config["phase"])
        level = min((phase + 1) // 2, len(SIZES) - 1)
        fading = phase % 2 == 1 and phase < 2 * (len(SIZES) - 1)
        return level, into / self.config["phase"] if fading else 1.0

    def generator_output(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z, *self.schedule())

    def discriminate(self, x: torch.Tensor) -> torch.Tensor:
        return self.discriminator(x, *self.schedule())

    def discriminator_trained(self, real: torch.Tensor) -> None:
        """The schedule's clock moves on by the batch of real images ``(B, D)`` the
        discriminator has just trained on."""
        self.images_seen += real.shape[0]
