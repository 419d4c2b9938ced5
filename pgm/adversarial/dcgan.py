"""Deep convolutional GAN for 28x28 single-channel images (Radford, Metz & Chintala, 2016).

Radford, Metz & Chintala, "Unsupervised Representation Learning with Deep Convolutional
Generative Adversarial Networks", ICLR 2016. Their guidelines, kept here: strided
convolutions instead of pooling, batch norm in both players (not on the generator's
output nor the discriminator's input), ReLU in the generator and LeakyReLU(0.2) in the
discriminator, weights initialised from ``N(0, 0.02)``, Adam with ``lr = 2e-4`` and
``beta1 = 0.5``. Sized for 28x28 MNIST as in common re-implementations (``w`` = ``width``)::

    G:  z (B, L) -> Linear -> BN -> ReLU -> (B, 2w, 7, 7)
        -> ConvT 4x4 s2 -> BN -> ReLU -> (B, w, 14, 14)
        -> ConvT 4x4 s2 -> sigmoid -> (B, 1, 28, 28) -> flattened (B, 784)
    D:  x (B, 784) -> (B, 1, 28, 28) -> Conv 4x4 s2 -> LeakyReLU -> (B, w, 14, 14)
        -> Conv 4x4 s2 -> BN -> LeakyReLU -> (B, 2w, 7, 7) -> Linear -> logit (B, 1)

The generator ends in a sigmoid rather than the paper's tanh since pgm's images lie in
[0, 1].
"""

from __future__ import annotations

import torch
from torch import nn

from pgm.adversarial.base import AdversarialModel, normal_init
from pgm.core import register
from pgm.errors import check_nonnegative_int, check_positive_int


def _dense(n_in: int, n_out: int, act: nn.Module) -> list[nn.Module]:
    return [nn.Linear(n_in, n_out, bias=False), nn.BatchNorm1d(n_out), act]


class _Generator(nn.Module):
    def __init__(self, latent: int, width: int, channels: int, hidden: int = 0):
        super().__init__()
        self.width = width
        first = _dense(latent, hidden, nn.ReLU()) if hidden else []  # InfoGAN's FC 1024
        self.project = nn.Sequential(*first, *_dense(hidden or latent, 2 * width * 7 * 7,
                                                     nn.ReLU()))
        self.deconv = nn.Sequential(
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False),  # 7 -> 14
            nn.BatchNorm2d(width), nn.ReLU(),
            nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Sigmoid())  # 14 -> 28

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.project(z).reshape(z.shape[0], 2 * self.width, 7, 7)  # (B, 2w, 7, 7)
        return self.deconv(h).flatten(1)  # (B, C*28*28)


def minibatch_std(h: torch.Tensor) -> torch.Tensor:
    """Append the batch's mean feature spread as one more map (Karras et al., 2018, Sec. 3):
    ``(B, C, H, W) -> (B, C + 1, H, W)``. A batch of near-identical images has a small
    spread, which the discriminator can then see: a check on mode collapse."""
    spread = h.std(0, unbiased=False).mean() if h.shape[0] > 1 else h.new_zeros(())
    return torch.cat([h, spread.expand(h.shape[0], 1, *h.shape[2:])], 1)


class _Discriminator(nn.Module):
    def __init__(self, width: int, channels: int, batch_std: bool = False, hidden: int = 0):
        super().__init__()
        self.channels, self.batch_std = channels, batch_std
        self.conv = nn.Sequential(
            nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2),  # 28 -> 14
            nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False),  # 14 -> 7
            nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2))
        flat = (2 * width + batch_std) * 7 * 7
        self.fc = nn.Sequential(*_dense(flat, hidden, nn.LeakyReLU(0.2)) if hidden else [])
        self.dim = hidden or flat  # features of the body, the input of the heads
        self.out = nn.Linear(self.dim, 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The body: images ``(B, D)`` -> features ``(B, dim)``."""
        h = self.conv(x.reshape(x.shape[0], self.channels, 28, 28))  # (B, 2w, 7, 7)
        if self.batch_std:
            h = minibatch_std(h)  # (B, 2w + 1, 7, 7)
        return self.fc(h.flatten(1))  # (B, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(x))  # (B, 1)


@register("dcgan")
class DCGAN(AdversarialModel):
    """Deep convolutional GAN: transposed-convolution generator, strided-conv discriminator.

    :param shape: ``(channels, 28, 28)``.
    :param latent: dimension ``L`` of the noise ``z ~ N(0, I)``.
    :param width: feature maps of the first discriminator layer (the others are multiples).
    :param loss: generator loss, ``"ns"`` (non-saturating) or ``"minimax"``.
    :param pixels: ``"grey"`` (``x = G(z)``) or ``"bernoulli"`` (binary ``x ~ Bernoulli(G(z))``,
        for binary data; see :mod:`pgm.adversarial.base`).
    :param temperature: of the straight-through relaxed Bernoulli (``pixels="bernoulli"``).
    :param batch_std: give the discriminator the batch's feature spread (minibatch
        standard deviation, Karras et al., 2018), against mode collapse.
    :param hidden: units of a fully connected layer after ``G``'s input and after ``D``'s
        convolutions, as in InfoGAN's MNIST networks (0: none).
    """

    defaults = {"lr": 2e-4, "batch_size": 64, "epochs": 10}

    def __init__(self, shape=(1, 28, 28), latent: int = 100, width: int = 64,
                 loss: str = "ns", pixels: str = "grey", temperature: float = 0.5,
                 batch_std: bool = False, hidden: int = 0):
        check_positive_int(width, "width")
        check_nonnegative_int(hidden, "hidden")
        if tuple(shape)[1:] != (28, 28):
            raise ValueError(f"shape: DCGAN is sized for (C, 28, 28) images, got {tuple(shape)}")
        super().__init__(shape, latent=latent, loss=loss, pixels=pixels,
                         temperature=temperature, width=width,
                         **({"batch_std": True} if batch_std else {}),
                         **({"hidden": hidden} if hidden else {}))
        self.generator = _Generator(latent, width, self.shape[0], hidden)
        self.discriminator = _Discriminator(width, self.shape[0], bool(batch_std), hidden)
        normal_init(self)
