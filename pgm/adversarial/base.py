"""What every generative adversarial network of pgm shares (Goodfellow et al., 2014).

A GAN is a pair of networks. The generator ``G`` is the generative model, written as a
Pyro program::

    model:  z ~ N(0, I)                        (B, L)   under pyro.plate("data")
            x = G(z)                           (B, D)   a deterministic site "x"

It is *implicit*: it can be sampled but has no density, so there is no ``log_prob`` and
no ELBO. The discriminator ``D`` maps an image to a logit, ``D(x) = sigmoid(logit)``, the
probability that ``x`` came from the data. The two play the minimax game

``min_G max_D  E_data[log D(x)] + E_z[log(1 - D(G(z)))]``

trained by alternating gradient steps (:mod:`pgm.infer.adversarial`). The generator's
loss is either the game's own ``log(1 - D(G(z)))`` (``"minimax"``), which saturates
when ``D`` rejects the samples confidently, or the non-saturating ``-log D(G(z))``
(``"ns"``) that Goodfellow et al. recommend in practice: same fixed point, strong
gradients early on.

On binary data (binarized MNIST) the generator's sigmoid outputs are best read as pixel
probabilities: with ``pixels="bernoulli"`` the images are ``x ~ Bernoulli(G(z))``, binary
like the data, so the discriminator cannot tell generated images by their grey values
alone. The draw is made differentiable by the straight-through Gumbel estimator (Jang,
Gu & Poole, 2017; Maddison, Mnih & Teh, 2017): the forward pass gives exact Bernoulli
draws, the backward pass the gradient of a relaxed sample at ``temperature``. The
default ``pixels="grey"`` keeps ``x = G(z)``.

Subclasses provide ``generator`` (``(B, L) -> (B, D)`` with values in [0, 1]) and
``discriminator`` (``(B, D) -> (B,)`` logits); InfoGAN, conditional GANs and the
adversarial autoencoder are meant to reuse :meth:`d_loss` and :meth:`g_loss`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pyro
import pyro.distributions as dist
import pyro.poutine as poutine
import torch
import torch.nn.functional as F
from torch import nn

from pgm.core import GenerativeModel
from pgm.core.base import evaluating
from pgm.errors import check_positive, check_positive_int

LOSSES = ("ns", "minimax")
PIXELS = ("grey", "bernoulli")
NOISES = ("normal", "uniform")


class AdversarialModel(GenerativeModel):
    """Base of the GANs: a generator as a Pyro model, a discriminator, and their losses.

    :param shape: ``(channels, height, width)``.
    :param latent: dimension ``L`` of the noise ``z`` (0 for a :attr:`translator`).
    :param loss: generator loss, ``"ns"`` (non-saturating, ``-log D(G(z))``) or
        ``"minimax"`` (``log(1 - D(G(z)))``).
    :param pixels: ``"grey"`` (``x = G(z)``) or ``"bernoulli"`` (``x ~ Bernoulli(G(z))``,
        straight-through Gumbel gradients), for binary data.
    :param temperature: of the relaxed Bernoulli whose gradient ``"bernoulli"`` uses.
    :param noise: ``p(z)``, ``"normal"`` (``N(0, I)``) or ``"uniform"`` (``Uniform(-1, 1)^L``,
        as in the InfoGAN reference implementation); for subclasses that pass it on.
    """

    kind = "implicit"
    #: trained by the two-player game (:class:`pgm.infer.adversarial.Adversarial`)
    trainer = "adversarial"
    #: no likelihood: judged by its samples
    evaluation = "samples"
    #: whether the generator takes a condition (a caption, a label) beside its noise
    conditional = False
    #: what a conditional model's condition is, for messages
    condition_name = "the conditions"
    #: a generator without noise whose input is its condition, an image (CycleGAN); its
    #: ``latent`` is 0
    translator = False
    #: images in [0, 1], binary or grey: the generator's outputs are grey either way
    binary = False
    #: settings of :class:`pgm.infer.adversarial.AdversarialConfig` that suit GANs
    defaults: dict[str, Any] = {"lr": 2e-4, "batch_size": 64, "epochs": 20}

    generator: nn.Module
    discriminator: nn.Module

    def __init__(self, shape=(1, 28, 28), latent: int = 100, loss: str = "ns",
                 pixels: str = "grey", temperature: float = 0.5, noise: str = "normal",
                 **config: Any):
        if not self.translator:
            check_positive_int(latent, "latent")
        if noise not in NOISES:
            raise ValueError(f"noise: expected one of {list(NOISES)}, got {noise!r}")
        if loss not in LOSSES:
            raise ValueError(f"loss: expected one of {list(LOSSES)}, got {loss!r}")
        if pixels not in PIXELS:
            raise ValueError(f"pixels: expected one of {list(PIXELS)}, got {pixels!r}")
        temperature = check_positive(temperature, "temperature")
        extra = {} if pixels == "grey" else {"pixels": pixels, "temperature": temperature}
        if noise != "normal":
            extra["noise"] = noise
        noise_size = {"latent": latent} if latent else {}
        super().__init__(shape, **noise_size, loss=loss, **config, **extra)
        self.latent = latent
        self.loss = loss
        self.pixels, self.temperature, self.noise = pixels, temperature, noise

    # -- the generator as a Pyro program -----------------------------------------------
    def prior(self) -> dist.Distribution:
        """The noise distribution ``p(z)`` over ``(L,)``: ``N(0, I)`` or ``Uniform(-1, 1)^L``."""
        zero = torch.zeros(self.latent, device=self._device())
        if self.noise == "uniform":
            return dist.Uniform(zero - 1.0, zero + 1.0).to_event(1)
        return dist.Normal(zero, 1.0).to_event(1)

    def draw_noise(self, n: int, rng: torch.Generator) -> torch.Tensor:
        """``n`` draws ``(n, L)`` of ``p(z)`` with ``rng``, leaving the global state alone."""
        if self.noise == "uniform":
            return 2 * torch.rand(n, self.latent, generator=rng) - 1
        return torch.randn(n, self.latent, generator=rng)

    def model(self, x: torch.Tensor | None = None, num_data: int | None = None,
              n: int | None = None) -> torch.Tensor:
        """``z ~ p(z)``, ``x = G(z)``: returns ``n`` (or ``len(x)``) images ``(B, D)``.

        ``x`` only sets the batch size: an implicit model has no likelihood to observe it
        under. The images are the deterministic site ``"x"``.
        """
        if x is None and n is None:
            raise ValueError("n: expected the number of images when x is not given")
        b = x.shape[0] if x is not None else check_positive_int(n, "n")
        self.register_parameters()
        with pyro.plate("data", b):
            z = pyro.sample("z", self.prior())  # (B, L)
            return self.images(self.generator_output(z))  # (B, D)

    def generator_output(self, z: torch.Tensor) -> torch.Tensor:
        """``G(z)``: the generator's output ``(B, D)`` for its inputs ``(B, L)``. A model whose
        generator reads more than ``z`` (Progressive GAN: how far it has grown) overrides it.
        """
        return self.generator(z)

    def images(self, g: torch.Tensor) -> torch.Tensor:
        """The image site ``"x"`` ``(B, D)`` of the generator's output ``g`` ``(B, D)``.

        ``pixels="grey"``: ``x = g``, a deterministic site. ``"bernoulli"``: a sample site
        ``x ~ Bernoulli(g)``, drawn by the straight-through Gumbel estimator.
        """
        if self.pixels == "grey":
            return pyro.deterministic("x", g, event_dim=1)
        probs = g.clamp(1e-6, 1 - 1e-6)
        t = torch.tensor(self.temperature, device=g.device)
        return pyro.sample("x", dist.RelaxedBernoulliStraightThrough(t, probs=probs)
                           .to_event(1))

    def guide(self, x: torch.Tensor | None = None, num_data: int | None = None,
              n: int | None = None) -> None:
        """No latent variable is inferred: a GAN has no encoder."""

    def generate(self, n: int, condition: Any = None, real: torch.Tensor | None = None
                 ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``n`` images ``(n, D)`` from :meth:`model`, and the values behind them.

        What the adversarial loop plays with: the values of the model's sample sites, and
        for a :attr:`conditional` model its ``condition`` (one per image, which then sets
        the number of images), go to :meth:`d_loss` and :meth:`g_loss`, for the models
        whose losses need them (InfoGAN's codes, the text-to-image GAN's captions). A model
        whose game is played elsewhere returns what it is played on (the adversarial
        autoencoder: prior draws of its code). ``real``, the step's real images, is for a
        model that reads them (StarGAN translates them, Puzzle-GAN cuts pieces from them);
        unused here.
        """
        kwargs = {} if condition is None else {"condition": condition}
        trace = poutine.trace(self.model).get_trace(n=n, **kwargs)
        latents = {name: site["value"] for name, site in trace.nodes.items()
                   if site["type"] == "sample" and not site["is_observed"] and name != "x"
                   and not poutine.util.site_is_subsample(site)}
        if condition is not None:
            latents["condition"] = condition
        return trace.nodes["x"]["value"], latents

    def generator_input(self, n: int, rng: torch.Generator, condition: Any = None,
                        real: torch.Tensor | None = None) -> Any:
        """``n`` inputs of :attr:`generator` drawn from the prior with ``rng``.

        The loop's fixed monitoring batch: it leaves the global random state alone. The
        loop also passes the first ``n`` training images, ``real``, and for a
        :attr:`conditional` model their conditions, ``condition``, for the models that read
        them (CycleGAN translates the conditions, StarGAN the images, Puzzle-GAN cuts
        pieces from them); unused here.
        """
        return self.draw_noise(n, rng)

    @classmethod
    def data_settings(cls, data: Any, config: dict[str, Any]) -> dict[str, Any]:
        """Binary data suggest Bernoulli pixels (``pixels="bernoulli"``), for a generator
        with a sigmoid output."""
        if (data.binary and "pixels" in inspect.signature(cls).parameters
                and config.get("output") != "linear"):
            return {"pixels": "bernoulli"}
        return {}

    def render(self, inputs: Any) -> torch.Tensor:
        """The images ``(n, D)`` of generator inputs from :meth:`generator_input`."""
        return self.generator_output(inputs)

    def elbo(self):
        raise NotImplementedError(f"{self.name or type(self).__name__} is an implicit model: "
                                  "it has no ELBO; train it with pgm.infer.adversarial.train")

    def sample(self, n: int, mean: bool = False) -> torch.Tensor:
        """``n`` images ``(n, D)`` (values in [0, 1] for a sigmoid output); with
        ``pixels="bernoulli"``, binary draws, or their probabilities ``G(z)`` when ``mean``.
        """
        return self.draw(self.model, mean, n=check_positive_int(n, "n"))

    @torch.no_grad()
    def draw(self, model: Callable[..., torch.Tensor], mean: bool = False,
             **kwargs: Any) -> torch.Tensor:
        """The images ``(n, D)`` of one run of ``model`` (:meth:`model`, perhaps conditioned
        on chosen values) with ``kwargs``, or their pixel probabilities when ``mean``.

        Runs in evaluation mode (batch norm uses its running statistics, so one image can
        be drawn and no statistic is updated), then restores the training mode.
        """
        with evaluating(self):
            site = poutine.trace(model).get_trace(**kwargs).nodes["x"]
        if mean and self.pixels == "bernoulli":
            return site["fn"].base_dist.probs  # Independent(RelaxedBernoulli...(probs))
        return site["value"]

    # -- the game ----------------------------------------------------------------------
    def discriminate(self, x: torch.Tensor) -> torch.Tensor:
        """The discriminator's logits ``(B, D) -> (B,)``: log-odds that ``x`` is real."""
        return self.discriminator(x).reshape(x.shape[0])

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor,
               latents: dict[str, torch.Tensor] | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Discriminator loss ``-E[log D(real)] - E[log(1 - D(fake))]`` and its accuracy.

        Real and fake batches go through ``D`` separately (as in DCGAN, so batch norm sees
        one kind at a time). Returns ``(loss, accuracy)``: the accuracy, the fraction of
        both batches classified correctly at threshold 1/2, is for monitoring (no gradient).
        ``latents``, the values that generated ``fake`` (:meth:`generate`), are unused here.
        """
        return self.d_game(self.discriminate(real), self.discriminate(fake))

    @staticmethod
    def d_game(logit_real: torch.Tensor, logit_fake: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """The discriminator's side of the game on its logits (any shape, e.g. ``(B,)``, or
        ``(B, P)`` for a patch discriminator): ``-E[log D(real)] - E[log(1 - D(fake))]``
        (``-log sigmoid(l) = softplus(-l)``), and the accuracy at threshold 1/2."""
        loss = F.softplus(-logit_real).mean() + F.softplus(logit_fake).mean()
        with torch.no_grad():
            accuracy = torch.cat([(logit_real > 0).flatten(),
                                  (logit_fake < 0).flatten()]).float().mean()
        return loss, accuracy

    def g_loss(self, fake: torch.Tensor, latents: dict[str, torch.Tensor] | None = None,
               real: torch.Tensor | None = None) -> torch.Tensor:
        """Generator loss on generated images ``(B, D)`` (``latents`` and the step's real
        images ``real`` are unused here).

        ``"ns"``: ``-E[log D(G(z))]``; ``"minimax"``: ``E[log(1 - D(G(z)))]``
        (``log(1 - sigmoid(l)) = -softplus(l)``).
        """
        return self.adversarial_loss(self.discriminate(fake))

    def discriminator_trained(self, real: torch.Tensor) -> None:
        """Called by the adversarial regime after each discriminator step, with the real
        images ``(B, D)`` of that step: for a model with a clock of training progress
        (Progressive GAN's growth schedule). Does nothing here; the losses have no side
        effects."""

    def adversarial_loss(self, logit: torch.Tensor) -> torch.Tensor:
        """The generator's loss given ``D``'s logits (``(B,)``, or any shape) on its images."""
        if self.loss == "ns":
            return F.softplus(-logit).mean()
        return -F.softplus(logit).mean()

    def scores(self, x: torch.Tensor) -> dict[str, float] | None:
        """Held-out measures of a model whose outputs can be checked against the real images
        ``x`` ``(n, D)`` they came from (translators: errors against known translations;
        Puzzle-GAN: completions against the originals), for ``pgm eval``; None here: a GAN
        that draws from noise is judged by its samples (:mod:`pgm.metrics`)."""
        return None

    def read_images(self, x: Any, name: str, what: str = "images") -> torch.Tensor:
        """``x`` checked as the real images ``(n, D)`` an :class:`ImageToImage` model needs
        (``what`` they are, for the message), or a ``ValueError`` naming ``name``."""
        if x is None:
            raise ValueError(f"{name}: {type(self).__name__} reads real images; expected "
                             f"{what} (n, {self.dim}), got None")
        return self.check(x, name)

    def condition_of(self, latents: dict[str, Any] | None) -> Any:
        """The conditions behind a :attr:`conditional` model's images, from the values
        :meth:`generate` returned with them."""
        if not latents or "condition" not in latents:
            raise ValueError(f"latents: expected {self.condition_name} behind the images under "
                             f"'condition' (from {type(self).__name__}.generate)")
        return latents["condition"]

    def _device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def num_parameters(self) -> int:
        """Parameters of the generator and the discriminator together."""
        return sum(p.numel() for p in self.parameters())


class ImageToImage(AdversarialModel):
    """Base of the GANs whose generator reads real images: translators (CycleGAN, StarGAN)
    and completers (Puzzle-GAN).

    They draw nothing from noise alone, so :meth:`preview` (``pgm sample``, the grid of
    ``pgm train``) generates from examples of the run's data, and they are judged by
    :meth:`scores`, their outputs checked against the real images they came from.
    """

    evaluation = "scores"  # its outputs checked against the known answers

    def preview(self, n: int, data: Callable[[], tuple[torch.Tensor, Any]] | None = None
                ) -> torch.Tensor:
        """The outputs ``(n, D)`` for the first ``n`` examples ``data()`` returns (the
        generator's inputs :meth:`generator_input` makes of them; noise, where there is
        any, from the global random state).

        :raises ValueError: ``data`` is None, or returns fewer than ``n`` examples.
        """
        n = check_positive_int(n, "n")
        if data is None:
            raise ValueError(f"data: {self.name or type(self).__name__} generates from real "
                             "images; expected a function returning (images, conditions), "
                             "got None")
        x, condition = data()
        if len(x) < n:
            raise ValueError(f"n: expected at most {len(x)} (the images there are to read), "
                             f"got {n}")
        rng = torch.Generator().manual_seed(int(torch.randint(2**31, ())))
        return self.render(self.generator_input(n, rng, condition=condition, real=x))

    def scores(self, x: torch.Tensor) -> dict[str, float]:
        """Held-out measures of the outputs for the real images ``x`` ``(n, D)`` against
        what they should be, for ``pgm eval``."""
        raise NotImplementedError


def normal_init(module: nn.Module, std: float = 0.02) -> None:
    """The DCGAN initialisation: weights ``N(0, std)``, batch-norm scales ``N(1, std)``,
    biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
