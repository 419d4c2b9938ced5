"""Puzzle-GAN: a whole image from a few of its pieces (Lee et al., 2018).

Lee, Yun, Choi, Yoo, Yang & Oh, "Unsupervised Holistic Image Generation from Key Local
Patches", ECCV 2018. The generator receives ``K`` key patches of an image, cut out at
unknown places, and must draw the whole image, the patches put back where they belong,
and a mask saying where that is. No labels: the patches come from the training images
themselves. Three losses::

    L_G = L_GAN(G)                                              realistic images
          + lambda_app  |G(patches, z) - x|_1                   appearance: the image they came from
          + lambda_spa  BCE(M(patches, z), mask of the patches)  spatial: where the pieces lie
    L_D = L_GAN(D)

As a Pyro program, for patches ``p`` ``(B, K, P, P)``::

    model:  z ~ N(0, I)                           (B, L)   under pyro.plate("data")
            x = G(encode(p_1), ..., encode(p_K), z)   (B, D)   a deterministic site "x"

Key patches here are ``K`` windows of ``patch x patch`` pixels drawn without replacement
with probability proportional to the ink they hold (the paper takes object proposals;
digits have one object, and blank windows carry nothing). Every step draws new ones from
the real batch, which the loop hands to :meth:`PuzzleGAN.generate`, so the model trains on
images alone (it is not ``conditional``).

Networks: a shared patch encoder (two convolutions, LeakyReLU, a linear layer to
``embed`` features); the codes of the ``K`` patches and ``z`` go through DCGAN's generator
(:mod:`pgm.adversarial.dcgan`) with one more output channel for the mask; the
discriminator is DCGAN's. Changed for pgm: 28x28 images; the loss weights and learning
rates are pgm's: ``lambda_app`` 100, pix2pix's weight of its L1 term (Isola et al., 2017),
``lambda_spa`` 10, and the generator learns at 1e-3, the discriminator at 2e-4. With
``lambda_app`` 10 and both at 2e-4 the adversarial term wins: in 15 minutes on MNIST the
generator drew realistic digits of any class, whatever the pieces (its completions kept
the original's class 11% of the time, chance being 10%).
"""

from __future__ import annotations

import pyro
import torch
import torch.nn.functional as F
from torch import nn

from pgm.adversarial.base import ImageToImage, normal_init
from pgm.adversarial.dcgan import _Discriminator, _Generator
from pgm.core import register
from pgm.core.base import evaluating
from pgm.errors import check_positive, check_positive_int


def key_patches(x: torch.Tensor, shape: tuple[int, int, int], k: int, size: int,
                generator: torch.Generator | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """``k`` windows of ``size x size`` pixels of each image ``x`` ``(B, D)``, drawn without
    replacement with probability proportional to their ink (plus a little, so that a blank
    image still has windows). Returns the patches ``(B, k, C, size, size)`` and the mask
    ``(B, H*W)`` of the pixels they cover."""
    b = x.shape[0]
    c, h, w = shape
    img = x.reshape(b, c, h, w)
    ink = F.avg_pool2d(img.sum(1, keepdim=True), size, stride=1).flatten(1)  # (B, P)
    cols = w - size + 1
    where = torch.multinomial(ink + 1e-3, k, generator=generator)  # (B, k) window indices
    rows_, cols_ = where // cols, where % cols
    dy = torch.arange(size)
    ys = (rows_[..., None] + dy)  # (B, k, size)
    xs = (cols_[..., None] + dy)
    bi = torch.arange(b)[:, None, None, None]
    patches = img.permute(0, 2, 3, 1)[bi, ys[..., :, None], xs[..., None, :]]  # (B,k,s,s,C)
    mask = torch.zeros(b, h, w)
    mask[bi, ys[..., :, None], xs[..., None, :]] = 1.0
    return patches.permute(0, 1, 4, 2, 3), mask.flatten(1)


class PatchEncoder(nn.Module):
    """One patch ``(N, C, s, s)`` to a code ``(N, E)``: conv 3x3, conv 4x4 stride 2,
    LeakyReLU 0.2, linear."""

    def __init__(self, channels: int, size: int, width: int, embed: int):
        super().__init__()
        half = (size - 2) // 2 + 1  # after the stride-2 convolution
        self.net = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(2 * width * half * half, embed))

    def forward(self, p: torch.Tensor) -> torch.Tensor:
        return self.net(p)


class _PuzzleGenerator(nn.Module):
    """Patches ``(B, K, C, s, s)`` and noise ``(B, L)`` to an image and a mask, ``(B, C+1, 28,
    28)`` flattened to ``(B, (C+1) * 784)``, values in [0, 1]."""

    def __init__(self, shape, patches: int, size: int, latent: int, width: int, embed: int):
        super().__init__()
        c = shape[0]
        self.encoder = PatchEncoder(c, size, width, embed)
        self.decoder = _Generator(patches * embed + latent, width, c + 1)

    def forward(self, patches: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        b, k = patches.shape[:2]
        codes = self.encoder(patches.flatten(0, 1)).reshape(b, -1)  # (B, K*E)
        return self.decoder(torch.cat([codes, z], 1))


@register("puzzlegan")
class PuzzleGAN(ImageToImage):
    """Puzzle-GAN (Lee et al., 2018): the whole image and where its pieces lie, from ``K``
    key patches and noise.

    :param shape: ``(channels, 28, 28)``.
    :param patches: ``K``, key patches per image (the paper: 2 to 4).
    :param patch: side of a patch in pixels.
    :param latent: dimension of the noise ``z``.
    :param width: DCGAN's ``width`` for the generator and discriminator, and the patch
        encoder's first layer.
    :param embed: size of a patch's code.
    :param lambda_app: weight of the appearance loss (L1 to the image the patches came from).
    :param lambda_spa: weight of the spatial loss (the mask's binary cross-entropy).
    :param loss: generator loss, ``"ns"`` (non-saturating) or ``"minimax"``.
    """

    defaults = {"lr": 1e-3, "lr_d": 2e-4, "batch_size": 64, "epochs": 20}

    def __init__(self, shape=(1, 28, 28), patches: int = 3, patch: int = 8, latent: int = 16,
                 width: int = 32, embed: int = 32, lambda_app: float = 100.0,
                 lambda_spa: float = 10.0, loss: str = "ns"):
        for v, name in ((patches, "patches"), (width, "width"), (embed, "embed")):
            check_positive_int(v, name)
        if tuple(shape)[1:] != (28, 28):
            raise ValueError(f"shape: Puzzle-GAN is sized for (C, 28, 28) images, got "
                             f"{tuple(shape)}")
        if not (isinstance(patch, int) and 2 <= patch <= 28):
            raise ValueError(f"patch: expected a side in pixels from 2 to 28, got {patch!r}")
        windows = (28 - patch + 1) ** 2
        if patches > windows:
            raise ValueError(f"patches: expected at most {windows} windows of {patch}x{patch} "
                             f"pixels, got {patches}")
        lambda_app = check_positive(lambda_app, "lambda_app")
        lambda_spa = check_positive(lambda_spa, "lambda_spa")
        super().__init__(shape, latent=latent, loss=loss, patches=patches, patch=patch,
                         width=width, embed=embed, lambda_app=lambda_app,
                         lambda_spa=lambda_spa)
        self.k, self.patch = patches, patch
        self.lambda_app, self.lambda_spa = lambda_app, lambda_spa
        self.generator = _PuzzleGenerator(self.shape, patches, patch, latent, width, embed)
        self.discriminator = _Discriminator(width, self.shape[0])
        normal_init(self)

    # -- pieces ------------------------------------------------------------------------------
    def pieces(self, x: torch.Tensor, rng: torch.Generator | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Key patches of images ``x`` ``(B, D)``, ``(B, K, C, s, s)``, and their mask
        ``(B, H*W)`` (:func:`key_patches`; ``rng``: their random source)."""
        x = self.check(x, "x")
        return key_patches(x, self.shape, self.k, self.patch, rng)

    def _split(self, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The generator's output ``(B, (C+1)*HW)`` as the image ``(B, D)`` and the mask
        probabilities ``(B, HW)``."""
        return out[:, :self.dim], out[:, self.dim:]

    # -- the generator as a Pyro program --------------------------------------------------
    def model(self, x: torch.Tensor | None = None, num_data: int | None = None,
              n: int | None = None, patches: torch.Tensor | None = None) -> torch.Tensor:
        """``z ~ N(0, I)``, ``x = G(patches, z)``: whole images ``(B, D)`` from their key
        patches ``(B, K, C, s, s)``; the mask is the deterministic site ``"mask"``."""
        if patches is None:
            raise ValueError(f"patches: Puzzle-GAN draws images from their pieces; expected "
                             f"patches (n, {self.k}, {self.shape[0]}, {self.patch}, "
                             f"{self.patch}), got None")
        self.register_parameters()
        with pyro.plate("data", patches.shape[0]):
            z = pyro.sample("z", self.prior())  # (B, L)
            image, mask = self._split(self.generator(patches, z))
            pyro.deterministic("mask", mask, event_dim=1)
            return self.images(image)  # (B, D)

    def generate(self, n: int, condition=None, real: torch.Tensor | None = None
                 ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The loop's step: key patches of the real images ``real`` ``(B, D)`` (new ones each
        step, from the global random state), whole images drawn from them, and
        ``{"z", "mask": predicted, "true_mask"}``."""
        patches, true_mask = self.pieces(self.read_images(real, "real"))
        trace = pyro.poutine.trace(self.model).get_trace(patches=patches)
        return trace.nodes["x"]["value"], {"z": trace.nodes["z"]["value"],
                                           "mask": trace.nodes["mask"]["value"],
                                           "true_mask": true_mask}

    def generator_input(self, n: int, rng: torch.Generator, condition=None,
                        real: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The loop's monitoring batch: key patches of the first ``n`` training images
        (``real``) and noise, both drawn with ``rng``."""
        patches, _ = self.pieces(real[:n], rng)
        return patches, self.draw_noise(len(patches), rng)

    def render(self, inputs: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        patches, z = inputs
        return self._split(self.generator(patches, z))[0]

    @torch.no_grad()
    def complete(self, patches: torch.Tensor, z: torch.Tensor | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """Whole images ``(n, D)`` and masks ``(n, H*W)`` from key patches ``(n, K, C, s, s)``
        (``z``: noise ``(n, L)``, default drawn), in evaluation mode."""
        want = (self.k, self.shape[0], self.patch, self.patch)
        if patches.ndim != 5 or tuple(patches.shape[1:]) != want:
            raise ValueError(f"patches: expected (n, {', '.join(map(str, want))}), got "
                             f"{tuple(patches.shape)}")
        if z is None:
            z = self.prior().sample((len(patches),))
        with evaluating(self):
            return self._split(self.generator(patches, z))

    def sample(self, n: int, mean: bool = False, source: torch.Tensor | None = None
               ) -> torch.Tensor:
        """Images ``(n, D)`` completed from key patches of the first ``n`` images of
        ``source``: Puzzle-GAN draws only from pieces."""
        n = check_positive_int(n, "n")
        patches, _ = self.pieces(self.read_images(source, "source")[:n])
        return self.complete(patches)[0]

    def scores(self, x: torch.Tensor) -> dict[str, float]:
        """On held-out images ``x`` ``(n, D)``: key patches cut from each (seeded), the whole
        image drawn from them, and the mean absolute pixel error against the original
        (``l1_completion``), inside the patches (``l1_in_patches``: how faithfully the
        pieces are put back) and outside them (``l1_outside``: what is drawn around them);
        the intersection over union of the predicted mask (> 1/2) with the true one
        (``mask_iou``). Two marks to read them by: ``l1_blank``, the error of an empty
        canvas, the guess to beat, and ``l1_pieces_in_place``, that of the pieces at their
        true places on an empty canvas (perfect placement, nothing drawn around them)."""
        x = self.check(x, "x")
        patches, mask = self.pieces(x, torch.Generator().manual_seed(0))
        z = self.draw_noise(len(x), torch.Generator().manual_seed(1))
        image, pred = self.complete(patches, z)
        err = (image - x).abs()  # (n, D)
        inside = mask.bool().repeat(1, self.shape[0])  # (n, D)
        hit, true = pred > 0.5, mask.bool()
        iou = ((hit & true).sum(1) / (hit | true).sum(1).clamp(min=1)).mean()
        return {"l1_completion": err.mean().item(), "l1_in_patches": err[inside].mean().item(),
                "l1_outside": err[~inside].mean().item(), "mask_iou": iou.item(),
                "l1_blank": x.abs().mean().item(),
                "l1_pieces_in_place": (x * ~inside).abs().mean().item()}

    # -- the game ---------------------------------------------------------------------------
    def g_loss(self, fake: torch.Tensor, latents: dict[str, torch.Tensor] | None = None,
               real: torch.Tensor | None = None) -> torch.Tensor:
        """``L_G`` for the images ``fake`` drawn from key patches of ``real``."""
        if real is None or not latents or "mask" not in latents:
            raise ValueError("real, latents: Puzzle-GAN's generator loss needs the step's "
                             "real images and the masks from PuzzleGAN.generate")
        mask = latents["mask"].clamp(1e-6, 1 - 1e-6)
        return (self.adversarial_loss(self.discriminate(fake))
                + self.lambda_app * (fake - real).abs().mean()
                + self.lambda_spa * F.binary_cross_entropy(mask, latents["true_mask"]))
