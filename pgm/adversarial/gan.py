"""The generative adversarial network with fully connected players (Goodfellow et al., 2014).

Goodfellow, Pouget-Abadie, Mirza, Xu, Warde-Farley, Ozair, Courville & Bengio,
"Generative Adversarial Nets", NeurIPS 2014::

    G:  z (B, L) -> [Linear -> ReLU] x len(hidden) -> Linear -> sigmoid -> x (B, D)
    D:  x (B, D) -> [Linear -> LeakyReLU(0.2)] x len(hidden) -> Linear -> logit (B,)

The paper's generator used ReLU and sigmoid units and its discriminator maxout units with
dropout; LeakyReLU discriminators (Radford et al., 2016) train as well and are simpler.
``output="linear"`` drops the sigmoid, for data that are not images in [0, 1] (the 2-D
toy mixtures of the tests).
"""

from __future__ import annotations

from torch import nn

from pgm.adversarial.base import AdversarialModel
from pgm.core import register
from pgm.errors import check_sizes

OUTPUTS = ("sigmoid", "linear")


def _mlp(sizes: list[int], act) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(a, b), act()]
    return layers


@register("gan")
class GAN(AdversarialModel):
    """Generative adversarial network with fully connected generator and discriminator.

    :param shape: ``(channels, height, width)``.
    :param latent: dimension ``L`` of the noise ``z ~ N(0, I)``.
    :param hidden: hidden layer sizes of the generator (the discriminator mirrors them).
    :param loss: generator loss, ``"ns"`` (non-saturating) or ``"minimax"``.
    :param output: ``"sigmoid"`` (images in [0, 1]) or ``"linear"`` (any real values).
    :param pixels: ``"grey"`` (``x = G(z)``) or ``"bernoulli"`` (binary ``x ~ Bernoulli(G(z))``,
        for binary data; see :mod:`pgm.adversarial.base`).
    :param temperature: of the straight-through relaxed Bernoulli (``pixels="bernoulli"``).
    """

    def __init__(self, shape=(1, 28, 28), latent: int = 100, hidden=(256, 512),
                 loss: str = "ns", output: str = "sigmoid", pixels: str = "grey",
                 temperature: float = 0.5):
        hidden = check_sizes(hidden, "hidden")
        if output not in OUTPUTS:
            raise ValueError(f"output: expected one of {list(OUTPUTS)}, got {output!r}")
        if output == "linear" and pixels != "grey":
            raise ValueError(f"pixels: Bernoulli pixels need output='sigmoid', got "
                             f"pixels={pixels!r} with output='linear'")
        super().__init__(shape, latent=latent, loss=loss, pixels=pixels,
                         temperature=temperature, hidden=hidden, output=output)
        g_sizes = [latent, *hidden]
        self.generator = nn.Sequential(
            *_mlp(g_sizes, nn.ReLU), nn.Linear(g_sizes[-1], self.dim),  # (B, L) -> (B, D)
            *([nn.Sigmoid()] if output == "sigmoid" else []))
        d_sizes = [self.dim, *reversed(hidden)]
        self.discriminator = nn.Sequential(  # (B, D) -> (B, 1)
            *_mlp(d_sizes, lambda: nn.LeakyReLU(0.2)), nn.Linear(d_sizes[-1], 1))
