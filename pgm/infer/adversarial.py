"""Adversarial training, written once for every GAN (Goodfellow et al., 2014).

:func:`train` plays the two-player game of an
:class:`~pgm.adversarial.base.AdversarialModel` by alternating gradient steps: each
mini-batch of real images gives one discriminator step on ``model.d_loss(real, G(z))``,
and after every ``d_steps`` of those the generator takes one step on
``model.g_loss(G(z), real=real)`` (Algorithm 1 of the paper, with ``k = d_steps``; the
real batch is read only by the adversarial autoencoder, whose generator is an autoencoder).
The players have their own Adam optimisers and learning rates (``lr`` for the generator,
``lr_d`` for the discriminator, ``betas = (0.5, 0.999)`` after Radford et al., 2016).

It shares the SVI trainer's machinery (:mod:`pgm.infer.svi`): the settings extend
:class:`~pgm.infer.svi.TrainConfig` and are checked the same way, each epoch's data order
comes from its own seeded generator, checkpoints (``last.pt``, ``best.pt``) are written
atomically in the same format, so :func:`pgm.infer.checkpoint.load_model` rebuilds the
model, and hold both players, both optimisers and the random state; SIGINT/SIGTERM are
turned into a checkpoint and :class:`~pgm.infer.svi.Interrupted` between steps; and
``resume=True`` continues to the same parameters as an uninterrupted run.

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
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyro
import torch

from pgm.adversarial.base import AdversarialModel
from pgm.core.base import direct_parameters, evaluating
from pgm.errors import PGMError, check_nonnegative_int, check_positive, check_positive_int
from pgm.infer import checkpoint, rundir
from pgm.infer.svi import (
    RESUMABLE,
    Diverged,
    TrainConfig,
    _deferred_signals,
    adam,
    between_steps,
    budget_spent,
    epoch_order,
    fingerprint,
    log_line,
    payload,
    progress_bar,
    restart_schedule,
    start,
    write,
)
from pgm.viz import save_grid

#: sample grids go to ``out/SAMPLES/step_NNNNNN.png``
SAMPLES = "samples"
#: images of the fixed batch of z that diversity is measured on
MONITOR_SIZE = 256


class Collapsed(PGMError, RuntimeError):
    """The game failed: the discriminator wins outright, or the generator's samples collapsed."""


@dataclass
class AdversarialConfig(TrainConfig):
    """Settings of :func:`train`: those of :class:`~pgm.infer.svi.TrainConfig` and more.

    ``lr`` is the generator's learning rate and ``checkpoint_every`` counts mini-batches
    (discriminator steps); ``patience`` does not apply (there is no validation likelihood).
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


@dataclass
class _State:
    epoch: int = 0  # epochs completed
    batch: int = 0  # mini-batches (discriminator steps) completed in the current epoch
    d_step: int = 0  # discriminator steps in all
    step: int = 0  # generator steps in all
    seconds: float = 0.0  # training time in all, across resumes
    d_loss: float = 0.0  # moving averages in this epoch
    g_loss: float = 0.0
    d_accuracy: float = 0.0
    d_perfect: int = 0  # consecutive discriminator steps at accuracy 1.0
    diversity: float = math.nan  # the latest diversity ratio of the fixed-z samples
    history: list[dict[str, float]] = field(default_factory=list)


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


def _diverged(state: _State, what: str, flag: str, lr: float) -> Diverged:
    return Diverged(f"training diverged at epoch {state.epoch} step {state.step}: {what}; "
                    f"lower {flag} (now {lr:g}) or set clip_norm")


def _step(loss: torch.Tensor, opt: torch.optim.Optimizer, params, clip_norm) -> None:
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if clip_norm is not None:
        torch.nn.utils.clip_grad_norm_(params, clip_norm)
    opt.step()


def train(
    model: AdversarialModel,
    train: torch.Tensor,
    *,
    condition: torch.Tensor | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    data_name: str = "",
    on_step: Callable[[int, dict[str, float]], None] | None = None,
    **settings: Any,
) -> dict[str, Any]:
    """Train the GAN ``model`` on the images ``train`` ``(n, pixels)``; returns a summary.

    :param condition: for a conditional model (``model.conditional``), what each image is
        generated from, ``(n, ...)`` aligned with ``train`` (the text-to-image GAN's
        caption word indices, from ``model.conditions(labels)``). Each batch's fakes are
        generated from the real images' conditions.
    :param out: directory for ``last.pt``/``best.pt`` (the same, written after every epoch:
        a GAN has no validation score to pick a best one by; with ``ema``, ``best.pt``
        holds the averaged generator and ``last.pt`` the trained one, to resume from) and
        ``samples/``; ``None`` writes nothing. A directory that already holds a run is
        refused unless ``resume`` or ``overwrite``; one that another process is writing is
        refused (:mod:`pgm.infer.rundir`).
    :param resume: continue from ``out/last.pt`` with its settings, on its data (both
        checked); only those of :data:`ADVERSARIAL_RESUMABLE` may be changed.
    :param overwrite: replace the run in ``out`` (its files are deleted first).
    :param data_name: recorded in the checkpoints.
    :param on_step: called as ``on_step(d_step, figures)`` after every mini-batch, with
        ``figures`` the batch's ``d_loss``, ``d_accuracy`` and (after a generator step)
        ``g_loss``.
    :param settings: fields of :class:`AdversarialConfig`; unset ones come from
        ``model.defaults``, then the dataclass.
    :raises Diverged: on a non-finite loss, before the step that would apply it, or
        non-finite parameters at a checkpoint (the last good checkpoint is kept).
    :raises PGMError: ``out`` cannot be used, or resuming with other settings or data.
    :raises Collapsed: when the discriminator wins outright or the samples collapse,
        after writing ``last.pt``.
    :raises Interrupted: on SIGINT/SIGTERM, after writing ``last.pt``.
    """
    if not isinstance(model, AdversarialModel):
        raise TypeError(f"model: expected a GAN (pgm.adversarial.AdversarialModel), got "
                        f"{type(model).__name__}; fit other models with pgm.fit")
    if not resume:  # bad settings fail before the run folder is touched
        start(model, settings, None, False, AdversarialConfig, ADVERSARIAL_RESUMABLE,
              "adversarial", {})
    train = model.check(train, "train")
    if model.conditional != (condition is not None):
        what = ("expected a tensor (n, ...) aligned with train, got None"
                if model.conditional else f"expected None, got {type(condition).__name__}")
        raise ValueError(f"condition: {model.name or type(model).__name__} is "
                         f"{'' if model.conditional else 'not '}conditional; {what}")
    if condition is not None and len(condition) != len(train):
        raise ValueError(f"condition: expected one per training image ({len(train)}), "
                         f"got {len(condition)}")
    with rundir.claim(out, resume=resume, overwrite=overwrite):
        return _train(model, train, condition, out, resume, data_name, on_step, settings)


def _train(model, train, condition, out, resume, data_name, on_step, settings):
    data = {"name": data_name, "n": len(train), "fingerprint": fingerprint(train, condition)}
    cfg, ckpt, out = start(model, settings, out, resume, AdversarialConfig,
                           ADVERSARIAL_RESUMABLE, "adversarial", data)
    if ckpt is not None and not data_name:
        data["name"] = ckpt.get("data", "")
    lr_d = cfg.lr_d if cfg.lr_d is not None else cfg.lr

    pyro.set_rng_seed(cfg.seed)
    players = {"generator": model.generator, "discriminator": model.discriminator}
    opts = {"generator": adam(model.generator.parameters(), cfg.lr, cfg.betas),
            "discriminator": adam(model.discriminator.parameters(), lr_d, cfg.betas)}
    scheds = {k: torch.optim.lr_scheduler.ExponentialLR(o, gamma=cfg.lr_decay)
              for k, o in opts.items()}
    if ckpt is not None:
        checkpoint.restore(model, ckpt)
        for k in opts:
            opts[k].load_state_dict(ckpt["optimizer"][k])
            scheds[k].load_state_dict(ckpt["scheduler"][k])
            scheds[k].gamma = cfg.lr_decay
        for k, flag, lr in (("generator", "lr", cfg.lr), ("discriminator", "lr_d", lr_d)):
            if flag in settings or (k == "discriminator" and "lr" in settings
                                    and cfg.lr_d is None):
                restart_schedule(opts[k], scheds[k], lr)  # from the resumed step on
        state = _State(**ckpt["state"])
        torch.set_rng_state(ckpt["rng"])
    else:
        state = _State()
        model.initialize(train)
    ema = None
    if cfg.ema is not None:  # Karras et al. 2018; Yazici et al. 2019
        ema = torch.optim.swa_utils.AveragedModel(
            model.generator, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(cfg.ema),
            use_buffers=True)
        if ckpt is not None and ckpt.get("ema") is not None:
            ema.load_state_dict(ckpt["ema"])

    # fixed noise for the diversity check and the sample grids; the global random state
    # is left alone, so monitoring never changes the course of training
    z_fixed = model.generator_input(
        MONITOR_SIZE, torch.Generator().manual_seed(cfg.seed + 1), real=train[:MONITOR_SIZE],
        condition=None if condition is None else condition[:MONITOR_SIZE])
    real_spread = mean_pairwise_distance(train[:MONITOR_SIZE])

    def save(*names: str) -> None:
        if out is not None:
            content = payload(model, cfg, state, data, trainer="adversarial",
                              ema=None if ema is None else ema.state_dict(),
                              optimizer={k: o.state_dict() for k, o in opts.items()},
                              scheduler={k: s.state_dict() for k, s in scheds.items()})
            for name in names:
                if name == checkpoint.BEST and ema is not None:  # what to sample from
                    write(out / name, {**content, "state_dict": averaged(model, ema)}, state)
                else:
                    write(out / name, content, state)

    def lrs() -> tuple[float, float]:
        return scheds["generator"].get_last_lr()[0], scheds["discriminator"].get_last_lr()[0]

    def fail(message: str) -> None:
        save(checkpoint.LAST)
        where = f"; checkpoint in {out}" if out is not None else ""
        raise Collapsed(f"training failed at epoch {state.epoch} step {state.step}: "
                        f"{message}{where}")

    n, bs = train.shape[0], cfg.batch_size
    model.train()
    bar, n_batches = progress_bar(cfg, state, n)

    def finished() -> str | None:
        return budget_spent(cfg, state)

    with _deferred_signals() as sig, direct_parameters():
        while state.epoch < cfg.epochs and not finished():
            order = epoch_order(n, cfg.seed, state.epoch)
            model.start_epoch(state.epoch)
            t0 = time.perf_counter()
            for b in range(state.batch, n_batches):
                idx = order[b * bs : (b + 1) * bs]
                real = train[idx]  # (B, D)
                cond = None if condition is None else condition[idx]  # (B, ...)
                # -- discriminator step: max log D(x) + log(1 - D(G(z))) --------------
                with torch.no_grad():  # a full batch, even beside a last short one
                    fake, latents = model.generate(bs, cond, real)  # (B, D), values behind
                if not bool(torch.isfinite(fake).all()):
                    raise _diverged(state, "the generator's samples are not finite", "lr",
                                    lrs()[0])
                d_loss, accuracy = model.d_loss(real, fake, latents)
                if not math.isfinite(d_loss.item()):
                    raise _diverged(state, f"the discriminator loss is {d_loss.item()}", "lr_d",
                                    lrs()[1])
                _step(d_loss, opts["discriminator"], players["discriminator"].parameters(),
                      cfg.clip_norm)
                figures = {"d_loss": d_loss.item(), "d_accuracy": accuracy.item()}
                state.batch, state.d_step = b + 1, state.d_step + 1
                first = state.d_step == 1
                state.d_loss = _average(state.d_loss, figures["d_loss"], first)
                state.d_accuracy = _average(state.d_accuracy, figures["d_accuracy"], first)
                state.d_perfect = state.d_perfect + 1 if figures["d_accuracy"] == 1.0 else 0
                # -- generator step: min g_loss(G(z)) -----------------------------------
                if state.d_step % cfg.d_steps == 0:
                    model.discriminator.requires_grad_(False)  # D is held fixed here
                    try:
                        g_loss = model.g_loss(*model.generate(bs, cond, real), real=real)
                        if not math.isfinite(g_loss.item()):
                            raise _diverged(state, f"the generator loss is {g_loss.item()}",
                                            "lr", lrs()[0])
                        _step(g_loss, opts["generator"], players["generator"].parameters(),
                              cfg.clip_norm)
                    finally:
                        model.discriminator.requires_grad_(True)
                    if ema is not None:
                        ema.update_parameters(model.generator)
                    figures["g_loss"] = g_loss.item()
                    state.g_loss = _average(state.g_loss, figures["g_loss"], state.step == 0)
                    state.step += 1
                    if state.step % cfg.monitor_every == 0:
                        state.diversity = diversity(model, z_fixed, real_spread)
                    if out is not None and cfg.sample_every and \
                            state.step % cfg.sample_every == 0:
                        _save_samples(model, _first(z_fixed, 64),
                                      out / SAMPLES / f"step_{state.step:06d}.png")
                bar.update()
                bar.set_postfix(epoch=state.epoch, d_loss=f"{state.d_loss:.3f}",
                                g_loss=f"{state.g_loss:.3f}", d_acc=f"{state.d_accuracy:.2f}")
                if on_step is not None:
                    on_step(state.d_step, figures)
                # -- is the game still being played? -------------------------------------
                if cfg.collapse_steps is not None and state.d_perfect >= cfg.collapse_steps:
                    bar.close()
                    fail(f"the discriminator wins: its accuracy has been 1.0 for "
                         f"{state.d_perfect} steps in a row, so the generator gets no "
                         f"useful gradient; try loss='ns' (now {model.loss!r}), a lower "
                         f"lr_d (now {lrs()[1]:g}) or fewer d_steps (now {cfg.d_steps})")
                if (cfg.min_diversity is not None and state.step >= cfg.collapse_after
                        and state.diversity < cfg.min_diversity):
                    bar.close()
                    fail(f"mode collapse: samples of a fixed batch of z are {state.diversity:.3f}"
                         f" times as spread out as the data (mean pairwise distance), below "
                         f"min_diversity={cfg.min_diversity:g}; try a lower lr (now "
                         f"{lrs()[0]:g}), loss='ns', or another seed")
                t0 = between_steps(sig, cfg, state, state.d_step, t0, save, bar, out)
            state.seconds += time.perf_counter() - t0
            lr_g, lr_d_now = lrs()
            record = {"epoch": state.epoch + 1, "d_loss": state.d_loss, "g_loss": state.g_loss,
                      "d_accuracy": state.d_accuracy, "diversity": state.diversity,
                      "lr": lr_g, "lr_d": lr_d_now, "seconds": state.seconds}
            for s in scheds.values():
                s.step()
            state.epoch, state.batch = state.epoch + 1, 0
            state.history.append(record)
            if cfg.log_every and state.epoch % cfg.log_every == 0:
                bar.write(log_line(record))
            save(checkpoint.LAST, checkpoint.BEST)
            if finished():
                bar.write(finished())
    bar.close()
    if ema is not None:  # the returned model samples from the averaged generator
        model.load_state_dict(averaged(model, ema))
    return {"config": asdict(cfg), **asdict(state), "model": model}


def _first(inputs: Any, n: int) -> Any:
    """The first ``n`` of a batch of generator inputs: a tensor or a tuple of tensors."""
    return tuple(t[:n] for t in inputs) if isinstance(inputs, tuple) else inputs[:n]


def _average(running: float, value: float, first: bool) -> float:
    return value if first else 0.98 * running + 0.02 * value


@torch.no_grad()
def _save_samples(model: AdversarialModel, z: Any, path: Path) -> None:
    with evaluating(model):
        save_grid(model.render(z), model.shape, path)
