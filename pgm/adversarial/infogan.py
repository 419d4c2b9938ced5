"""InfoGAN: a GAN whose latent codes are made informative about the images it generates.

Chen, Duan, Houthooft, Schulman, Sutskever & Abbeel, "InfoGAN: Interpretable
Representation Learning by Information Maximizing Generative Adversarial Nets", NeurIPS
2016. The generator's input holds, besides the noise ``z``, structured codes ``c``::

    model:  z ~ N(0, I) or Uniform(-1, 1)^L      (B, L)   under pyro.plate("data")
            c_cat ~ Categorical(1/K, ..., 1/K)   (B,)     (K = 10 for MNIST's digits)
            c_cont ~ Uniform(-1, 1)^k            (B, k)   (k = 2: width, slant)
            x = G([z, onehot(c_cat), c_cont])    (B, D)   a deterministic site "x"

and the game is regularised by the mutual information ``I(c; G(z, c))`` between the codes
and the images, through its variational lower bound (Lemma 5.1 of the paper)

``L_I(G, Q) = E_{c ~ p(c), x ~ G(z, c)}[log Q(c | x)] + H(c)  <=  I(c; G(z, c))``.

The auxiliary network ``Q`` is written here as the Pyro *guide* over the code sites: from
the discriminator's convolutional body it gives ``Categorical(logits)`` for ``c_cat`` and
``Normal(mu, sigma)`` for ``c_cont`` (``sigma = 1`` fixed by default, the factored
Gaussian of the paper's experiments; ``learn_scale=True`` learns it). ``log Q(c | x)`` is the
guide's log-density of the codes that generated ``x``, read off a trace of the guide
conditioned on them. The objective is

``min_{G, Q} max_D  V(D, G) - lambda L_I(G, Q)``

with ``lambda = 1`` for the categorical code and ``0.1`` for the continuous ones. The shared
adversarial loop (:mod:`pgm.infer.adversarial`) passes each batch's codes to
:meth:`InfoGAN.d_loss` and :meth:`InfoGAN.g_loss`, which both subtract the weighted
``log Q`` term: ``Q``'s head lives in ``model.discriminator``, so ``Q`` (head and shared
body) is trained with the discriminator's optimizer and learning rate (``lr_d``), and the
generator gets the same term's gradient through the (then frozen) ``Q``.

The layout is DCGAN's (:mod:`pgm.adversarial.dcgan`, its blocks reused), with ``Q`` =
FC 128 - BN - LeakyReLU - FC on the shared body; ``hidden=1024`` adds the paper's fully
connected layers (after ``G``'s input, and after ``D``'s convolutions, inside the body
``Q`` shares), which with ``width=64`` gives the paper's MNIST networks.
Defaults follow the paper: ``L = 62`` noise variables, Adam with ``lr = 1e-3`` for ``G``
and ``2e-4`` for ``D`` and ``Q``.
"""

from __future__ import annotations

import math
from pathlib import Path

import pyro
import pyro.distributions as dist
import pyro.poutine as poutine
import torch
import torch.nn.functional as F
from torch import nn

from pgm._deprecated import moved
from pgm.adversarial.base import AdversarialModel, normal_init
from pgm.adversarial.dcgan import _Discriminator, _Generator
from pgm.core import register
from pgm.core.base import evaluating
from pgm.errors import check_nonnegative, check_nonnegative_int, check_positive_int
from pgm.viz import save_grid

# the code-recovery metrics moved to pgm.metrics.codes; they work from here for one release
__getattr__ = moved(__name__, dict.fromkeys(
    ["unsupervised_error", "matched_error", "code_table"], "pgm.metrics.codes"))

#: the sample sites of the codes: the categorical one and the continuous ones
CATEGORICAL, CONTINUOUS = "c_cat", "c_cont"


class _SharedBody(nn.Module):
    """``D`` and ``Q`` on one convolutional body (DCGAN's discriminator).

    ``forward`` is ``D``'s logit ``(B, 1)``; :meth:`heads` gives ``D``'s logit and ``Q``'s
    outputs from one pass through the body.
    """

    def __init__(self, width: int, channels: int, q_out: int, q_hidden: int, hidden: int = 0):
        super().__init__()
        self.d = _Discriminator(width, channels, hidden=hidden)  # body .features, head .out
        self.q = nn.Sequential(nn.Linear(self.d.dim, q_hidden),
                               nn.BatchNorm1d(q_hidden), nn.LeakyReLU(0.2),
                               nn.Linear(q_hidden, q_out))

    def body(self, x: torch.Tensor) -> torch.Tensor:
        return self.d.features(x)  # (B, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.d(x)  # (B, 1)

    def heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.d.out(h).reshape(x.shape[0]), self.q(h)  # (B,), (B, q_out)


@register("infogan")
class InfoGAN(AdversarialModel):
    """InfoGAN: DCGAN players plus ``Q``, a guide over a categorical and continuous codes.

    :param shape: ``(channels, 28, 28)``.
    :param latent: dimension ``L`` of the incompressible noise ``z``.
    :param categories: values ``K`` of the categorical code (uniform prior).
    :param continuous: number ``k`` of continuous codes, each ``Uniform(-1, 1)`` (0: none).
    :param width: feature maps of the first discriminator layer (DCGAN's ``width``).
    :param loss: generator loss, ``"ns"`` (non-saturating) or ``"minimax"``.
    :param lambda_cat: weight of the categorical code's information term.
    :param lambda_cont: weight of the continuous codes' information term.
    :param learn_scale: learn ``Q``'s standard deviations of the continuous codes
        (default: fixed at 1).
    :param q_hidden: units of ``Q``'s hidden layer.
    :param hidden: units of a fully connected layer after ``G``'s input and after ``D``'s
        convolutions (the paper's networks have 1024; 0: none, DCGAN's layout).
    :param pixels: ``"grey"`` (``x = G(z)``) or ``"bernoulli"`` (binary ``x ~ Bernoulli(G(z))``,
        for binary data; see :mod:`pgm.adversarial.base`).
    :param temperature: of the straight-through relaxed Bernoulli (``pixels="bernoulli"``).
    :param noise: ``p(z)``, ``"normal"`` or ``"uniform"`` (``Uniform(-1, 1)^L``, the reference
        implementation's, openai/InfoGAN).
    :param q_slant: in training, ``Q`` reads each generated image sheared horizontally by
        a random slant in ``[-q_slant, q_slant]`` (``x' = x + s y``, nearest pixels), so
        that a code cannot be told by the slant of its images; ``D`` reads them unchanged
        (0: no shear, the paper's InfoGAN).
    :param q_shift: likewise, ``Q`` reads them moved by a random whole number of pixels
        in ``-q_shift..q_shift`` along each axis (0: none).
    """

    defaults = {"lr": 1e-3, "lr_d": 2e-4, "batch_size": 64, "epochs": 10}

    def __init__(self, shape=(1, 28, 28), latent: int = 62, categories: int = 10,
                 continuous: int = 2, width: int = 64, loss: str = "ns",
                 lambda_cat: float = 1.0, lambda_cont: float = 0.1,
                 learn_scale: bool = False, q_hidden: int = 128, hidden: int = 0,
                 pixels: str = "grey", temperature: float = 0.5, noise: str = "normal",
                 q_slant: float = 0.0, q_shift: int = 0):
        check_positive_int(width, "width")
        q_slant = check_nonnegative(q_slant, "q_slant")
        check_nonnegative_int(q_shift, "q_shift")
        check_positive_int(q_hidden, "q_hidden")
        check_nonnegative_int(hidden, "hidden")
        if check_positive_int(categories, "categories") < 2:
            raise ValueError(f"categories: expected at least 2, got {categories}")
        check_nonnegative_int(continuous, "continuous")
        lambda_cat = check_nonnegative(lambda_cat, "lambda_cat")
        lambda_cont = check_nonnegative(lambda_cont, "lambda_cont")
        if tuple(shape)[1:] != (28, 28):
            raise ValueError(f"shape: InfoGAN is sized for (C, 28, 28) images, "
                             f"got {tuple(shape)}")
        super().__init__(shape, latent=latent, loss=loss, pixels=pixels,
                         temperature=temperature, noise=noise, categories=categories,
                         continuous=continuous, width=width, lambda_cat=lambda_cat,
                         lambda_cont=lambda_cont, learn_scale=bool(learn_scale),
                         q_hidden=q_hidden, **({"hidden": hidden} if hidden else {}),
                         **({"q_slant": q_slant} if q_slant else {}),
                         **({"q_shift": q_shift} if q_shift else {}))
        self.categories, self.continuous = categories, continuous
        self.lambdas = {CATEGORICAL: lambda_cat, CONTINUOUS: lambda_cont}
        self.learn_scale = bool(learn_scale)
        self.q_slant, self.q_shift = q_slant, q_shift
        inputs = latent + categories + continuous  # G's input [z, onehot(c_cat), c_cont]
        q_out = categories + continuous * (2 if self.learn_scale else 1)
        self.generator = _Generator(inputs, width, self.shape[0], hidden)
        self.discriminator = _SharedBody(width, self.shape[0], q_out, q_hidden, hidden)
        normal_init(self)

    # -- the generator: codes and noise -> images ---------------------------------------
    def _input(self, z: torch.Tensor, c_cat: torch.Tensor, c_cont: torch.Tensor) -> torch.Tensor:
        onehot = F.one_hot(c_cat.long(), self.categories).to(z.dtype)  # (B, K)
        return torch.cat([z, onehot, c_cont], dim=1)  # (B, L + K + k)

    def model(self, x: torch.Tensor | None = None, num_data: int | None = None,
              n: int | None = None) -> torch.Tensor:
        """``z``, ``c_cat``, ``c_cont`` from their priors, ``x = G(z, c)``: ``(B, D)`` images."""
        if x is None and n is None:
            raise ValueError("n: expected the number of images when x is not given")
        b = x.shape[0] if x is not None else check_positive_int(n, "n")
        self.register_parameters()
        device = self._device()
        with pyro.plate("data", b):
            z = pyro.sample("z", self.prior())  # (B, L)
            c_cat = pyro.sample(CATEGORICAL, dist.Categorical(
                logits=torch.zeros(self.categories, device=device)))  # (B,)
            if self.continuous:
                one = torch.ones(self.continuous, device=device)
                c_cont = pyro.sample(CONTINUOUS, dist.Uniform(-one, one).to_event(1))  # (B, k)
            else:
                c_cont = z.new_zeros(b, 0)
            return self.images(self.generator(self._input(z, c_cat, c_cont)))  # (B, D)

    def generator_input(self, n: int, rng: torch.Generator, condition=None,
                        real=None) -> torch.Tensor:
        """``n`` generator inputs ``[z, onehot(c_cat), c_cont]`` ``(n, L + K + k)`` from the
        prior, drawn with ``rng`` (the loop's fixed monitoring batch)."""
        z = self.draw_noise(n, rng)
        c_cat = torch.randint(self.categories, (n,), generator=rng)
        c_cont = 2 * torch.rand(n, self.continuous, generator=rng) - 1
        return self._input(z, c_cat, c_cont)

    # -- Q as the guide over the codes ----------------------------------------------------
    def _code_sites(self, q: torch.Tensor) -> None:
        # the guide's sample statements, given Q's outputs q (B, K + k [+ k])
        k = self.continuous
        logits, loc = q[:, : self.categories], q[:, self.categories : self.categories + k]
        with pyro.plate("data", q.shape[0]):
            pyro.sample(CATEGORICAL, dist.Categorical(logits=logits))  # (B,)
            if k:
                scale = (F.softplus(q[:, self.categories + k :]) + 1e-3 if self.learn_scale
                         else torch.ones_like(loc))
                pyro.sample(CONTINUOUS, dist.Normal(loc, scale).to_event(1))  # (B, k)

    def guide(self, x: torch.Tensor | None = None, num_data: int | None = None,
              n: int | None = None) -> None:
        """``Q(c | x)``: ``c_cat ~ Categorical(logits)``, ``c_cont ~ Normal(mu, sigma)``,
        from the discriminator's body applied to the images ``x`` ``(B, D)``."""
        if x is None:
            raise ValueError("x: the guide infers the codes of images; expected a batch")
        self.register_parameters()
        self._code_sites(self.discriminator.q(self.discriminator.body(x)))

    def log_q(self, q: torch.Tensor, codes: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``log Q(c | x)`` ``(B,)`` of each code site, given ``Q``'s outputs ``q`` for ``x``.

        The guide's own log-densities: a trace of its sample statements conditioned on
        ``codes`` (the values that generated ``x``).
        """
        codes = {k: v for k, v in codes.items() if k in (CATEGORICAL, CONTINUOUS)}
        trace = poutine.trace(poutine.condition(self._code_sites, data=codes)).get_trace(q)
        trace.compute_log_prob()
        return {name: trace.nodes[name]["log_prob"] for name in codes}

    def _heads(self, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # D's logits (B,) for the images fake (B, D), and Q's outputs (B, q_out) for them,
        # slanted and moved at random in training (q_slant, q_shift)
        if not ((self.q_slant or self.q_shift) and self.training):
            return self.discriminator.heads(fake)
        d = self.discriminator
        seen = jitter(fake, self.shape, self.q_slant, self.q_shift)
        return self.discriminate(fake), d.q(d.body(seen))

    def _information(self, q: torch.Tensor, latents: dict[str, torch.Tensor] | None
                     ) -> torch.Tensor:
        # lambda-weighted E[log Q(c | x)], the part of L_I that depends on G and Q
        if latents is None:
            return q.new_zeros(())
        return sum(self.lambdas[k] * v.mean() for k, v in self.log_q(q, latents).items())

    # -- the game, regularised by L_I -----------------------------------------------------
    def d_loss(self, real: torch.Tensor, fake: torch.Tensor,
               latents: dict[str, torch.Tensor] | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """``D``'s loss minus ``lambda E[log Q(c | fake)]`` (``Q`` shares ``D``'s step), and
        ``D``'s accuracy; ``latents`` are the codes that generated ``fake``."""
        logit_real = self.discriminate(real)  # (B,)
        logit_fake, q = self._heads(fake)  # (B,), (B, q_out)
        loss = F.softplus(-logit_real).mean() + F.softplus(logit_fake).mean()
        with torch.no_grad():
            accuracy = torch.cat([logit_real > 0, logit_fake < 0]).float().mean()
        return loss - self._information(q, latents), accuracy

    def g_loss(self, fake: torch.Tensor, latents: dict[str, torch.Tensor] | None = None,
               real: torch.Tensor | None = None) -> torch.Tensor:
        """``G``'s loss (``"ns"`` or ``"minimax"``) minus ``lambda E[log Q(c | G(z, c))]``."""
        logit, q = self._heads(fake)
        return self.adversarial_loss(logit) - self._information(q, latents)

    # -- using the codes ------------------------------------------------------------------
    def sample_codes(self, categorical: torch.Tensor, continuous: torch.Tensor | None = None,
                     z: torch.Tensor | None = None, mean: bool = False) -> torch.Tensor:
        """Images ``(n, D)`` generated from chosen codes, in evaluation mode.

        :param categorical: values ``(n,)`` in ``0..K-1``.
        :param continuous: ``(n, k)`` (default 0); values beyond [-1, 1] extrapolate.
        :param z: noise ``(n, L)`` (default: drawn from the prior).
        :param mean: pixel probabilities instead of binary draws (``pixels="bernoulli"``).
        """
        categorical = torch.as_tensor(categorical).long()
        n = categorical.shape[0]
        data = {CATEGORICAL: categorical}
        if self.continuous:
            data[CONTINUOUS] = (torch.zeros(n, self.continuous) if continuous is None
                                else torch.as_tensor(continuous, dtype=torch.float32))
        if z is not None:
            data["z"] = z
        return self.draw(poutine.condition(self.model, data=data), mean, n=n)

    @torch.no_grad()
    def infer_codes(self, x: torch.Tensor, batch_size: int = 1000
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``Q``'s posterior over the codes of images ``x`` ``(B, D)``, in evaluation mode:
        categorical probabilities ``(B, K)`` and continuous means ``(B, k)``."""
        with evaluating(self):
            q = torch.cat([self.discriminator.q(self.discriminator.body(x[i : i + batch_size]))
                           for i in range(0, x.shape[0], batch_size)])
        k = self.continuous
        return (q[:, : self.categories].softmax(1),
                q[:, self.categories : self.categories + k])

    @torch.no_grad()
    def mutual_information(self, n: int = 1000) -> dict[str, float]:
        """Estimates of the lower bounds ``L_I = E[log Q(c | G(z, c))] + H(c)`` in nats.

        Per code site, on ``n`` fresh samples (global random state) in evaluation mode;
        the categorical bound is at most ``log K``. The continuous one uses the differential
        entropy ``k log 2`` of ``Uniform(-1, 1)^k``.
        """
        with evaluating(self):
            fake, latents = self.generate(check_positive_int(n, "n"))
            log_q = self.log_q(self._heads(fake)[1], latents)
        entropy = {CATEGORICAL: math.log(self.categories),
                   CONTINUOUS: self.continuous * math.log(2)}
        return {k: float(v.mean()) + entropy[k] for k, v in log_q.items()}


def jitter(x: torch.Tensor, shape: tuple[int, ...], slant: float, shift: int = 0
           ) -> torch.Tensor:
    """Images ``x`` ``(B, D)`` of ``shape`` ``(C, H, W)``, each sheared horizontally by its
    own slant ``s ~ Uniform(-slant, slant)`` and moved by its own ``(du, dv)``, whole pixels
    in ``-shift..shift``: pixel ``(u, v)`` is read at ``(u + s v - du, v - dv)``
    (coordinates in [-1, 1]), nearest pixel, zeros outside; ``(B, D)``."""
    b, (h, w) = x.shape[0], shape[1:]
    theta = torch.zeros(b, 2, 3, device=x.device, dtype=x.dtype)  # affine maps (B, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    theta[:, 0, 1] = (2 * torch.rand(b, device=x.device, dtype=x.dtype) - 1) * slant
    if shift:
        moves = torch.randint(-shift, shift + 1, (b, 2), device=x.device).to(x.dtype)
        theta[:, :, 2] = -2 * moves / torch.tensor([w, h], device=x.device, dtype=x.dtype)
    img = x.reshape(b, *shape)  # (B, C, H, W)
    grid = F.affine_grid(theta, list(img.shape), align_corners=False)  # (B, H, W, 2)
    return F.grid_sample(img, grid, mode="nearest", align_corners=False).flatten(1)


def save_code_grid(model: InfoGAN, path: str | Path, code: int = 0, steps: int = 9,
                   span: float = 2.0, seed: int = 0) -> Path:
    """A figure of what the codes control (Figure 2 of the paper), as a PNG grid.

    Rows: the values of the categorical code; columns: continuous code ``code`` swept
    from ``-span`` to ``span`` (the others at 0); one noise vector ``z`` for every image.
    """
    k, n = model.categories, model.categories * steps
    cont = torch.zeros(n, model.continuous)
    if model.continuous:
        if not 0 <= code < model.continuous:
            raise ValueError(f"code: expected 0..{model.continuous - 1}, got {code}")
        cont[:, code] = torch.linspace(-span, span, steps).repeat(k)
    z = model.draw_noise(1, torch.Generator().manual_seed(seed))
    images = model.sample_codes(torch.arange(k).repeat_interleave(steps), cont,
                                z.expand(n, -1), mean=True)
    return save_grid(images, model.shape, path, nrow=k)
