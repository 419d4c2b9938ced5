"""Adversarial training, written once for every GAN (Goodfellow et al., 2014).

:func:`train` plays the two-player game of an
:class:`~pgm.adversarial.base.AdversarialModel` by alternating gradient steps: each
mini-batch of real images gives one discriminator step on ``model.d_loss(real, G(z))``,
and after every ``d_steps`` of those the generator takes one step on
``model.g_loss(G(z), real=real)`` (Algorithm 1 of the paper, with ``k = d_steps``; the
real batch is read only by the adversarial autoencoder, whose generator is an autoencoder).
The players have their own Adam optimisers and learning rates (``lr`` for the generator,
``lr_d`` for the discriminator, ``betas = (0.5, 0.999)`` after Radford et al., 2016).

It is the :class:`Adversarial` regime of the one training loop (:func:`pgm.infer.loop.fit`,
``pgm.fit``), which GANs share with SVI: the settings extend
:class:`~pgm.infer.loop.TrainConfig`, each epoch's data order comes from its own seeded
generator, checkpoints (``last.pt``, ``best.pt``) are written atomically in one format and
hold both players, both optimisers and the random state; SIGINT/SIGTERM are turned into a
checkpoint and :class:`~pgm.infer.loop.Interrupted` between steps; and ``resume=True``
continues to the same parameters as an uninterrupted run. :func:`train` is that loop.

``ema=0.999`` keeps an exponential moving average of the generator's weights (Karras et
al. 2018 sample Progressive GAN from one; Yazici et al. 2019 show such averages give
better samples than the last iterate, which circles around the game's equilibrium). It is
what ``best.pt`` and the returned model sample from; training itself is unchanged.

A GAN has no likelihood to watch, so the loop watches for the ways the game fails and
stops with a message that says which and what to try:

* a non-finite loss of either player (:class:`Diverged`);
* the discriminator winning outright, its accuracy 1.0 for ``collapse_steps``
  consecutive steps, where the generator's gradient vanishes (:class:`Collapsed`);
* mode collapse: the mean pairwise distance of the images of a fixed batch of ``z``
  falls below ``min_diversity`` times that of real images (:class:`Collapsed`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from pgm.adversarial.base import AdversarialModel
from pgm.core.base import direct_parameters, evaluating
from pgm.errors import PGMError, check_nonnegative_int, check_positive, check_positive_int
from pgm.infer import loop
from pgm.infer.loop import RESUMABLE, Diverged, Interrupted, Player, Regime, State, TrainConfig
from pgm.viz import save_grid

__all__ = ["Adversarial", "AdversarialConfig", "ADVERSARIAL_RESUMABLE", "Collapsed", "Diverged",
           "Interrupted", "train"]

#: sample grids go to ``out/SAMPLES/step_NNNNNN.png``
SAMPLES = "samples"
#: images of the fixed batch of z that diversity is measured on
MONITOR_SIZE = 256


class Collapsed(PGMError, RuntimeError):
    """The game failed: the discriminator wins outright, or the generator's samples collapsed."""


@dataclass
class AdversarialConfig(TrainConfig):
    """Settings of :class:`Adversarial`: those of :class:`~pgm.infer.loop.TrainConfig` and more.

    ``lr`` is the generator's learning rate and ``checkpoint_every`` counts mini-batches
    (discriminator steps, as ``step`` does); ``patience`` does not apply (there is no
    validation likelihood).
    """

    #: the discriminator's learning rate (None: ``lr``)
    lr_d: float | None = None
    #: Adam's ``(beta1, beta2)`` for both players
    betas: tuple[float, float] = (0.5, 0.999)
    #: discriminator steps per generator step (``k`` of Goodfellow et al.)
    d_steps: int = 1
    #: write a grid of the fixed-z samples every this many generator steps (None: never)
    sample_every: int | None = 500
    #: measure the diversity of the fixed-z samples every this many generator steps
    monitor_every: int = 100
    #: stop when the discriminator's accuracy is 1.0 for this many steps in a row (None: never)
    collapse_steps: int | None = 1000
    #: stop when samples are less diverse than this fraction of the data (None: never) ...
    min_diversity: float | None = 0.1
    #: ... from this many generator steps on (an untrained generator is not yet diverse)
    collapse_after: int = 500
    #: decay of an exponential moving average of the generator's weights (None: none)
    ema: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.patience is not None:
            raise ValueError(f"patience: adversarial training has no validation likelihood "
                             f"to stop on; expected None, got {self.patience!r}")
        if self.lr_d is not None:
            check_positive(self.lr_d, "lr_d")
        if not (len(self.betas) == 2 and all(0 <= b < 1 for b in self.betas)):
            raise ValueError(f"betas: expected two numbers in [0, 1), got {self.betas!r}")
        self.betas = (float(self.betas[0]), float(self.betas[1]))
        check_positive_int(self.d_steps, "d_steps")
        check_positive_int(self.monitor_every, "monitor_every")
        if self.sample_every is not None:
            check_positive_int(self.sample_every, "sample_every")
        if self.collapse_steps is not None:
            check_positive_int(self.collapse_steps, "collapse_steps")
        if self.min_diversity is not None and not 0 < self.min_diversity < 1:
            raise ValueError(f"min_diversity: expected a number in (0, 1), "
                             f"got {self.min_diversity!r}")
        check_nonnegative_int(self.collapse_after, "collapse_after")
        if self.ema is not None and not 0 < self.ema < 1:
            raise ValueError(f"ema: expected a decay in (0, 1) such as 0.999, or None; "
                             f"got {self.ema!r}")


#: settings that may differ from the checkpoint's on ``resume=True``
ADVERSARIAL_RESUMABLE = (*RESUMABLE, "lr_d", "sample_every", "collapse_steps",
                         "min_diversity", "collapse_after", "ema")


def mean_pairwise_distance(x: torch.Tensor) -> float:
    """Mean Euclidean distance between the distinct rows of ``x`` ``(n, D)``, in float64."""
    return float(torch.pdist(x.double().flatten(1)).mean())


@torch.no_grad()
def diversity(model: AdversarialModel, z: Any, real_spread: float) -> float:
    """Mean pairwise distance of the images of generator inputs ``z`` (from
    ``model.generator_input``) over that of real images (``real_spread``).

    About 1 when the samples spread like the data, near 0 under mode collapse. Runs the
    generator in evaluation mode, so it changes neither batch-norm statistics nor the
    random state.
    """
    with evaluating(model):
        return mean_pairwise_distance(model.render(z)) / real_spread


def averaged(model: AdversarialModel, ema) -> dict[str, torch.Tensor]:
    """``model``'s state dict with the generator's weights (and buffers) replaced by their
    moving average ``ema`` (a :class:`torch.optim.swa_utils.AveragedModel`)."""
    state = model.state_dict()
    prefix = next(name for name, m in model.named_children() if m is model.generator)
    state.update({f"{prefix}.{k}": v for k, v in ema.module.state_dict().items()})
    return state


class Adversarial(Regime):
    """One step: a discriminator step on ``model.d_loss(real, G(z))`` and, every
    ``d_steps`` batches, a generator step on ``model.g_loss(G(z), real=real)``; figures
    ``d_loss``, ``d_accuracy`` and (after a generator step) ``g_loss``.

    Watches the game (:class:`Collapsed`), writes sample grids of a fixed batch of noise
    to ``out/samples/`` every ``sample_every`` generator steps, and keeps the moving
    average of the generator's weights (``ema``) that ``best.pt`` holds.
    """

    name = "adversarial"
    config = AdversarialConfig
    resumable = ADVERSARIAL_RESUMABLE
    validates = False  # a GAN has no likelihood

    def __init__(self, model, cfg, train, condition, out) -> None:
        super().__init__(model, cfg, train, condition, out)
        lr_d = cfg.lr_d if cfg.lr_d is not None else cfg.lr
        self.g = Player(loop.adam(model.generator.parameters(), cfg.lr, cfg.betas), cfg.lr)
        self.d = Player(loop.adam(model.discriminator.parameters(), lr_d, cfg.betas), lr_d,
                        ("lr_d",) + (("lr",) if cfg.lr_d is None else ()))
        self.ema = None
        if cfg.ema is not None:  # Karras et al. 2018; Yazici et al. 2019
            self.ema = torch.optim.swa_utils.AveragedModel(
                model.generator, use_buffers=True,
                multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(cfg.ema))
        # fixed noise for the diversity check and the sample grids; the global random
        # state is left alone, so monitoring never changes the course of training
        self.z_fixed = model.generator_input(
            MONITOR_SIZE, torch.Generator().manual_seed(cfg.seed + 1),
            real=train[:MONITOR_SIZE],
            condition=None if condition is None else condition[:MONITOR_SIZE])
        self.real_spread = mean_pairwise_distance(train[:MONITOR_SIZE])

    @classmethod
    def check_data(cls, model, valid, condition) -> None:
        if not isinstance(model, AdversarialModel):
            raise TypeError(f"model: expected a GAN (pgm.adversarial.AdversarialModel), got "
                            f"{type(model).__name__}")
        if valid is not None:
            raise ValueError(f"valid: {model.name or type(model).__name__} has no likelihood "
                             "to validate on; expected None")
        if model.conditional != (condition is not None):
            what = ("expected a tensor (n, ...) aligned with train, got None"
                    if model.conditional else f"expected None, got {type(condition).__name__}")
            raise ValueError(f"condition: {model.name or type(model).__name__} is "
                             f"{'' if model.conditional else 'not '}conditional; {what}")

    def players(self) -> dict[str, Player]:
        return {"generator": self.g, "discriminator": self.d}

    def _diverged(self, state: State, what: str, player: Player) -> Diverged:
        return Diverged(f"training diverged at epoch {state.epoch} step {state.step}: {what}; "
                        f"lower {player.lr_settings[0]} (now "
                        f"{player.optimizer.param_groups[0]['lr']:g}) or set clip_norm")

    def step(self, real: torch.Tensor, cond: Any, state: State) -> dict[str, float]:
        model, cfg, bs = self.model, self.cfg, self.cfg.batch_size
        with direct_parameters():
            # -- discriminator step: max log D(x) + log(1 - D(G(z))) ----------------------
            with torch.no_grad():  # a full batch, even beside a last short one
                fake, latents = model.generate(bs, cond, real)  # (B, D), values behind
            if not bool(torch.isfinite(fake).all()):
                raise self._diverged(state, "the generator's samples are not finite", self.g)
            d_loss, accuracy = model.d_loss(real, fake, latents)
            if not math.isfinite(d_loss.item()):
                raise self._diverged(state, f"the discriminator loss is {d_loss.item()}", self.d)
            loop.gradient_step(d_loss, self.d.optimizer, model.discriminator.parameters(),
                               cfg.clip_norm)
            model.discriminator_trained(real)
            figures = {"d_loss": d_loss.item(), "d_accuracy": accuracy.item()}
            extra = state.extra
            extra["d_perfect"] = extra.get("d_perfect", 0) + 1 if accuracy.item() == 1.0 else 0
            if (state.step + 1) % cfg.d_steps:
                return figures
            # -- generator step: min g_loss(G(z)), D held fixed ------------------------------
            model.discriminator.requires_grad_(False)
            try:
                g_loss = model.g_loss(*model.generate(bs, cond, real), real=real)
                if not math.isfinite(g_loss.item()):
                    raise self._diverged(state, f"the generator loss is {g_loss.item()}", self.g)
                loop.gradient_step(g_loss, self.g.optimizer, model.generator.parameters(),
                                   cfg.clip_norm)
            finally:
                model.discriminator.requires_grad_(True)
            if self.ema is not None:
                self.ema.update_parameters(model.generator)
            figures["g_loss"] = g_loss.item()
            extra["g_step"] = g_step = extra.get("g_step", 0) + 1
            if g_step % cfg.monitor_every == 0:
                extra["diversity"] = diversity(model, self.z_fixed, self.real_spread)
            if self.out is not None and cfg.sample_every and g_step % cfg.sample_every == 0:
                _save_samples(model, _first(self.z_fixed, 64),
                              self.out / SAMPLES / f"step_{g_step:06d}.png")
        return figures

    def check(self, state: State) -> Collapsed | None:
        """Is the game still being played?"""
        cfg, extra = self.cfg, state.extra
        if cfg.collapse_steps is not None and extra.get("d_perfect", 0) >= cfg.collapse_steps:
            return self._failed(state, (
                f"the discriminator wins: its accuracy has been 1.0 for {extra['d_perfect']} "
                f"steps in a row, so the generator gets no useful gradient; try loss='ns' "
                f"(now {self.model.loss!r}), a lower lr_d (now "
                f"{self.d.optimizer.param_groups[0]['lr']:g}) or fewer d_steps (now "
                f"{cfg.d_steps})"))
        spread = extra.get("diversity", math.nan)
        if (cfg.min_diversity is not None and extra.get("g_step", 0) >= cfg.collapse_after
                and spread < cfg.min_diversity):
            return self._failed(state, (
                f"mode collapse: samples of a fixed batch of z are {spread:.3f} times as "
                f"spread out as the data (mean pairwise distance), below "
                f"min_diversity={cfg.min_diversity:g}; try a lower lr (now "
                f"{self.g.optimizer.param_groups[0]['lr']:g}), loss='ns', or another seed"))
        return None

    def _failed(self, state: State, message: str) -> Collapsed:
        where = f"; checkpoint in {self.out}" if self.out is not None else ""
        return Collapsed(f"training failed at epoch {state.epoch} generator step "
                         f"{state.extra.get('g_step', 0)}: {message}{where}")

    def epoch_figures(self, state: State) -> dict[str, float]:
        return {"diversity": state.extra.get("diversity", math.nan)}

    def entries(self) -> dict[str, Any]:
        return {"ema": None if self.ema is None else self.ema.state_dict()}

    def load(self, ckpt: Mapping[str, Any]) -> None:
        if self.ema is not None and ckpt.get("ema") is not None:
            self.ema.load_state_dict(ckpt["ema"])

    def best_weights(self) -> dict[str, torch.Tensor] | None:
        """With ``ema``, the averaged generator: what to sample from."""
        return None if self.ema is None else averaged(self.model, self.ema)

    def finish(self, state: State) -> None:
        if self.ema is not None:  # the returned model samples from the averaged generator
            self.model.load_state_dict(averaged(self.model, self.ema))

    @classmethod
    def describe(cls, summary: Mapping[str, Any]) -> str:
        return (f"discriminator loss {summary.get('d_loss', math.nan):.3f} (accuracy "
                f"{summary.get('d_accuracy', math.nan):.2f}), generator loss "
                f"{summary.get('g_loss', math.nan):.3f} after {summary.get('g_step', 0)} "
                f"generator steps; {summary['seconds']:.1f} s training")


def train(model: AdversarialModel, train: torch.Tensor, *, condition: Any = None,
          out: str | Path | None = None, resume: bool = False, overwrite: bool = False,
          data_name: str = "", on_step: Callable[[int, dict[str, float]], None] | None = None,
          **settings: Any) -> dict[str, Any]:
    """Train the GAN ``model`` on the images ``train`` ``(n, pixels)``: :func:`pgm.fit`
    (:func:`pgm.infer.loop.fit`) for a GAN; returns its summary.

    :param condition: for a conditional model (``model.conditional``), what each image is
        generated from, ``(n, ...)`` aligned with ``train`` (the text-to-image GAN's
        caption word indices, from ``model.conditions(labels)``). Each batch's fakes are
        generated from the real images' conditions.
    :param out: directory for ``last.pt``/``best.pt`` (the same, written after every epoch:
        a GAN has no validation score to pick a best one by; with ``ema``, ``best.pt``
        holds the averaged generator and ``last.pt`` the trained one, to resume from) and
        ``samples/``; ``None`` writes nothing.
    :param on_step: called as ``on_step(step, figures)`` after every mini-batch, with
        ``figures`` the batch's ``d_loss``, ``d_accuracy`` and (after a generator step)
        ``g_loss``.
    :param settings: fields of :class:`AdversarialConfig`.
    :raises TypeError: ``model`` is not a GAN.
    :raises Diverged: on a non-finite loss, before the step that would apply it, or
        non-finite parameters at a checkpoint (the last good checkpoint is kept).
    :raises Collapsed: when the discriminator wins outright or the samples collapse,
        after writing ``last.pt``.
    :raises Interrupted: on SIGINT/SIGTERM, after writing ``last.pt``.
    """
    if not isinstance(model, AdversarialModel):
        raise TypeError(f"model: expected a GAN (pgm.adversarial.AdversarialModel), got "
                        f"{type(model).__name__}; fit other models with pgm.fit")
    return loop.fit(model, train, condition=condition, out=out, resume=resume,
                    overwrite=overwrite, data_name=data_name, on_step=on_step, **settings)


def _first(inputs: Any, n: int) -> Any:
    """The first ``n`` of a batch of generator inputs: a tensor or a tuple of tensors."""
    return tuple(t[:n] for t in inputs) if isinstance(inputs, tuple) else inputs[:n]


@torch.no_grad()
def _save_samples(model: AdversarialModel, z: Any, path: Path) -> None:
    with evaluating(model):
        save_grid(model.render(z), model.shape, path)
