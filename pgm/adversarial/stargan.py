"""StarGAN: one generator that translates images among several domains (Choi et al., 2018).

Choi, Choi, Kim, Ha, Kim & Choo, "StarGAN: Unified Generative Adversarial Networks for
Multi-Domain Image-to-Image Translation", CVPR 2018. Where CycleGAN needs a pair of
translators for each pair of domains, StarGAN has one generator ``G(x, c)`` that takes the
target domain ``c`` as input. One discriminator both judges real against fake (``D_src``)
and classifies a real image's domain (``D_cls``)::

    L_D = L_GAN(D_src) + lambda_cls  CE(D_cls(x), c_x)                 real images: their domain
    L_G = L_GAN(G)     + lambda_cls  CE(D_cls(G(x, c)), c)             fakes: the target domain
                       + lambda_rec  |G(G(x, c), c_x) - x|_1           back to the source

As a Pyro program the generator has no noise; its inputs are an image and a target::

    model:  x_src, c                   (B, D), (B,)   the source images and target domains
            x = G(x_src, onehot(c))    (B, D)         a deterministic site "x"  (pyro.plate "data")

In the shared loop (:func:`pgm.infer.adversarial.train`) ``train`` holds images of all the
domains and ``condition`` their domain labels ``(n,)``; each step translates the real batch
to targets drawn uniformly. ``pgm train stargan`` makes the domains from one data set with
the transforms of :mod:`pgm.data.domains` (``domains``, default plain, bold, inverted), so
the true translation of a held-out image to every domain is known and
:meth:`StarGAN.translation_errors` scores the model against it.

Networks: CycleGAN's translator with the target as ``K`` extra constant input channels, and
its PatchGAN with a second head that classifies the whole image (a 7x7 convolution over
the last features), as in the paper. Changed for pgm: 28x28 images in [0, 1] (sigmoid); the
loss is pgm's GAN loss (non-saturating by default), not WGAN-GP.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyro
import torch
import torch.nn.functional as F

from pgm.adversarial.base import ImageToImage, normal_init
from pgm.adversarial.cyclegan import PatchDiscriminator, Translator
from pgm.core import register
from pgm.core.base import evaluating
from pgm.data import domains as domains_lib
from pgm.errors import check_nonnegative_int, check_positive, check_positive_int
from pgm.metrics import translation as translation_metrics


@register("stargan")
class StarGAN(ImageToImage):
    """StarGAN (Choi et al., 2018): one generator ``G(x, c)`` among ``K`` domains, one
    discriminator with a real/fake head and a domain-classifier head.

    :param shape: ``(channels, 28, 28)``.
    :param domains: names of the ``K >= 2`` domains, transforms of :mod:`pgm.data.domains`
        (``pgm train`` makes them from one data set; a user's own data only needs ``K``
        labels, and ``translation_errors`` needs the transforms).
    :param width: channels of the first layer of both networks (the paper: 64).
    :param blocks: residual blocks of the generator (the paper: 6).
    :param lambda_cls: weight of the domain-classification losses (the paper: 1).
    :param lambda_rec: weight of the reconstruction loss (the paper: 10).
    :param loss: generator loss, ``"ns"`` (non-saturating) or ``"minimax"``.
    """

    conditional = True
    translator = True
    condition_name = "the domain labels"
    defaults = {"lr": 2e-4, "batch_size": 32, "epochs": 20}

    def __init__(self, shape=(1, 28, 28), domains: Sequence[str] = ("plain", "bold", "inverted"),
                 width: int = 32, blocks: int = 3, lambda_cls: float = 1.0,
                 lambda_rec: float = 10.0, loss: str = "ns"):
        if isinstance(domains, str) or len(domains) < 2 or len(set(domains)) != len(domains):
            raise ValueError(f"domains: expected two or more distinct names of "
                             f"{sorted(domains_lib.TRANSFORMS)}, got {domains!r}")
        for name in domains:
            domains_lib.transform(name)  # raises on an unknown name
        check_positive_int(width, "width")
        check_nonnegative_int(blocks, "blocks")
        lambda_cls, lambda_rec = (check_positive(lambda_cls, "lambda_cls"),
                                  check_positive(lambda_rec, "lambda_rec"))
        if tuple(shape)[1:] != (28, 28):
            raise ValueError(f"shape: StarGAN is sized for (C, 28, 28) images, got "
                             f"{tuple(shape)}")
        super().__init__(shape, latent=0, loss=loss, domains=list(domains), width=width,
                         blocks=blocks, lambda_cls=lambda_cls, lambda_rec=lambda_rec)
        self.domain_names = list(domains)
        self.lambda_cls, self.lambda_rec = lambda_cls, lambda_rec
        k = len(domains)
        self.generator = Translator(self.shape, width, blocks, domains=k)
        self.discriminator = PatchDiscriminator(self.shape, width, domains=k)
        normal_init(self)

    # -- inputs ---------------------------------------------------------------------------
    def _labels(self, c, name: str, n: int | None = None) -> torch.Tensor:
        k = len(self.domain_names)
        if not isinstance(c, torch.Tensor) or c.ndim != 1 or c.dtype != torch.long:
            got = (f"{c.dtype} of shape {tuple(c.shape)}" if isinstance(c, torch.Tensor)
                   else repr(c))
            raise ValueError(f"{name}: expected domain labels, a (n,) long tensor in "
                             f"[0, {k}), got {got}")
        if len(c) and not (0 <= int(c.min()) and int(c.max()) < k):
            raise ValueError(f"{name}: expected domain labels in [0, {k}) "
                             f"({self.domain_names}), got values from {int(c.min())} to "
                             f"{int(c.max())}")
        if n is not None and len(c) != n:
            raise ValueError(f"{name}: expected one label per image ({n}), got {len(c)}")
        return c

    def _onehot(self, c: torch.Tensor) -> torch.Tensor:
        return F.one_hot(c, len(self.domain_names)).float()  # (B, K)

    # -- the generator as a Pyro program --------------------------------------------------
    def model(self, x: torch.Tensor | None = None, num_data: int | None = None,
              n: int | None = None, condition: torch.Tensor | None = None,
              source: torch.Tensor | None = None) -> torch.Tensor:
        """``x = G(source, onehot(condition))``: images ``source`` ``(B, D)`` translated to
        the domains ``condition`` ``(B,)``; returns ``(B, D)``."""
        src = self.read_images(source, "source")
        target = self._labels(condition, "condition", len(src))
        self.register_parameters()
        with pyro.plate("data", src.shape[0]):
            return self.images(self.generator(src, self._onehot(target)))  # (B, D)

    def generate(self, n: int, condition: torch.Tensor | None = None,
                 real: torch.Tensor | None = None
                 ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The loop's step: the real images ``real`` ``(B, D)`` of domains ``condition``
        ``(B,)`` translated to targets drawn uniformly; returns the fakes ``(B, D)`` and
        ``{"condition": source domains, "target": target domains}``."""
        src = self.read_images(real, "real")
        source = self._labels(condition, "condition", len(src))
        target = torch.randint(len(self.domain_names), (len(src),), device=src.device)
        return self.model(condition=target, source=src), {"condition": source,
                                                          "target": target}

    def generator_input(self, n: int, rng: torch.Generator,
                        condition: torch.Tensor | None = None,
                        real: torch.Tensor | None = None
                        ) -> tuple[torch.Tensor, torch.Tensor]:
        """The loop's monitoring batch: the first ``n`` training images (``real``) and
        target domains taking turns, ``((n, D), (n,))``; ``rng`` is unused."""
        x = self.read_images(real, "real")[:n]
        return x, torch.arange(len(x)) % len(self.domain_names)

    def render(self, inputs: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        x, target = inputs
        return self.generator(x, self._onehot(target))

    @torch.no_grad()
    def translate(self, x: torch.Tensor, target: int | torch.Tensor) -> torch.Tensor:
        """Images ``x`` ``(n, D)`` translated to the domain ``target`` (an index into
        ``domains``, or one per image ``(n,)``), in evaluation mode: ``(n, D)``."""
        x = self.read_images(x, "x")
        if isinstance(target, int) and not isinstance(target, bool):
            target = torch.full((len(x),), target, dtype=torch.long)
        target = self._labels(target, "target", len(x))
        with evaluating(self):
            return self.generator(x, self._onehot(target))

    def sample(self, n: int, condition: torch.Tensor | None = None, mean: bool = False,
               source: torch.Tensor | None = None) -> torch.Tensor:
        """The first ``n`` images of ``source`` translated to the domains ``condition``
        (default: each domain in turn): ``(n, D)``. A translator has nothing to sample
        without its input."""
        n = check_positive_int(n, "n")
        x = self.read_images(source, "source")
        if len(x) < n:
            raise ValueError(f"source: expected at least n={n} images, got {len(x)}")
        target = (torch.arange(n) % len(self.domain_names) if condition is None
                  else condition[:n])
        return self.translate(x[:n], target)

    def training_data(self, data) -> tuple[torch.Tensor, torch.Tensor]:
        """For ``pgm train``: images of every domain made from one data set and their domain
        labels, :func:`pgm.data.domains.labelled` with ``domains``."""
        return domains_lib.labelled(data.x, data.shape, self.domain_names)

    def translate_domains(self, x: torch.Tensor, source: int, target: int) -> torch.Tensor:
        """Images ``x`` ``(n, D)`` translated to the domain ``target`` (``source`` is not
        needed: the generator reads only the target)."""
        return self.translate(x, target)

    def translation_errors(self, x: torch.Tensor) -> dict[str, float]:
        """On held-out images ``x`` ``(n, D)``, made into every domain by its transform: the
        mean absolute pixel error of each translation ``j -> k`` against the truth
        (``l1_<j>_to_<k>``), their mean (``l1_mean``), and the marks to beat: the error of
        leaving the images unchanged, for each pair of domains (``l1_unchanged_<j>_<k>``,
        the same both ways) and on average (``l1_unchanged_mean``)."""
        errors = translation_metrics.translation_errors(
            self.translate_domains, self.read_images(x, "x"), self.shape, self.domain_names)
        names = self.domain_names
        out = {f"l1_{names[j]}_to_{names[k]}": e for (j, k), (e, _) in errors.items()}
        out |= {f"l1_unchanged_{names[j]}_{names[k]}": u for (j, k), (_, u) in errors.items()
                if j < k}
        out["l1_mean"] = sum(e for e, _ in errors.values()) / len(errors)
        out["l1_unchanged_mean"] = sum(u for _, u in errors.values()) / len(errors)
        return out

    def scores(self, x: torch.Tensor) -> dict[str, float]:
        """:meth:`translation_errors` (``pgm eval``)."""
        return self.translation_errors(x)

    # -- the game ---------------------------------------------------------------------------
    def d_loss(self, real: torch.Tensor, fake: torch.Tensor,
               latents: dict[str, torch.Tensor] | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """``L_D``: the GAN loss on real and translated images (patch logits) plus
        ``lambda_cls`` times the cross-entropy of the real images' domains
        (``latents["condition"]``); and the real/fake accuracy over all patches."""
        source = self.condition_of(latents)
        patch_real, class_real = self.discriminator.judge(real)
        loss, accuracy = self.d_game(patch_real, self.discriminator(fake))
        return loss + self.lambda_cls * F.cross_entropy(class_real, source), accuracy

    def g_loss(self, fake: torch.Tensor, latents: dict[str, torch.Tensor] | None = None,
               real: torch.Tensor | None = None) -> torch.Tensor:
        """``L_G`` for the translations ``fake`` of ``real`` from the domains
        ``latents["condition"]`` to ``latents["target"]``."""
        return sum(self.losses(real, self.condition_of(latents), latents["target"],
                               fake).values())

    def losses(self, x: torch.Tensor, source: torch.Tensor, target: torch.Tensor,
               fake: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """The weighted terms of ``L_G`` for images ``x`` ``(B, D)`` of domains ``source``
        translated to ``target`` (``fake``: ``G(x, target)`` if already computed):
        ``adversarial``, ``domain`` and ``reconstruction``."""
        if x is None:
            raise ValueError("real: StarGAN's generator loss needs the step's real images")
        fake = self.generator(x, self._onehot(target)) if fake is None else fake
        patch, domain = self.discriminator.judge(fake)
        back = self.generator(fake, self._onehot(source))
        return {"adversarial": self.adversarial_loss(patch),
                "domain": self.lambda_cls * F.cross_entropy(domain, target),
                "reconstruction": self.lambda_rec * (back - x).abs().mean()}

    def discriminate(self, x: torch.Tensor) -> torch.Tensor:
        raise TypeError("StarGAN's discriminator judges patches and domains: call "
                        "model.discriminator.judge(x) on images (B, D)")
