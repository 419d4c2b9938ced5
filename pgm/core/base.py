"""The protocol shared by every generative model of pgm.

A model is a :class:`torch.nn.Module` with two Pyro programs and a few methods:

* ``model(x, num_data=None)``: the generative process, observing ``x`` of shape
  ``(batch, pixels)`` under ``pyro.plate("data", num_data, subsample=...)`` so
  that a mini-batch's log-likelihood is scaled to the whole data set;
* ``guide(x, num_data=None)``: the variational distribution over the latent
  sites (empty for fully observed models);
* ``elbo()``: the Pyro ELBO that fits this pair (``TraceEnum_ELBO`` where
  discrete latents are enumerated out);
* ``sample(n)``: ``n`` draws ``(n, pixels)`` from the model;
* ``log_prob(x)``: ``(batch,)`` log-likelihoods in nats, exact for explicit
  models and an importance-sampled estimate for latent-variable models;
  implicit models (GANs) do not have one;
* ``num_parameters``: the number of free parameters.

Training, evaluation, sampling, checkpoints and the command line are written
once against this protocol (:mod:`pgm.infer`, :mod:`pgm.cli`).
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import warnings
from collections.abc import Callable
from typing import Any, ClassVar

import pyro
import torch
from pyro.infer import ELBO, Trace_ELBO
from torch import nn

from pgm.errors import check_images

#: set while pgm's own trainer runs a step: it optimizes ``model.parameters()`` directly,
#: so registering them in Pyro's param store (``pyro.module``) is skipped there
_DIRECT_PARAMETERS = contextvars.ContextVar("pgm_direct_parameters", default=False)


@contextlib.contextmanager
def direct_parameters():
    """Within this context models skip ``pyro.module`` registration
    (:meth:`GenerativeModel.register_parameters`)."""
    token = _DIRECT_PARAMETERS.set(True)
    try:
        yield
    finally:
        _DIRECT_PARAMETERS.reset(token)


@contextlib.contextmanager
def evaluating(module: nn.Module):
    """Run a block with ``module`` in evaluation mode (batch norm on its running statistics,
    which are left alone), then restore the mode it was in."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


def marginal_logits(x: torch.Tensor) -> torch.Tensor:
    """Logits of the pixel marginals of binary images ``(n, D)``, add-one smoothed: ``(D,)``.

    Models start their output biases here (``initialize``), so the first steps do not go to
    learning the mean image through every other weight.
    """
    return torch.logit((x.sum(0) + 1) / (x.shape[0] + 2))


class GenerativeModel(nn.Module):
    """Base class of pgm's models; see the module docstring for the protocol.

    :param shape: ``(channels, height, width)`` of one example.
    """

    #: registry name, set by :func:`pgm.core.register`
    name: ClassVar[str] = ""
    #: ``"explicit"`` (exact log_prob), ``"latent"`` (estimated) or ``"implicit"`` (none)
    kind: ClassVar[str] = "explicit"
    #: how the model is trained: the name of its regime in :data:`pgm.infer.loop.REGIMES`
    #: (``"svi"``: gradient steps on the negative ELBO)
    trainer: ClassVar[str] = "svi"
    #: how ``pgm eval`` judges it on held-out data: ``"likelihood"`` (NLL, bits/dim),
    #: ``"samples"`` (sample quality, :mod:`pgm.metrics`) or ``"scores"`` (its outputs
    #: for real inputs against the known answers, ``model.scores``)
    evaluation: ClassVar[str] = "likelihood"
    #: whether the model needs pixels in {0, 1}
    binary: ClassVar[bool] = True
    #: training defaults that suit this model (override from the command line)
    defaults: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # a subclass is another model: it does not inherit its parent's registry name
        # (its checkpoints would be rebuilt as the parent); ``register`` gives it its own
        if "name" not in cls.__dict__:
            cls.name = ""

    def __init__(self, shape: tuple[int, ...] = (1, 28, 28), **config: Any):
        super().__init__()
        self.shape = tuple(int(s) for s in shape)
        if not self.shape or any(s < 1 for s in self.shape):
            raise ValueError(f"shape: expected positive sizes, got {shape!r}")
        self.dim = math.prod(self.shape)
        #: everything needed to rebuild the model: ``build(name, **config)``
        self.config = {"shape": list(self.shape), **config}

    # -- the Pyro programs -------------------------------------------------------------
    def model(self, x: torch.Tensor, num_data: int | None = None) -> None:
        raise NotImplementedError

    def guide(self, x: torch.Tensor, num_data: int | None = None) -> None:
        """The variational distribution; empty for fully observed models."""

    def elbo(self) -> ELBO:
        """The ELBO that fits ``model``/``guide``."""
        return Trace_ELBO()

    def data_plate(self, x: torch.Tensor, num_data: int | None = None) -> pyro.plate:
        """``pyro.plate("data")`` over the batch, scaled to ``num_data`` examples."""
        n = x.shape[0]
        if num_data is None or num_data == n:
            return pyro.plate("data", n)
        return pyro.plate("data", num_data, subsample=torch.arange(n))

    def register(self) -> None:
        """Deprecated name of :meth:`register_parameters` (it clashed with
        :func:`pgm.core.register`, the model registry); removed in the next release."""
        warnings.warn("GenerativeModel.register() is renamed register_parameters(); the old "
                      "name goes in the next release", DeprecationWarning, stacklevel=2)
        self.register_parameters()

    def register_parameters(self) -> None:
        """Register this module's trainable parameters with Pyro (``pyro.module``).

        This lets ``pyro.infer.SVI`` find them through the param store. pgm's trainer
        steps ``model.parameters()`` itself and skips this (:func:`direct_parameters`).
        """
        if _DIRECT_PARAMETERS.get():
            return
        if any(p.requires_grad for p in self.parameters()):
            with warnings.catch_warnings():  # frozen parts are left out on purpose
                warnings.filterwarnings("ignore", ".*was not registered in the param store")
                pyro.module(self._pyro_key, self)

    @property
    def _pyro_key(self) -> str:
        # unique per instance, so that two models never share param-store entries
        return f"{self.name or type(self).__name__}_{id(self):x}"

    def initialize(self, x: torch.Tensor) -> None:
        """Data-dependent initialisation from the training images, before the first step.

        The default does nothing; the trainer calls it once, never on resume.
        """

    @classmethod
    def data_settings(cls, data: Any, config: dict[str, Any]) -> dict[str, Any]:
        """Model settings that a data set (a :class:`pgm.data.Dataset`) suggests, for
        ``pgm train`` to use where ``config`` (the user's ``--set``) leaves them out; none
        here."""
        return {}

    def training_data(self, data: Any) -> tuple[torch.Tensor, Any]:
        """What ``pgm train`` trains on from a :class:`pgm.data.Dataset`: its examples
        ``(n, D)`` and, for a conditional model, their conditions (None here)."""
        return data.x, None

    def preview(self, n: int, data: Callable[[], tuple[torch.Tensor, Any]] | None = None
                ) -> torch.Tensor:
        """``n`` images ``(n, D)`` that show what the model learned: the grid ``pgm train``
        writes beside a run, and ``pgm sample``'s. Draws (:meth:`sample`) here.

        :param data: for a model that generates from real examples (translators,
            completers: :class:`pgm.adversarial.base.ImageToImage`), a function returning
            examples ``(x, condition)`` of the run's data (:meth:`training_data`); it is
            called only by such a model.
        """
        return self.sample(n)

    def start_epoch(self, epoch: int) -> None:
        """Called by the trainers (SVI and adversarial) before each training epoch (``epoch``
        counts from 0; a resumed run calls it again): for schedules such as a KL warm-up.
        Does nothing here.
        """

    # -- what a fitted model offers ----------------------------------------------------
    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Log-likelihood in nats of each example of ``x`` ``(batch, pixels)`` -> ``(batch,)``."""
        raise NotImplementedError(f"{self.name or type(self).__name__} has no log_prob")

    def sample(self, n: int) -> torch.Tensor:
        """``n`` draws from the model, ``(n, pixels)``."""
        raise NotImplementedError

    def diagnostics(self, x: torch.Tensor) -> dict[str, float]:
        """Extra per-epoch figures on validation images, logged by the trainer (none here)."""
        return {}

    @property
    def num_parameters(self) -> int:
        """Free parameters (override where tensors hold redundant entries)."""
        return sum(p.numel() for p in self.parameters())

    def check(self, x: object, name: str = "x") -> torch.Tensor:
        """Validate a batch ``(batch, pixels)`` for this model; return it in the dtype of
        the model's parameters (float64 or float16 input is converted)."""
        dtype = next((p.dtype for p in self.parameters() if p.is_floating_point()),
                     torch.get_default_dtype())
        return check_images(x, dim=self.dim, binary=self.binary, name=name, dtype=dtype)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.config.items())
