"""The variational autoencoder as a Pyro model/guide pair
(Kingma & Welling, 2014; Rezende, Mohamed & Wierstra, 2014).

The decoder is in ``model`` and the amortized encoder is the ``guide``::

    model:  z ~ p(z)                           (B, L)   under pyro.plate("data")
            x | z ~ prod_d Bernoulli(decoder(z)_d)
    guide:  z | x ~ Normal(mu(x), sigma(x))     (B, L)

``ELBO = E_q[log p(x|z)] - KL(q(z|x) || p(z))``: reconstruction plus prior
fitting. With the isotropic Gaussian prior the KL has a closed form
(``TraceMeanField_ELBO``); the mixture-of-Gaussians and VampPrior (Tomczak &
Welling, 2018) priors have none, so the prior-fitting term is estimated by Monte
Carlo (``Trace_ELBO``) and asking for an analytic KL with them is an error. With
``warmup=W`` the prior-fitting term is weighted by ``min(1, (epoch + 1) / W)`` in
training (a KL warm-up; Sonderby et al., 2016). What keeps a VampPrior's codes from
collapsing onto the prior in the first steps is :meth:`VAE.initialize`, not the warm-up. The
importance-weighted bound (IWAE, Burda et al., 2016) is
:class:`pgm.infer.iwae.IWAE_ELBO` with ``particles`` samples.

``log_prob`` is the importance-sampled estimate
``log (1/k) sum_j p(x, z_j) / q(z_j | x)``, ``z_j ~ q(z | x)``, computed in chunks.
"""

from __future__ import annotations

import contextlib
import math

import pyro
import pyro.distributions as dist
import torch
import torch.nn.functional as F
from pyro import poutine
from pyro.infer import ELBO, Trace_ELBO, TraceMeanField_ELBO
from torch import nn

from pgm.core import GenerativeModel, register
from pgm.core.base import marginal_logits
from pgm.distributions import DiagonalNormalMixture, ProductBernoulli
from pgm.errors import check_nonnegative_int, check_positive_int, check_sizes
from pgm.infer.iwae import IWAE_ELBO

PRIORS = ("normal", "mog", "vamp")
OBJECTIVES = ("elbo", "iwae")


def _mlp(sizes: list[int], act: type[nn.Module] = nn.Tanh) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(a, b), act()]
    return nn.Sequential(*layers)


class GaussianLayer(nn.Module):
    """A diagonal Gaussian whose parameters an MLP reads off its input: ``(B, I) -> 2 x (B, O)``."""

    def __init__(self, sizes: list[int], out: int):
        super().__init__()
        self.net = _mlp(sizes)
        self.loc = nn.Linear(sizes[-1], out)
        self.scale = nn.Linear(sizes[-1], out)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.net(h)
        return self.loc(h), F.softplus(self.scale(h)) + 1e-4


@register("vae")
class VAE(GenerativeModel):
    """Variational autoencoder with a Bernoulli decoder and an amortized Gaussian guide.

    :param shape: ``(channels, height, width)``.
    :param latent: dimension ``L`` of z, or ``[L1, L2]`` for two stochastic layers
        (Burda et al.: ``z2 ~ N(0, I)``, ``z1 | z2`` Gaussian, ``x | z1`` Bernoulli; the
        guide ``q(z1 | x) q(z2 | z1)``); sites ``z`` (= z1) and ``z2``.
    :param hidden: hidden layer sizes between x and z (the encoder's; mirrored in the decoder).
    :param hidden2: hidden layer sizes between z1 and z2 (two stochastic layers only).
    :param prior: ``"normal"``, ``"mog"`` (learned mixture of ``components`` Gaussians)
        or ``"vamp"`` (mixture of the guide at ``components`` learned pseudo-inputs).
    :param components: mixture components of the ``mog``/``vamp`` priors.
    :param objective: ``"elbo"`` or ``"iwae"`` (importance-weighted bound).
    :param particles: samples of z per example in the training objective.
    :param analytic_kl: closed-form KL (``TraceMeanField_ELBO``); Gaussian prior only.
    :param eval_samples: importance samples in ``log_prob``.
    :param warmup: epochs over which the weight of the prior-fitting term rises linearly
        to 1 in training (0: none; Tomczak & Welling use 100). With ``"iwae"`` it weights
        ``log p(z) - log q(z | x)`` inside each importance weight.
    """

    kind = "latent"
    defaults = {"lr": 1e-3, "epochs": 200, "patience": 20}

    def __init__(self, shape=(1, 28, 28), latent: int | list[int] = 50, hidden=(200, 200),
                 prior: str = "normal", components: int = 50, objective: str = "elbo",
                 particles: int = 1, analytic_kl: bool = False, eval_samples: int = 100,
                 hidden2=(100, 100), warmup: int = 0):
        sizes = [latent] if isinstance(latent, int) else list(latent)
        if not 1 <= len(sizes) <= 2:
            raise ValueError(f"latent: expected an int or a list of two ints, got {latent!r}")
        sizes = [check_positive_int(s, "latent") for s in sizes]
        hidden = check_sizes(hidden, "hidden")
        hidden2 = check_sizes(hidden2, "hidden2")
        if len(sizes) == 2 and (prior != "normal" or analytic_kl):
            raise ValueError("prior, analytic_kl: two stochastic layers take the 'normal' prior "
                             "on z2 and the Monte Carlo KL")
        if prior not in PRIORS:
            raise ValueError(f"prior: expected one of {list(PRIORS)}, got {prior!r}")
        if objective not in OBJECTIVES:
            raise ValueError(f"objective: expected one of {list(OBJECTIVES)}, got {objective!r}")
        if analytic_kl and (prior != "normal" or objective != "elbo"):
            raise ValueError(
                f"analytic_kl: the KL between the Gaussian guide and the {prior!r} prior has no "
                "closed form (only the 'normal' prior with objective 'elbo' has one); use "
                "analytic_kl=False, which estimates the prior-fitting term by Monte Carlo")
        warmup = check_nonnegative_int(warmup, "warmup")
        extra = {"hidden2": hidden2} if len(sizes) == 2 else {}
        extra |= {"warmup": warmup} if warmup else {}
        super().__init__(shape, latent=sizes[0] if len(sizes) == 1 else sizes, hidden=hidden,
                         prior=prior, **extra,
                         components=check_positive_int(components, "components"),
                         objective=objective, particles=check_positive_int(particles, "particles"),
                         analytic_kl=bool(analytic_kl),
                         eval_samples=check_positive_int(eval_samples, "eval_samples"))
        d, latent = self.dim, sizes[0]
        self.layers = len(sizes)
        self.beta = 1.0  # weight of the prior-fitting term in training (start_epoch sets it)
        self.encoder = _mlp([d, *hidden])
        self.enc_loc = nn.Linear(hidden[-1], latent)
        self.enc_scale = nn.Linear(hidden[-1], latent)
        self.decoder = nn.Sequential(_mlp([latent, *hidden[::-1]]), nn.Linear(hidden[0], d))
        if prior == "mog":
            self.prior_logits = nn.Parameter(torch.zeros(components))
            self.prior_loc = nn.Parameter(torch.randn(components, latent))
            self.prior_log_scale = nn.Parameter(torch.zeros(components, latent))
        elif prior == "vamp":
            self.prior_logits = nn.Parameter(torch.zeros(components))
            self.pseudo_inputs = nn.Parameter(torch.rand(components, d) * 0.2 + 0.4)
        if self.layers == 2:
            self.q2 = GaussianLayer([sizes[0], *hidden2], sizes[1])  # q(z2 | z1)
            self.p1 = GaussianLayer([sizes[1], *hidden2[::-1]], sizes[0])  # p(z1 | z2)

    # -- networks ---------------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Guide parameters ``(loc, scale)``, each ``(B, L)``, for images ``(B, D)``."""
        h = self.encoder(x)
        return self.enc_loc(h), F.softplus(self.enc_scale(h)) + 1e-4

    def prior(self) -> dist.Distribution:
        """``p(z)`` (the top layer's with two layers): batch shape ``()``, event ``(L,)``."""
        latent = self.config["latent"] if self.layers == 1 else self.config["latent"][1]
        if self.config["prior"] == "normal":
            zero = self.enc_loc.bias.new_zeros(latent)
            return dist.Normal(zero, 1.0).to_event(1)
        if self.config["prior"] == "mog":
            loc, scale = self.prior_loc, self.prior_log_scale.exp()
        else:  # vamp: the guide at the pseudo-inputs
            loc, scale = self.encode(self.pseudo_inputs)
        return DiagonalNormalMixture(self.prior_logits, loc, scale)  # (K, L) components

    # -- the Pyro programs ------------------------------------------------------------------
    def initialize(self, x: torch.Tensor) -> None:
        """The decoder's output biases at the pixel marginals of the training images.

        Without it the first steps fit the mean image through the encoder too: with the
        VampPrior, which does not hold the codes near 0, that drives its tanh units into
        saturation within 100 steps and the codes never carry information. A decoder that
        does not end in a ``Linear`` layer with a bias per pixel (a subclass's) is left as
        it is.
        """
        last = self.decoder[-1] if isinstance(self.decoder, nn.Sequential) else None
        if isinstance(last, nn.Linear) and last.bias is not None and last.out_features == self.dim:
            with torch.no_grad():
                last.bias.copy_(marginal_logits(x))

    def start_epoch(self, epoch: int) -> None:
        if self.config.get("warmup"):
            self.beta = min(1.0, (epoch + 1) / self.config["warmup"])

    def prior_fitting(self) -> contextlib.AbstractContextManager:
        """Scales the latent sites (in model and guide) by the warm-up weight in training."""
        if self.training and self.beta < 1:
            return poutine.scale(scale=self.beta)
        return contextlib.nullcontext()

    def model(self, x: torch.Tensor, num_data: int | None = None) -> None:
        self.register_parameters()
        with self.data_plate(x, num_data):
            with self.prior_fitting():
                if self.layers == 1:
                    z = pyro.sample("z", self.prior())  # (B, L)
                else:
                    z2 = pyro.sample("z2", self.prior())  # (B, L2)
                    z = pyro.sample("z", dist.Normal(*self.p1(z2)).to_event(1))  # (B, L1)
            pyro.sample("x", ProductBernoulli(self.decoder(z)), obs=x)

    def guide(self, x: torch.Tensor, num_data: int | None = None) -> None:
        self.register_parameters()
        with self.data_plate(x, num_data), self.prior_fitting():
            loc, scale = self.encode(x)
            z = pyro.sample("z", dist.Normal(loc, scale).to_event(1))
            if self.layers == 2:
                pyro.sample("z2", dist.Normal(*self.q2(z)).to_event(1))

    def elbo(self) -> ELBO:
        k = self.config["particles"]
        if self.config["objective"] == "iwae":
            return IWAE_ELBO(num_particles=k)
        cls = TraceMeanField_ELBO if self.config["analytic_kl"] else Trace_ELBO
        return cls(num_particles=k, vectorize_particles=k > 1, max_plate_nesting=1)

    # -- what a fitted VAE offers -----------------------------------------------------------
    def _log_weights(self, x: torch.Tensor, samples: int, q: dist.Distribution | None = None,
                     prior: dist.Distribution | None = None
                     ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(log p(x | z), log p(z) - log q(z | x))`` for ``samples`` draws, each ``(S, B)``.

        ``q`` (the guide at ``x``) and ``prior`` may be passed in when drawing in chunks.
        """
        q = q if q is not None else dist.Normal(*self.encode(x)).to_event(1)
        prior = prior if prior is not None else self.prior()
        z = q.rsample((samples,))  # (S, B, L1)
        log_ratio = -q.log_prob(z)
        if self.layers == 1:
            log_ratio = log_ratio + prior.log_prob(z)
        else:
            q2 = dist.Normal(*self.q2(z)).to_event(1)
            z2 = q2.rsample()  # (S, B, L2)
            p1 = dist.Normal(*self.p1(z2)).to_event(1)
            log_ratio = log_ratio - q2.log_prob(z2) + p1.log_prob(z) + prior.log_prob(z2)
        return ProductBernoulli(self.decoder(z)).log_prob(x), log_ratio

    def elbo_terms(self, x: torch.Tensor, samples: int = 1) -> dict[str, torch.Tensor]:
        """Per-example ``reconstruction`` ``E_q log p(x|z)`` and ``kl`` ``KL(q || p)``, ``(B,)``.

        The KL is analytic for one layer with the Gaussian prior, else a Monte Carlo estimate.
        """
        x = self.check(x)
        rec, log_ratio = self._log_weights(x, samples)
        if self.layers == 1 and self.config["prior"] == "normal":
            loc, scale = self.encode(x)
            kl = torch.distributions.kl_divergence(dist.Normal(loc, scale).to_event(1),
                                                   self.prior())
        else:
            kl = -log_ratio.mean(0)
        rec = rec.mean(0)
        return {"reconstruction": rec, "kl": kl, "elbo": rec - kl}

    @torch.no_grad()
    def active_units(self, x: torch.Tensor, samples: int = 10,
                     threshold: float = 0.01) -> list[int]:
        """Latent units in use, one count per stochastic layer (Burda et al., 2016, Sec. 5.2).

        A unit ``u`` is active when ``Cov_x(E_q[u | x]) > threshold`` over the images
        ``x`` ``(B, D)``: its posterior mean moves with the image. ``E_q[z2 | x]`` is
        averaged over ``samples`` draws of ``z1``.
        """
        loc, scale = self.encode(self.check(x))  # (B, L1)
        means = [loc]
        if self.layers == 2:
            z = dist.Normal(loc, scale).sample((samples,))  # (S, B, L1)
            means.append(self.q2(z)[0].mean(0))  # (B, L2)
        return [int((m.var(0) > threshold).sum()) for m in means]

    def diagnostics(self, x: torch.Tensor) -> dict[str, float]:
        """The ELBO's two terms on ``x``, nats per image, and the active units of each
        stochastic layer (``active``, ``active2``): the trainer logs them every epoch."""
        t = self.elbo_terms(x)
        active = dict(zip(("active", "active2"), self.active_units(x), strict=False))
        return {"reconstruction": t["reconstruction"].mean().item(), "kl": t["kl"].mean().item(),
                **active}

    @torch.no_grad()
    def log_prob(self, x: torch.Tensor, num_samples: int | None = None,
                 chunk: int = 2_000_000) -> torch.Tensor:
        """Importance-sampled ``log p(x)``, ``(B, D) -> (B,)``, with ``num_samples`` from the guide.

        Samples are drawn in chunks of about ``chunk / (B * D)`` so memory stays bounded.
        """
        x = self.check(x)
        k = check_positive_int(num_samples or self.config["eval_samples"], "num_samples")
        per = max(1, chunk // (x.shape[0] * self.dim))
        q, prior = dist.Normal(*self.encode(x)).to_event(1), self.prior()  # once, not per chunk
        parts = []
        for s in range(0, k, per):
            log_px, log_ratio = self._log_weights(x, min(per, k - s), q, prior)
            parts.append(torch.logsumexp(log_px + log_ratio, 0))
        return torch.logsumexp(torch.stack(parts), 0) - math.log(k)

    def sample(self, n: int, mean: bool = False) -> torch.Tensor:
        """``n`` images ``(n, D)`` from the model (pixel probabilities when ``mean``)."""
        z = self.prior().sample((check_positive_int(n, "n"),))
        if self.layers == 2:
            z = dist.Normal(*self.p1(z)).to_event(1).sample()
        logits = self.decoder(z)
        return torch.sigmoid(logits) if mean else ProductBernoulli(logits).sample()
