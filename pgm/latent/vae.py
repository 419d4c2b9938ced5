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
Carlo (``Trace_ELBO``) and asking for an analytic KL with them is an error. The
importance-weighted bound (IWAE, Burda et al., 2016) is
:class:`pgm.infer.iwae.IWAE_ELBO` with ``particles`` samples.

``log_prob`` is the importance-sampled estimate
``log (1/k) sum_j p(x, z_j) / q(z_j | x)``, ``z_j ~ q(z | x)``, computed in chunks.
"""

from __future__ import annotations

import math

import pyro
import pyro.distributions as dist
import torch
import torch.nn.functional as F
from pyro.infer import ELBO, Trace_ELBO, TraceMeanField_ELBO
from torch import nn

from pgm.core import GenerativeModel, register
from pgm.distributions import ProductBernoulli
from pgm.errors import check_positive_int
from pgm.infer.iwae import IWAE_ELBO

PRIORS = ("normal", "mog", "vamp")
OBJECTIVES = ("elbo", "iwae")


def _mlp(sizes: list[int], act: type[nn.Module] = nn.Tanh) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(a, b), act()]
    return nn.Sequential(*layers)


@register("vae")
class VAE(GenerativeModel):
    """Variational autoencoder with a Bernoulli decoder and an amortized Gaussian guide.

    :param shape: ``(channels, height, width)``.
    :param latent: dimension ``L`` of z.
    :param hidden: hidden layer sizes of the encoder (mirrored in the decoder).
    :param prior: ``"normal"``, ``"mog"`` (learned mixture of ``components`` Gaussians)
        or ``"vamp"`` (mixture of the guide at ``components`` learned pseudo-inputs).
    :param components: mixture components of the ``mog``/``vamp`` priors.
    :param objective: ``"elbo"`` or ``"iwae"`` (importance-weighted bound).
    :param particles: samples of z per example in the training objective.
    :param analytic_kl: closed-form KL (``TraceMeanField_ELBO``); Gaussian prior only.
    :param eval_samples: importance samples in ``log_prob``.
    """

    kind = "latent"
    defaults = {"lr": 1e-3, "epochs": 200, "patience": 20}

    def __init__(self, shape=(1, 28, 28), latent: int = 50, hidden=(200, 200),
                 prior: str = "normal", components: int = 50, objective: str = "elbo",
                 particles: int = 1, analytic_kl: bool = False, eval_samples: int = 100):
        latent = check_positive_int(latent, "latent")
        hidden = [check_positive_int(h, "hidden") for h in hidden]
        if prior not in PRIORS:
            raise ValueError(f"prior: expected one of {list(PRIORS)}, got {prior!r}")
        if objective not in OBJECTIVES:
            raise ValueError(f"objective: expected one of {list(OBJECTIVES)}, got {objective!r}")
        if analytic_kl and (prior != "normal" or objective != "elbo"):
            raise ValueError(
                f"analytic_kl: the KL between the Gaussian guide and the {prior!r} prior has no "
                "closed form (only the 'normal' prior with objective 'elbo' has one); use "
                "analytic_kl=False, which estimates the prior-fitting term by Monte Carlo")
        super().__init__(shape, latent=latent, hidden=hidden, prior=prior,
                         components=check_positive_int(components, "components"),
                         objective=objective, particles=check_positive_int(particles, "particles"),
                         analytic_kl=bool(analytic_kl),
                         eval_samples=check_positive_int(eval_samples, "eval_samples"))
        d = self.dim
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

    # -- networks ---------------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Guide parameters ``(loc, scale)``, each ``(B, L)``, for images ``(B, D)``."""
        h = self.encoder(x)
        return self.enc_loc(h), F.softplus(self.enc_scale(h)) + 1e-4

    def prior(self) -> dist.Distribution:
        """``p(z)``: batch shape ``()``, event shape ``(L,)``."""
        latent = self.config["latent"]
        if self.config["prior"] == "normal":
            zero = self.enc_loc.bias.new_zeros(latent)
            return dist.Normal(zero, 1.0).to_event(1)
        if self.config["prior"] == "mog":
            loc, scale = self.prior_loc, self.prior_log_scale.exp()
        else:  # vamp: the guide at the pseudo-inputs
            loc, scale = self.encode(self.pseudo_inputs)
        comp = dist.Normal(loc, scale).to_event(1)  # batch (K,), event (L,)
        return dist.MixtureSameFamily(dist.Categorical(logits=self.prior_logits), comp)

    # -- the Pyro programs ------------------------------------------------------------------
    def model(self, x: torch.Tensor, num_data: int | None = None) -> None:
        self.register()
        with self.data_plate(x, num_data):
            z = pyro.sample("z", self.prior())  # (B, L)
            pyro.sample("x", ProductBernoulli(self.decoder(z)), obs=x)

    def guide(self, x: torch.Tensor, num_data: int | None = None) -> None:
        self.register()
        with self.data_plate(x, num_data):
            loc, scale = self.encode(x)
            pyro.sample("z", dist.Normal(loc, scale).to_event(1))

    def elbo(self) -> ELBO:
        k = self.config["particles"]
        if self.config["objective"] == "iwae":
            return IWAE_ELBO(num_particles=k)
        cls = TraceMeanField_ELBO if self.config["analytic_kl"] else Trace_ELBO
        return cls(num_particles=k, vectorize_particles=k > 1, max_plate_nesting=1)

    # -- what a fitted VAE offers -----------------------------------------------------------
    def elbo_terms(self, x: torch.Tensor, samples: int = 1) -> dict[str, torch.Tensor]:
        """Per-example ``reconstruction`` ``E_q log p(x|z)`` and ``kl`` ``KL(q || p)``, ``(B,)``.

        The KL is analytic for the Gaussian prior and a Monte Carlo estimate otherwise.
        """
        x = self.check(x)
        loc, scale = self.encode(x)
        q = dist.Normal(loc, scale).to_event(1)
        z = q.rsample((samples,))  # (S, B, L)
        rec = ProductBernoulli(self.decoder(z)).log_prob(x).mean(0)
        if self.config["prior"] == "normal":
            kl = torch.distributions.kl_divergence(q, self.prior())
        else:
            kl = (q.log_prob(z) - self.prior().log_prob(z)).mean(0)
        return {"reconstruction": rec, "kl": kl, "elbo": rec - kl}

    def diagnostics(self, x: torch.Tensor) -> dict[str, float]:
        """The ELBO's two terms on ``x``, nats per image: the trainer logs them every epoch."""
        t = self.elbo_terms(x)
        return {"reconstruction": t["reconstruction"].mean().item(), "kl": t["kl"].mean().item()}

    def log_prob(self, x: torch.Tensor, num_samples: int | None = None,
                 chunk: int = 2_000_000) -> torch.Tensor:
        """Importance-sampled ``log p(x)``, ``(B, D) -> (B,)``, with ``num_samples`` from the guide.

        Samples are drawn in chunks of about ``chunk / (B * D)`` so memory stays bounded.
        """
        x = self.check(x)
        k = check_positive_int(num_samples or self.config["eval_samples"], "num_samples")
        loc, scale = self.encode(x)
        q = dist.Normal(loc, scale).to_event(1)
        prior = self.prior()
        per = max(1, chunk // (x.shape[0] * self.dim))
        parts = []
        for s in range(0, k, per):
            z = q.sample((min(per, k - s),))  # (S, B, L)
            log_w = (ProductBernoulli(self.decoder(z)).log_prob(x) + prior.log_prob(z)
                     - q.log_prob(z))
            parts.append(torch.logsumexp(log_w, 0))
        return torch.logsumexp(torch.stack(parts), 0) - math.log(k)

    def sample(self, n: int, mean: bool = False) -> torch.Tensor:
        """``n`` images ``(n, D)`` from the model (pixel probabilities when ``mean``)."""
        z = self.prior().sample((check_positive_int(n, "n"),))
        logits = self.decoder(z)
        return torch.sigmoid(logits) if mean else ProductBernoulli(logits).sample()
