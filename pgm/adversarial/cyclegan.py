"""CycleGAN: unpaired image-to-image translation (Zhu, Park, Isola & Efros, 2017).

Zhu et al., "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial
Networks", ICCV 2017. Two domains of images, ``A`` and ``B``, with no pairs between
them. Two generators translate, ``G: A -> B`` and ``F: B -> A``; two discriminators
judge, ``D_B`` (real ``b`` against ``G(a)``) and ``D_A`` (real ``a`` against ``F(b)``).
The adversarial losses alone would let ``G`` map every ``a`` to any plausible ``b``; the
*cycle-consistency* loss asks that translating there and back returns the image::

    L = L_GAN(G, D_B) + L_GAN(F, D_A)
        + lambda  (|F(G(a)) - a|_1 + |G(F(b)) - b|_1)              cycle consistency
        + lambda * identity  (|G(b) - b|_1 + |F(a) - a|_1)         identity (Sec. 5.2)

As a Pyro program the generator has no noise: its input is its condition, an image of
``A``::

    model:  a                          (B, D)   the condition
            x = G(a)                   (B, D)   a deterministic site "x"  (pyro.plate "data")

So CycleGAN is a conditional :class:`~pgm.adversarial.base.AdversarialModel` that the
shared loop (:func:`pgm.infer.adversarial.train`) trains as it is: ``train`` holds the
images of ``B`` and ``condition`` those of ``A`` (as many, in any order: they are not
pairs). ``generator`` holds ``G`` and ``F``, ``discriminator`` ``D_A`` and ``D_B``, so the
loop's two optimisers step each pair together, as in the paper.

Networks, sized for 28x28: ``G`` and ``F`` are the paper's ResNet translator scaled down
(a 7x7 convolution, one stride-2 downsampling, ``blocks`` residual blocks at 14x14, one
upsampling, a 7x7 convolution, instance normalization); the discriminators are PatchGANs
that give a logit for each of 7x7 overlapping patches. Changed for pgm: images lie in
[0, 1] (a sigmoid rather than tanh); the loss is pgm's GAN loss (non-saturating by
default) rather than least squares; no history buffer of generated images.
"""

from __future__ import annotations

from typing import Any

import pyro
import torch
from torch import nn

from pgm.adversarial.base import ImageToImage, normal_init
from pgm.core import register
from pgm.core.base import evaluating
from pgm.data import domains as domains_lib
from pgm.errors import check_nonnegative_int, check_positive, check_positive_int
from pgm.metrics import translation as translation_metrics


class _Residual(nn.Module):
    """``x + conv(relu(norm(conv(x))))`` at constant shape ``(B, C, H, W)``."""

    def __init__(self, c: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c, c, 3, padding=1, padding_mode="reflect"), nn.InstanceNorm2d(c),
            nn.ReLU(),
            nn.Conv2d(c, c, 3, padding=1, padding_mode="reflect"), nn.InstanceNorm2d(c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Translator(nn.Module):
    """A generator of CycleGAN: images ``(B, D)`` of one domain to ``(B, D)`` of the other,
    values in [0, 1]. ``(B, C, 28, 28) -> (B, w, 28, 28) -> (B, 2w, 14, 14)`` (residual
    blocks) ``-> (B, w, 28, 28) -> (B, C, 28, 28)``.

    With ``domains = K > 0`` (StarGAN) it also reads the target domain, one-hot ``(B, K)``,
    as a learned shift of each channel after the first normalization (the shift part of a
    conditional instance norm, Dumoulin et al. 2017). StarGAN's own choice, ``K`` constant
    input channels, would be erased by that normalization: a constant map gives each
    channel a constant, which instance norm subtracts.
    """

    def __init__(self, shape: tuple[int, int, int], width: int, blocks: int,
                 domains: int = 0):
        super().__init__()
        self.shape = shape
        c, w = shape[0], width
        self.head = nn.Sequential(nn.Conv2d(c, w, 7, padding=3, padding_mode="reflect"),
                                  nn.InstanceNorm2d(w))
        self.domain = nn.Linear(domains, w, bias=False) if domains else None
        self.tail = nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(w, 2 * w, 3, stride=2, padding=1), nn.InstanceNorm2d(2 * w), nn.ReLU(),
            *[_Residual(2 * w) for _ in range(blocks)],
            nn.ConvTranspose2d(2 * w, w, 3, stride=2, padding=1, output_padding=1),
            nn.InstanceNorm2d(w), nn.ReLU(),
            nn.Conv2d(w, c, 7, padding=3, padding_mode="reflect"))

    def forward(self, x: torch.Tensor, domain: torch.Tensor | None = None) -> torch.Tensor:
        h = self.head(x.reshape(-1, *self.shape))  # (B, w, H, W)
        if (domain is None) != (self.domain is None):
            raise ValueError("domain: expected a one-hot target (B, K) exactly when the "
                             "translator was built with domains")
        if domain is not None:
            h = h + self.domain(domain)[:, :, None, None]  # (B, w, 1, 1)
        return torch.sigmoid(self.tail(h)).flatten(1)


class PatchDiscriminator(nn.Module):
    """PatchGAN (Isola et al., 2017): a logit for each overlapping patch of an image.
    ``(B, D) -> (B, C, 28, 28) -> (B, w, 14, 14) -> (B, 2w, 7, 7) -> (B, 49)``.

    With ``domains = K > 0`` (StarGAN) it also classifies the whole image's domain from
    the same features: :meth:`judge` gives both, the patch logits and ``(B, K)`` logits.
    """

    def __init__(self, shape: tuple[int, int, int], width: int, domains: int = 0):
        super().__init__()
        self.shape = shape
        c, w = shape[0], width
        self.body = nn.Sequential(
            nn.Conv2d(c, w, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(w, 2 * w, 4, stride=2, padding=1), nn.InstanceNorm2d(2 * w),
            nn.LeakyReLU(0.2))  # (B, 2w, 7, 7)
        self.patches = nn.Conv2d(2 * w, 1, 3, padding=1)
        self.classes = nn.Conv2d(2 * w, domains, 7) if domains else None  # (B, K, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.judge(x)[0]

    def judge(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Patch logits ``(B, 49)`` and domain logits ``(B, K)`` (None without domains)."""
        h = self.body(x.reshape(-1, *self.shape))
        domain = None if self.classes is None else self.classes(h).flatten(1)
        return self.patches(h).flatten(1), domain


@register("cyclegan")
class CycleGAN(ImageToImage):
    """CycleGAN (Zhu et al., 2017): translators ``G: A -> B``, ``F: B -> A`` trained
    adversarially with cycle consistency, from unpaired images of the two domains.

    :param shape: ``(channels, 28, 28)``, the same for both domains.
    :param width: channels of the first layer of every network (the paper: 64).
    :param blocks: residual blocks of each translator (the paper: 6 or 9).
    :param cycle: weight ``lambda`` of the cycle-consistency loss (the paper: 10).
    :param identity: weight of the identity loss, as a fraction of ``cycle`` (the paper:
        0.5 for some tasks, else 0).
    :param domains: for ``pgm train`` only: the transform of :mod:`pgm.data.domains` that
        makes domain B from half of the data (the other half is A).
    :param loss: generator loss, ``"ns"`` (non-saturating) or ``"minimax"``.
    """

    conditional = True
    condition_name = "the images of A"
    translator = True
    defaults = {"lr": 2e-4, "batch_size": 32, "epochs": 20}

    def __init__(self, shape=(1, 28, 28), width: int = 32, blocks: int = 3,
                 cycle: float = 10.0, identity: float = 0.5, domains: str = "bold",
                 loss: str = "ns"):
        check_positive_int(width, "width")
        check_nonnegative_int(blocks, "blocks")
        cycle = check_positive(cycle, "cycle")
        if not (isinstance(identity, int | float) and identity >= 0):
            raise ValueError(f"identity: expected a number >= 0, got {identity!r}")
        domains_lib.transform(domains)  # raises on an unknown name
        if tuple(shape)[1:] != (28, 28):
            raise ValueError(f"shape: CycleGAN is sized for (C, 28, 28) images, got "
                             f"{tuple(shape)}")
        super().__init__(shape, latent=0, loss=loss, width=width, blocks=blocks, cycle=cycle,
                         identity=float(identity), domains=domains)
        self.cycle, self.identity, self.domains = cycle, float(identity), domains
        #: domain A is the images as they are, B their transform ``domains``
        self.domain_names = ["plain", domains]
        self.generator = nn.ModuleDict({"ab": Translator(self.shape, width, blocks),
                                        "ba": Translator(self.shape, width, blocks)})
        self.discriminator = nn.ModuleDict({"a": PatchDiscriminator(self.shape, width),
                                            "b": PatchDiscriminator(self.shape, width)})
        normal_init(self)

    # -- the generator as a Pyro program --------------------------------------------------
    def model(self, x: torch.Tensor | None = None, num_data: int | None = None,
              n: int | None = None, condition: torch.Tensor | None = None) -> torch.Tensor:
        """``x = G(a)`` for the images ``a = condition`` ``(B, D)`` of domain A: ``(B, D)``.

        ``condition`` sets the number of images (``x`` and ``n`` are not needed).
        """
        a = self._images(condition, "condition")
        self.register_parameters()
        with pyro.plate("data", a.shape[0]):
            return self.images(self.generator_output(a))  # (B, D)

    def generator_output(self, a: torch.Tensor) -> torch.Tensor:
        """``G(a)``: images ``(B, D)`` of domain A translated to B."""
        return self.generator["ab"](a)

    def generator_input(self, n: int, rng: torch.Generator,
                        condition: torch.Tensor | None = None,
                        real: torch.Tensor | None = None) -> torch.Tensor:
        """The loop's monitoring batch: the first ``n`` images of A it trains on
        (``condition``); ``rng`` and ``real`` are unused (there is no noise)."""
        return self._images(condition, "condition")[:n]

    def _images(self, x: Any, name: str) -> torch.Tensor:
        return self.read_images(x, name, "images of domain A")

    @torch.no_grad()
    def translate(self, x: torch.Tensor, direction: str = "ab") -> torch.Tensor:
        """Images ``x`` ``(n, D)`` translated, ``"ab"`` by ``G`` (A to B) or ``"ba"`` by ``F``
        (B to A), in evaluation mode: ``(n, D)``."""
        if direction not in self.generator:
            raise ValueError(f"direction: expected 'ab' or 'ba', got {direction!r}")
        with evaluating(self):
            return self.generator[direction](self.read_images(x, "x"))

    def sample(self, n: int, condition: torch.Tensor | None = None,
               mean: bool = False) -> torch.Tensor:
        """The first ``n`` images of ``condition`` ``(>= n, D)``, of domain A, translated to B
        ``(n, D)``: a translator has nothing to sample without its input."""
        n = check_positive_int(n, "n")
        a = self._images(condition, "condition")
        if len(a) < n:
            raise ValueError(f"condition: expected at least n={n} images, got {len(a)}")
        return self.translate(a[:n])

    def training_data(self, data) -> tuple[torch.Tensor, torch.Tensor]:
        """For ``pgm train``: from one data set, the images of B (``train``) and of A (the
        ``condition``), :func:`pgm.data.domains.unpaired` halves with ``domains``."""
        a, b = domains_lib.unpaired(data.x, data.shape, self.domains)
        return b, a

    def translate_domains(self, x: torch.Tensor, source: int, target: int) -> torch.Tensor:
        """Images ``x`` ``(n, D)`` of domain ``source`` translated to ``target`` (indices into
        :attr:`domain_names`: 0 for A, 1 for B)."""
        if {source, target} != {0, 1}:
            raise ValueError(f"source, target: expected 0 and 1 or 1 and 0 (A and B), got "
                             f"{source} and {target}")
        return self.translate(x, "ab" if source == 0 else "ba")

    def translation_errors(self, a: torch.Tensor) -> dict[str, float]:
        """How well the translators undo the transform ``T`` of ``domains`` on held-out
        images ``a`` ``(n, D)`` of A, whose true counterparts ``b = T(a)`` are known: mean
        absolute pixel errors ``l1_ab`` of ``G(a)`` against ``b``, ``l1_ba`` of ``F(b)``
        against ``a``, ``l1_cycle`` of ``F(G(a))`` against ``a``, and ``l1_unchanged``, the
        error of leaving the images as they are (``|a - b|``), the mark to beat."""
        a = self._images(a, "a")
        errors = translation_metrics.translation_errors(self.translate_domains, a, self.shape,
                                                        self.domain_names)
        cycle = (self.translate(self.translate(a), "ba") - a).abs().mean().item()
        return {"l1_ab": errors[0, 1][0], "l1_ba": errors[1, 0][0], "l1_cycle": cycle,
                "l1_unchanged": errors[0, 1][1]}

    def scores(self, x: torch.Tensor) -> dict[str, float]:
        """:meth:`translation_errors` (``pgm eval``)."""
        return self.translation_errors(x)

    # -- the game ---------------------------------------------------------------------------
    def d_loss(self, real: torch.Tensor, fake: torch.Tensor,
               latents: dict[str, torch.Tensor] | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Both discriminators' losses, summed: ``D_B`` on real ``b`` (``real``) against
        ``G(a)`` (``fake``), ``D_A`` on real ``a`` (``latents["condition"]``) against
        ``F(b)``; and their mean accuracy over all patches."""
        a = self.condition_of(latents)
        with torch.no_grad():
            fake_a = self.generator["ba"](real)  # (B, D)
        d = self.discriminator
        loss_b, acc_b = self.d_game(d["b"](real), d["b"](fake))  # (B, P) logits
        loss_a, acc_a = self.d_game(d["a"](a), d["a"](fake_a))
        return loss_a + loss_b, (acc_a + acc_b) / 2

    def g_loss(self, fake: torch.Tensor, latents: dict[str, torch.Tensor] | None = None,
               real: torch.Tensor | None = None) -> torch.Tensor:
        """The translators' loss (the module docstring's ``L``) for ``fake = G(a)``, the
        images ``a`` behind it (``latents["condition"]``) and the step's ``b`` (``real``)."""
        return sum(self.losses(self.condition_of(latents), real, fake).values())

    def losses(self, a: torch.Tensor, b: torch.Tensor, fake_b: torch.Tensor | None = None
               ) -> dict[str, torch.Tensor]:
        """The weighted terms of the translators' loss for a batch of ``a`` and of ``b``
        ``(B, D)`` each (``fake_b``: ``G(a)`` if already computed): ``adversarial``,
        ``cycle`` and ``identity``."""
        if b is None:
            raise ValueError("real: CycleGAN's generator loss needs the step's images of B")
        g, f, d = self.generator["ab"], self.generator["ba"], self.discriminator
        fake_b = g(a) if fake_b is None else fake_b  # (B, D)
        fake_a = f(b)
        terms = {
            "adversarial": self.adversarial_loss(d["b"](fake_b))
            + self.adversarial_loss(d["a"](fake_a)),
            "cycle": self.cycle * ((f(fake_b) - a).abs().mean() + (g(fake_a) - b).abs().mean()),
        }
        if self.identity:
            terms["identity"] = self.cycle * self.identity * (
                (g(b) - b).abs().mean() + (f(a) - a).abs().mean())
        return terms

    def discriminate(self, x: torch.Tensor) -> torch.Tensor:
        raise TypeError("CycleGAN has two patch discriminators: call "
                        "model.discriminator['a'] or ['b'] on images (B, D)")
