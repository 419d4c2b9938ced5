"""The adversarial autoencoder (Makhzani, Shlens, Jaitly, Goodfellow & Frey, 2016).

A latent-variable model whose prior fitting is done by a discriminator instead of a KL::

    model:  z ~ p(z)                           (B, L)   under pyro.plate("data")
            x | z ~ prod_d Bernoulli(decoder(z)_d)
    guide:  z = encoder(x)                     (B, L)   a point mass (or a Gaussian)

The VAE's ELBO fits the prior through ``KL(q(z | x) || p(z))``, which needs ``log p(z)``
and ``log q(z | x)``. The AAE needs neither: a discriminator ``D(z)`` learns to tell draws
of the prior from codes of the data, ``z = encoder(x)``, and the encoder is trained to
fool it, so the aggregated posterior ``q(z) = E_data q(z | x)`` is pushed to ``p(z)`` by
the GAN game (:mod:`pgm.adversarial.base`) played in code space. Any prior that can be
*sampled* will do: the ``"swiss-roll"`` prior has no density at all
(:class:`pgm.distributions.SwissRoll`).

The paper alternates two phases per mini-batch, reconstruction (encoder and decoder) and
regularisation (discriminator, then encoder). The shared adversarial loop
(:mod:`pgm.infer.adversarial`) plays them as its two players: the discriminator's step,
then the autoencoder's step on

``g_loss = -log p(x | z = encoder(x)) + weight * adversarial_loss(D(encoder(x)))``

(reconstruction in nats per image). The images the loop's monitors look at are decoded
prior draws, ``decoder(z)``, ``z ~ p(z)``: the model's samples.
"""

from __future__ import annotations

import math
from typing import Any

import pyro
import pyro.distributions as dist
import torch
from torch import nn

from pgm.adversarial.base import AdversarialModel
from pgm.adversarial.gan import _mlp
from pgm.core import register
from pgm.distributions import DiagonalNormalMixture, ProductBernoulli, SwissRoll
from pgm.errors import check_positive, check_positive_int, check_sizes

PRIORS = ("normal", "mixture", "swiss-roll")
POSTERIORS = ("deterministic", "gaussian")


def ring_mixture(latent: int, components: int = 10, radius: float = 4.0,
                 scale: float = 0.5) -> dist.Distribution:
    """``components`` Gaussians with means evenly spaced on a circle of ``radius`` in the
    first two of ``latent`` dimensions (0 in the others), each ``N(mean, scale^2 I)``; event
    ``(latent,)``. Makhzani et al.'s mixture prior (Fig. 4) for ``latent=2``.
    """
    angle = 2 * math.pi * torch.arange(components) / components  # (K,)
    loc = torch.zeros(components, latent)
    loc[:, 0], loc[:, 1] = radius * angle.cos(), radius * angle.sin()
    return DiagonalNormalMixture(torch.zeros(components), loc, torch.full_like(loc, scale))


@register("aae")
class AdversarialAutoencoder(AdversarialModel):
    """Adversarial autoencoder with a Bernoulli decoder and fully connected networks.

    :param shape: ``(channels, height, width)``.
    :param latent: dimension ``L`` of the code ``z`` (2 for the ``mixture`` and
        ``swiss-roll`` priors' pictures; ``swiss-roll`` needs exactly 2).
    :param hidden: hidden layer sizes of the encoder, mirrored by the decoder; the
        discriminator on codes has the same sizes.
    :param prior: ``"normal"`` (``N(0, I)``), ``"mixture"`` (:func:`ring_mixture`) or
        ``"swiss-roll"`` (:class:`~pgm.distributions.SwissRoll`, samples only).
    :param posterior: ``"deterministic"`` (``z = encoder(x)``) or ``"gaussian"``
        (``z ~ N(mu(x), sigma(x))``, reparameterised), Sec. 2.1 of the paper.
    :param weight: of the adversarial term against the reconstruction (nats per image) in
        the autoencoder's loss.
    :param loss: the encoder's adversarial loss, ``"ns"`` or ``"minimax"``.
    """

    kind = "implicit"  # no likelihood to evaluate: judged by its samples and codes
    binary = True
    defaults: dict[str, Any] = {"lr": 1e-3, "lr_d": 2e-4, "batch_size": 100, "epochs": 50}

    def __init__(self, shape=(1, 28, 28), latent: int = 8, hidden=(512, 512),
                 prior: str = "normal", posterior: str = "deterministic",
                 weight: float = 3.0, loss: str = "ns"):
        hidden = check_sizes(hidden, "hidden")
        if prior not in PRIORS:
            raise ValueError(f"prior: expected one of {list(PRIORS)}, got {prior!r}")
        if posterior not in POSTERIORS:
            raise ValueError(f"posterior: expected one of {list(POSTERIORS)}, got {posterior!r}")
        if prior == "swiss-roll" and latent != 2:
            raise ValueError(f"latent: the swiss-roll prior is 2-D; expected 2, got {latent!r}")
        if prior == "mixture" and latent < 2:
            raise ValueError(f"latent: the mixture prior's ring needs 2 dimensions or more, "
                             f"got {latent!r}")
        super().__init__(shape, latent=latent, loss=loss, hidden=hidden, prior=prior,
                         posterior=posterior, weight=check_positive(weight, "weight"))
        self.weight = float(weight)
        out = latent * (2 if posterior == "gaussian" else 1)
        # the loop's "generator" player is the autoencoder: encoder and decoder together
        self.generator = nn.ModuleDict({
            "encoder": nn.Sequential(*_mlp([self.dim, *hidden], nn.ReLU),
                                     nn.Linear(hidden[-1], out)),  # (B, D) -> (B, out)
            "decoder": nn.Sequential(*_mlp([latent, *hidden[::-1]], nn.ReLU),
                                     nn.Linear(hidden[0], self.dim)),  # (B, L) -> (B, D)
        })
        self.discriminator = nn.Sequential(  # codes (B, L) -> logits (B, 1)
            *_mlp([latent, *hidden], lambda: nn.LeakyReLU(0.2)), nn.Linear(hidden[-1], 1))
        self.register_buffer("_zero", torch.zeros(()))  # follows the model's device

    # -- the networks ----------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The guide's ``(loc, scale)`` for images ``(B, D)``, each ``(B, L)``; ``scale`` is
        ``None`` for the deterministic posterior (``loc`` is then the code)."""
        h = self.generator["encoder"](x)
        if self.config["posterior"] == "deterministic":
            return h, None
        loc, scale = h.chunk(2, -1)
        return loc, nn.functional.softplus(scale) + 1e-4

    def posterior(self, x: torch.Tensor) -> dist.Distribution:
        """``q(z | x)`` for images ``(B, D)``: batch ``(B,)``, event ``(L,)``."""
        loc, scale = self.encode(x)
        if scale is None:
            return dist.Delta(loc, event_dim=1)
        return dist.Normal(loc, scale).to_event(1)

    @property
    def decoder(self) -> nn.Module:
        """The decoder network, codes ``(B, L)`` to pixel logits ``(B, D)`` (as the VAE's)."""
        return self.generator["decoder"]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Pixel logits ``(B, D)`` of codes ``(B, L)``."""
        return self.decoder(z)

    def prior(self) -> dist.Distribution:
        """``p(z)``: batch ``()``, event ``(L,)``; ``"swiss-roll"`` can only be sampled."""
        name = self.config["prior"]
        if name == "normal":
            return dist.Normal(self._zero.expand(self.latent), 1.0).to_event(1)
        if name == "mixture":
            return ring_mixture(self.latent)
        return SwissRoll()

    # -- the Pyro programs -----------------------------------------------------------------
    def model(self, x: torch.Tensor | None = None, num_data: int | None = None,
              n: int | None = None) -> torch.Tensor:
        """``z ~ p(z)``, ``x | z ~ Bernoulli(decoder(z))``, observed when ``x`` is given;
        otherwise ``n`` images are drawn. Returns the images ``(B, D)``."""
        if x is None and n is None:
            raise ValueError("n: expected the number of images when x is not given")
        b = x.shape[0] if x is not None else check_positive_int(n, "n")
        self.register_parameters()
        with pyro.plate("data", b) if x is None else self.data_plate(x, num_data):
            z = pyro.sample("z", self.prior())  # (B, L)
            return pyro.sample("x", ProductBernoulli(self.decode(z)), obs=x)  # (B, D)

    def guide(self, x: torch.Tensor | None = None, num_data: int | None = None,
              n: int | None = None) -> None:
        """``z ~ q(z | x)``, the encoder (a point mass unless ``posterior="gaussian"``)."""
        if x is None:
            raise ValueError("x: the guide encodes images; expected a tensor (B, D), got None")
        self.register_parameters()
        with self.data_plate(x, num_data):
            pyro.sample("z", self.posterior(x))

    # -- what the loop plays ---------------------------------------------------------------
    def generate(self, n: int, condition: Any = None, real: torch.Tensor | None = None
                 ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """What the loop's game plays with, in code space: ``n`` prior draws ``z``
        ``(n, L)``, as the batch and under ``"z"``. Nothing is decoded: neither player's
        loss looks at images of prior draws (those are :meth:`render`'s)."""
        z = self.prior().sample((check_positive_int(n, "n"),))  # (n, L)
        return z, {"z": z}

    def generator_input(self, n: int, rng: torch.Generator, condition=None,
                        real=None) -> torch.Tensor:
        """``n`` prior draws ``(n, L)`` seeded from ``rng``; the global random state
        is left as it was."""
        seed = int(torch.randint(2**31 - 1, (1,), generator=rng))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return self.prior().sample((n,))

    def render(self, inputs: torch.Tensor) -> torch.Tensor:
        """Pixel probabilities ``(n, D)`` of codes ``(n, L)``."""
        return torch.sigmoid(self.decode(inputs))

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor,
               latents: dict[str, torch.Tensor] | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """The GAN game in code space: prior draws ``latents["z"]`` ``(B, L)`` (those behind
        ``fake``) are real, codes of the images ``real`` ``(B, D)`` are fake. Returns
        ``(loss, accuracy)``."""
        if not latents or "z" not in latents:
            raise ValueError("latents: expected the prior draws under 'z' "
                             "(from AdversarialAutoencoder.generate)")
        prior_draws = latents["z"]  # (B, L): what the discriminator should accept
        with torch.no_grad():  # the encoder is not this player
            codes = self.posterior(real).sample()  # (B, L): what it should reject
        return self.d_game(self.discriminate(prior_draws), self.discriminate(codes))

    def g_loss(self, fake: torch.Tensor, latents: dict[str, torch.Tensor] | None = None,
               real: torch.Tensor | None = None) -> torch.Tensor:
        """The autoencoder's loss on the batch ``real`` ``(B, D)``: reconstruction
        ``-log p(x | z)`` (nats per image) plus ``weight`` times the encoder's adversarial
        loss on its codes ``z ~ q(z | x)``. ``fake`` and ``latents`` are unused."""
        if real is None:
            raise ValueError("real: the autoencoder's step needs the batch of real images, "
                             "got None")
        terms = self.terms(real)
        return terms["reconstruction"] + self.weight * terms["adversarial"]

    def terms(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The two terms of the autoencoder's loss on images ``(B, D)``, as scalars:
        ``reconstruction`` (mean ``-log p(x | z)``, nats) and ``adversarial``."""
        z = self.posterior(x).rsample()  # (B, L)
        rec = -ProductBernoulli(self.decode(z)).log_prob(x).mean()
        return {"reconstruction": rec, "adversarial": self.adversarial_loss(self.discriminate(z))}

    # -- what a fitted AAE offers ----------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, mean: bool = False) -> torch.Tensor:
        """``n`` images ``(n, D)``: binary draws, or their probabilities when ``mean``."""
        probs = self.render(self.prior().sample((check_positive_int(n, "n"),)))
        return probs if mean else torch.bernoulli(probs)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Pixel probabilities ``(B, D)`` of the decoded codes of images ``(B, D)``."""
        return self.render(self.encode(self.check(x))[0])
