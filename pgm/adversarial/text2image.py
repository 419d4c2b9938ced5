"""Text-to-image GAN with a matching-aware discriminator (GAN-CLS of Reed et al., 2016).

Reed, Akata, Yan, Logeswaran, Schiele & Lee, "Generative Adversarial Text to Image
Synthesis", ICML 2016. The generator is conditioned on a caption ``t``::

    model:  h = phi(t)                          (B, T)   the caption's embedding
            z ~ N(0, I)                         (B, L)   under pyro.plate("data")
            x = G([z, h])                       (B, D)   a deterministic site "x"

and the discriminator judges (image, caption) pairs. Being *matching-aware*, it must
reject a real image shown with a wrong caption as well as a generated image shown with
its own (Algorithm 1 of the paper):

``L_D = -log D(x, h) - 1/2 [log(1 - D(x, h_wrong)) + log(1 - D(G(z, h), h))]``

so ``G`` learns to draw images that match their caption, not just images. The wrong
captions are the batch's own captions shifted by one; about one in ten then belongs to
the same class, a small amount of label noise.

Reed et al. used a pretrained character-level encoder. Here the text encoder ``phi`` is
small and learned with the model: word embeddings averaged over the caption, then a
linear layer and LeakyReLU (the paper's compression of the embedding to 128 units). It
belongs to the discriminator, so the matching loss trains it; the generator reads its
embedding as an input. The captions come from :mod:`pgm.data.captions` (built from class
labels, with a held-out set of sentences never seen in training).

Layout: DCGAN's players (:mod:`pgm.adversarial.dcgan`); ``D`` joins the caption to its
``(B, 2w, 7, 7)`` image features by replicating ``h`` over the 7x7 grid, then a 1x1
convolution, batch norm, LeakyReLU and a linear layer give the logit.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyro
import torch
import torch.nn.functional as F
from torch import nn

from pgm.adversarial.base import AdversarialModel, normal_init
from pgm.adversarial.dcgan import _Discriminator, _Generator
from pgm.core import register
from pgm.data import captions as captions_lib
from pgm.errors import check_positive_int

#: words of a caption kept by the encoder (longer ones are cut)
MAX_WORDS = 12


class TextEncoder(nn.Module):
    """``phi``: word indices ``(B, S)`` (0 = padding) -> caption embeddings ``(B, T)``.

    The mean of learned word embeddings over the caption's known words (padding and
    unknown words, index 1, are left out), then ``Linear -> LeakyReLU(0.2)``.
    """

    def __init__(self, vocabulary: int, embed: int, out: int):
        super().__init__()
        self.embed = nn.Embedding(vocabulary, embed, padding_idx=0)
        self.project = nn.Sequential(nn.Linear(embed, out), nn.LeakyReLU(0.2))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        mask = (tokens > 1).unsqueeze(-1).float()  # (B, S, 1): known words only
        total = (self.embed(tokens) * mask).sum(1)  # (B, E)
        return self.project(total / mask.sum(1).clamp_min(1.0))  # (B, T)


class _MatchingDiscriminator(nn.Module):
    """``D(x, t)``: DCGAN's convolutional body, the caption replicated over its 7x7 grid."""

    def __init__(self, width: int, channels: int, vocabulary: int, embed: int, text: int):
        super().__init__()
        self.encoder = TextEncoder(vocabulary, embed, text)
        self.image = _Discriminator(width, channels)  # its .conv only
        self.joint = nn.Sequential(nn.Conv2d(2 * width + text, 2 * width, 1, bias=False),
                                   nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2))
        self.out = nn.Linear(2 * width * 7 * 7, 1)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """Logits ``(B,)`` for images ``(B, D)`` and caption embeddings ``(B, T)``."""
        f = self.image.conv(x.reshape(x.shape[0], self.image.channels, 28, 28))  # (B, 2w, 7, 7)
        grid = h[:, :, None, None].expand(-1, -1, 7, 7)  # (B, T, 7, 7)
        return self.out(self.joint(torch.cat([f, grid], 1)).flatten(1)).reshape(x.shape[0])


@register("text2image")
class TextToImageGAN(AdversarialModel):
    """GAN-CLS: a DCGAN whose players both read a caption; captions from class labels.

    :param shape: ``(channels, 28, 28)``.
    :param captions: the caption set of :mod:`pgm.data.captions` (``"fashion-mnist"``,
        ``"mnist"``), which fixes the vocabulary.
    :param latent: dimension ``L`` of the noise ``z ~ N(0, I)``.
    :param width: DCGAN's ``width``.
    :param embed: size of the word embeddings.
    :param text: size ``T`` of the caption embedding ``h``.
    :param loss: generator loss, ``"ns"`` (non-saturating) or ``"minimax"``.
    :param pixels: ``"grey"`` (``x = G(z)``) or ``"bernoulli"`` (binary ``x ~ Bernoulli(G(z))``,
        for binary data; see :mod:`pgm.adversarial.base`).
    :param temperature: of the straight-through relaxed Bernoulli (``pixels="bernoulli"``).
    """

    defaults = {"lr": 2e-4, "batch_size": 64, "epochs": 10}
    conditional = True
    condition_name = "the captions"

    def __init__(self, shape=(1, 28, 28), captions: str = "fashion-mnist", latent: int = 100,
                 width: int = 64, embed: int = 64, text: int = 128, loss: str = "ns",
                 pixels: str = "grey", temperature: float = 0.5):
        for v, name in ((width, "width"), (embed, "embed"), (text, "text")):
            check_positive_int(v, name)
        if tuple(shape)[1:] != (28, 28):
            raise ValueError(f"shape: the text-to-image GAN is sized for (C, 28, 28) images, "
                             f"got {tuple(shape)}")
        train = captions_lib.captions(captions, "train")  # raises on an unknown set
        super().__init__(shape, latent=latent, loss=loss, pixels=pixels,
                         temperature=temperature, captions=captions, width=width,
                         embed=embed, text=text)
        self.caption_set = captions
        self.vocabulary = captions_lib.Vocabulary([t for t, _ in train])
        self.generator = _Generator(latent + text, width, self.shape[0])
        self.discriminator = _MatchingDiscriminator(width, self.shape[0], len(self.vocabulary),
                                                    embed, text)
        normal_init(self)

    # -- captions ---------------------------------------------------------------------------
    def tokens(self, texts: Sequence[str]) -> torch.Tensor:
        """Word indices ``(n, MAX_WORDS)`` of captions (unknown words -> 1, which the
        encoder leaves out)."""
        return self.vocabulary.encode(texts, MAX_WORDS).to(self._device())

    def conditions(self, labels: torch.Tensor, seed: int = 0) -> torch.Tensor:
        """Training conditions for labelled images: a caption of each label's class drawn
        with ``seed`` (:func:`pgm.data.captions.describe`), as word indices ``(n, S)``."""
        return self.tokens(captions_lib.describe(labels, self.caption_set, seed))

    def _as_tokens(self, condition) -> torch.Tensor:
        if condition is None:
            raise ValueError("condition: the text-to-image GAN draws images of captions; "
                             "expected captions (a list of strings) or word indices (n, S), "
                             "got None")
        if isinstance(condition, torch.Tensor):
            if condition.ndim != 2 or condition.dtype != torch.long:
                raise ValueError(f"condition: expected word indices, a (n, S) long tensor, "
                                 f"got {condition.dtype} of shape {tuple(condition.shape)}")
            return condition
        return self.tokens(list(condition))

    # -- the generator as a Pyro program ------------------------------------------------------
    def model(self, x: torch.Tensor | None = None, num_data: int | None = None,
              n: int | None = None, condition=None) -> torch.Tensor:
        """``z ~ N(0, I)``, ``x = G([z, phi(t)])`` for captions ``condition``: ``(B, D)``.

        ``condition``: a list of ``B`` captions or their word indices ``(B, S)``; they
        set the number of images (``x`` and ``n`` are not needed).
        """
        t = self._as_tokens(condition)
        self.register_parameters()
        with pyro.plate("data", t.shape[0]):
            z = pyro.sample("z", self.prior())  # (B, L)
            h = self.discriminator.encoder(t)  # (B, T)
            return self.images(self.generator(torch.cat([z, h], 1)))  # (B, D)

    def generator_input(self, n: int, rng: torch.Generator, condition=None, real=None):
        """``(z (n, L), word indices (n, S))``: noise, and a training caption of each class
        in turn (so a sample grid shows every class; the loop's ``condition`` and ``real`` are
        unused)."""
        z = self.draw_noise(n, rng)
        first = [texts[0] for texts in captions_lib.by_class(self.caption_set, "train")]
        return z, self.tokens([first[i % len(first)] for i in range(n)])

    def render(self, inputs) -> torch.Tensor:
        z, t = inputs
        return self.generator(torch.cat([z, self.discriminator.encoder(t)], 1))

    def sample(self, n: int, condition=None, mean: bool = False) -> torch.Tensor:
        """``n`` images ``(n, D)`` of captions ``condition`` (default: training captions
        of classes drawn uniformly, with the global random state); pixel probabilities
        instead of binary draws when ``mean`` (``pixels="bernoulli"``)."""
        n = check_positive_int(n, "n")
        if condition is None:
            train = captions_lib.captions(self.caption_set, "train")
            condition = [train[int(i)][0] for i in torch.randint(len(train), (n,))]
        return self.draw(self.model, mean, condition=condition)

    @classmethod
    def data_settings(cls, data, config: dict) -> dict:
        """Binary pixels for binary data (the GAN's), and the captions of the data set."""
        return {**super().data_settings(data, config), "captions": data.name}

    def training_data(self, data) -> tuple[torch.Tensor, torch.Tensor]:
        """For ``pgm train``: the images of a labelled data set and a caption of each
        one's class (:meth:`conditions`), fixed: part of the data."""
        if data.y is None:
            raise ValueError(f"data: the text-to-image GAN generates from captions made "
                             f"from class labels, and {data.name!r} has none; use a "
                             f"labelled data set")
        return data.x, self.conditions(data.y)

    # -- the matching-aware game -----------------------------------------------------------
    def d_loss(self, real: torch.Tensor, fake: torch.Tensor,
               latents: dict[str, torch.Tensor] | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """``-log D(x, h) - [log(1 - D(x, h_wrong)) + log(1 - D(G(z, h), h))] / 2``, and
        the accuracy over the three kinds of pair; ``latents["condition"]`` holds the
        batch's captions (those of ``real``, which generated ``fake``)."""
        h = self.discriminator.encoder(self.condition_of(latents))  # (B, T)
        d = self.discriminator
        right, wrong, fake_logit = d(real, h), d(real, h.roll(1, 0)), d(fake, h)  # (B,)
        loss = (F.softplus(-right).mean()
                + 0.5 * (F.softplus(wrong).mean() + F.softplus(fake_logit).mean()))
        with torch.no_grad():
            accuracy = torch.cat([right > 0, wrong < 0, fake_logit < 0]).float().mean()
        return loss, accuracy

    def g_loss(self, fake: torch.Tensor, latents: dict[str, torch.Tensor] | None = None,
               real: torch.Tensor | None = None) -> torch.Tensor:
        """The generator's loss on images ``fake`` paired with their own captions."""
        h = self.discriminator.encoder(self.condition_of(latents))
        return self.adversarial_loss(self.discriminator(fake, h))

    def discriminate(self, x: torch.Tensor) -> torch.Tensor:
        raise TypeError("the text-to-image discriminator judges (image, caption) pairs: "
                        "call model.discriminator(x, h) with h = encoder(tokens)")
