"""Stochastic variational inference, written once for every model.

:func:`fit` minimises ``model.elbo()``'s loss for ``model.model``/``model.guide``
over shuffled mini-batches, each observed under ``pyro.plate("data", N,
subsample=...)`` so that the loss is an unbiased estimate of the full-data
negative ELBO. It uses the differentiable-loss form of Pyro's ELBOs
(``ELBO.differentiable_loss``, as ``ELBOModule`` does) with a PyTorch
optimizer, which keeps optimizer state in one ``state_dict`` for checkpoints.

After each epoch it computes the validation NLL, keeps the best weights
(``best.pt``) and the latest state (``last.pt``), and stops early when the
validation NLL has not improved for ``patience`` epochs. Both files are
written atomically. Training that is interrupted (Ctrl-C, SIGTERM, or a
crash after a checkpoint) resumes with ``resume=True`` and reaches the same
parameters as an uninterrupted run: the data order of each epoch comes from
its own seeded generator, and the global random state is saved with the
checkpoint.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyro
import torch
from tqdm.auto import tqdm

from pgm.core import GenerativeModel
from pgm.core.base import direct_parameters
from pgm.core.program import Program
from pgm.errors import PGMError, check_nonnegative_int, check_positive, check_positive_int
from pgm.infer import checkpoint
from pgm.infer.evaluate import nll


@dataclass
class TrainConfig:
    """Settings of :func:`fit`; models suggest theirs in ``Model.defaults``."""

    epochs: int = 10
    batch_size: int = 100
    lr: float = 1e-3
    #: multiply the learning rate by this after every epoch
    lr_decay: float = 1.0
    seed: int = 0
    #: stop when the validation NLL has not improved for this many epochs
    patience: int | None = None
    #: also checkpoint every this many steps within an epoch
    checkpoint_every: int | None = None
    eval_batch_size: int = 1000
    progress: bool = True
    #: clip the gradient norm (None: no clipping)
    clip_norm: float | None = None
    #: stop after the epoch during which training time passes this many seconds
    max_seconds: float | None = None
    #: print a line of figures every this many epochs (0: never)
    log_every: int = 1

    def __post_init__(self) -> None:
        check_positive_int(self.epochs, "epochs")
        check_positive_int(self.batch_size, "batch_size")
        check_positive_int(self.eval_batch_size, "eval_batch_size")
        if self.patience is not None:
            check_positive_int(self.patience, "patience")
        if self.checkpoint_every is not None:
            check_positive_int(self.checkpoint_every, "checkpoint_every")
        check_positive(self.lr, "lr")
        if self.max_seconds is not None and not self.max_seconds > 0:
            raise ValueError(f"max_seconds: expected a positive number, got {self.max_seconds!r}")
        check_nonnegative_int(self.log_every, "log_every")
        if not (0 < self.lr_decay <= 1):
            raise ValueError(f"lr_decay: expected a number in (0, 1], got {self.lr_decay!r}")


@dataclass
class _State:
    epoch: int = 0  # epochs completed
    batch: int = 0  # batches completed in the current epoch
    step: int = 0  # optimizer steps in all
    seconds: float = 0.0  # training time in all, across resumes
    best_valid: float = math.inf
    best_epoch: int = -1
    stale: int = 0  # epochs since the best
    running: float = 0.0  # moving average of the training loss in this epoch
    history: list[dict[str, float]] = field(default_factory=list)


class Interrupted(Exception):
    """Training was stopped by a signal after its state was checkpointed."""


@contextlib.contextmanager
def _deferred_signals():
    """Turn SIGINT/SIGTERM into a flag that the loop checks between steps."""
    flag = {"signal": None}
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum, frame):
        if flag["signal"] is not None:  # a second signal: give up at once
            raise KeyboardInterrupt
        flag["signal"] = signum

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def adam(params, lr: float, betas: tuple[float, float] = (0.9, 0.999)) -> torch.optim.Adam:
    """Adam, fused into one kernel where this PyTorch build offers it."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr, betas=betas)


def step(model: GenerativeModel, opt: torch.optim.Optimizer, loss_fn, x: torch.Tensor,
         num_data: int, clip_norm: float | None = None, validate: bool = False) -> float:
    """One SVI step on the batch ``x``; returns the loss in nats per example.

    Pyro's argument validation runs only when ``validate`` (the trainer's first step):
    the data were checked once up front, and the checks cost about a fifth of a small
    model's step. Parameters are stepped directly, so models skip ``pyro.module``
    registration here. A non-finite loss raises ``FloatingPointError`` before any update.
    """
    try:
        with pyro.validation_enabled(validate), direct_parameters():
            loss = loss_fn(model.model, model.guide, x, num_data=num_data) / num_data
        value = loss.item()
    except ValueError as e:  # Pyro's validation of NaN parameters
        if all(bool(torch.isfinite(p).all()) for p in model.parameters()):
            raise
        raise FloatingPointError("loss nan (parameters are not finite)") from e
    if not math.isfinite(value):
        raise FloatingPointError(f"loss {value}")
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if clip_norm is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
    opt.step()
    return value


def _payload(model, opt, sched, cfg, state, data_name):
    return {
        "model": model.name,
        "config": model.config,
        "state_dict": model.state_dict(),
        "optimizer": opt.state_dict(),
        "scheduler": sched.state_dict(),
        "train_config": asdict(cfg),
        "state": asdict(state),
        "rng": torch.get_rng_state(),
        "data": data_name,
    }


def start(model: GenerativeModel, settings: Mapping[str, Any], out: str | Path | None,
          resume: bool, config: type[TrainConfig], resumable: tuple[str, ...], trainer: str
          ) -> tuple[TrainConfig, dict[str, Any] | None, Path | None]:
    """The beginning every trainer shares: its settings, and on resume its checkpoint.

    Unknown settings are refused by name. A new run's settings are ``settings`` over
    ``model.defaults``; a resumed run keeps the checkpoint's own, except ``resumable``
    ones given again (when to stop, a new learning-rate schedule).

    :param trainer: the trainer's name, recorded as ``"trainer"`` in its checkpoints
        (SVI's omit it); a checkpoint of another trainer is refused.
    :returns: ``(config, checkpoint or None, out as a Path or None)``.
    """
    unknown = set(settings) - set(config.__dataclass_fields__)
    if unknown:
        raise TypeError(f"unknown settings {sorted(unknown)}; "
                        f"expected some of {sorted(config.__dataclass_fields__)}")
    out = Path(out) if out is not None else None
    if resume and out is None:
        raise ValueError("resume: needs out, the directory of the interrupted run")
    ckpt = checkpoint.load(out, checkpoint.LAST) if resume else None
    if ckpt is None:
        return config(**{**model.defaults, **settings}), None, out
    if ckpt.get("trainer", "svi") != trainer:
        raise PGMError(f"resume: {ckpt['path']} was written by {ckpt.get('trainer', 'svi')} "
                       f"training, not {trainer}")
    stop = {k: settings[k] for k in resumable if k in settings}
    cfg = config(**{**ckpt["train_config"], **stop, "progress": settings.get("progress", True)})
    return cfg, ckpt, out


def between_steps(sig: dict, cfg: TrainConfig, state: Any, step: int, t0: float,
                  save: Callable[[str], None], bar: tqdm, out: Path | None) -> float:
    """What every trainer does after a step: write ``last.pt`` every ``checkpoint_every``
    steps, and on a pending SIGINT/SIGTERM write it and raise :class:`Interrupted`.

    ``state.seconds`` takes the training time since ``t0``; returns the new ``t0``.
    """
    stop = sig["signal"] is not None
    if stop or (cfg.checkpoint_every and step % cfg.checkpoint_every == 0):
        state.seconds += time.perf_counter() - t0
        t0 = time.perf_counter()
        save(checkpoint.LAST)
    if stop:
        bar.close()
        raise Interrupted(f"training stopped by signal {sig['signal']} at epoch {state.epoch} "
                          f"step {state.step}; checkpoint in {out}; resume with resume=True "
                          "(--resume)")
    return t0


def progress_bar(cfg: TrainConfig, state: Any, n: int) -> tuple[tqdm, int]:
    """The bar over all the run's batches, started where a resumed run stands; and the
    number of batches an epoch of ``n`` examples has."""
    n_batches = -(-n // cfg.batch_size)
    bar = tqdm(total=cfg.epochs * n_batches, initial=state.epoch * n_batches + state.batch,
               disable=not cfg.progress, dynamic_ncols=True, leave=False)
    return bar, n_batches


def budget_spent(cfg: TrainConfig, state: Any) -> str | None:
    """Why to stop for time (``max_seconds`` of training reached), or ``None``."""
    if cfg.max_seconds is not None and state.seconds >= cfg.max_seconds:
        return f"time budget of {cfg.max_seconds:g} s reached"
    return None


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The order of the ``n`` examples in ``epoch``: a function of the seed and the epoch
    alone, so that a resumed run sees the same batches."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))


def log_line(record: Mapping[str, Any]) -> str:
    """An epoch's figures as one line: ``epoch 3 train_loss 96.41 ...``."""
    return " ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                    for k, v in record.items())


#: settings that may differ from the checkpoint's on ``resume=True``
RESUMABLE = ("epochs", "patience", "max_seconds", "lr", "lr_decay", "log_every")


def fit(
    model: GenerativeModel | Callable,
    train: torch.Tensor | None = None,
    valid: torch.Tensor | None = None,
    *,
    guide: Callable | str | None = "auto_normal",
    data: Mapping[str, Any] | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    data_name: str = "",
    on_step: Callable[[int, float], None] | None = None,
    **settings: Any,
) -> dict[str, Any]:
    """Fit ``model`` to ``train`` by SVI; returns a summary with the history.

    :param model: any :class:`~pgm.core.GenerativeModel` (a
        :class:`~pgm.core.program.Program` included), or a plain Pyro model function or
        ``PyroModule``, which is wrapped as ``Program(model, guide, data)``; the summary's
        ``"model"`` is the model trained.
    :param train: training images ``(n, pixels)``; for a program, its example indices
        (by default all of them).
    :param guide: for a plain Pyro model only: its guide or an automatic guide's name.
    :param data: for a plain Pyro model only: its keyword arguments.
    :param valid: validation images ``(m, pixels)`` for the per-epoch NLL and early
        stopping, or ``None``.
    :param out: directory for ``best.pt``/``last.pt``; ``None`` writes nothing.
    :param resume: continue from ``out/last.pt`` with its settings; only ``epochs``,
        ``patience`` and ``max_seconds`` (when to stop) and ``lr`` and ``lr_decay`` (a new
        learning-rate schedule from the resumed point on) may be changed on resuming.
    :param data_name: recorded in the checkpoints.
    :param on_step: called as ``on_step(step, loss)`` after every optimizer step.
    :param settings: fields of :class:`TrainConfig`; unset ones come from
        ``model.defaults``, then the dataclass.
    """
    if not isinstance(model, GenerativeModel):
        if not callable(model):
            raise TypeError(f"model: expected a pgm model or a Pyro model function, "
                            f"got {type(model).__name__}")
        model = Program(model, guide, data)
    elif data is not None:
        raise TypeError("data: only for a plain Pyro model; a pgm model takes train")
    if model.kind == "implicit":
        raise TypeError(f"model: {model.name or type(model).__name__} is an implicit model (no "
                        "likelihood, no ELBO); train it with pgm.infer.adversarial.train")
    if train is None:
        if not isinstance(model, Program):
            raise TypeError(f"train: {model.name or type(model).__name__} needs training data")
        train = model.indices()
    cfg, ckpt, out = start(model, settings, out, resume, TrainConfig, RESUMABLE, "svi")
    train = model.check(train, "train")
    if valid is not None:
        valid = model.check(valid, "valid")

    pyro.set_rng_seed(cfg.seed)
    opt = adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=cfg.lr_decay)
    if ckpt is not None:
        checkpoint.restore(model, ckpt)
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        if "lr" in settings:  # a new schedule starts from the resumed step
            for g in opt.param_groups:
                g["lr"] = cfg.lr
            sched.base_lrs, sched._last_lr = [cfg.lr], [cfg.lr]
        sched.gamma = cfg.lr_decay
        state = _State(**ckpt["state"])
        torch.set_rng_state(ckpt["rng"])
    else:
        state = _State()
        model.initialize(train)

    def save(name: str) -> None:
        if out is not None:
            checkpoint.save(out / name, _payload(model, opt, sched, cfg, state, data_name))

    n, bs = train.shape[0], cfg.batch_size
    loss_fn = model.elbo().differentiable_loss
    model.train()
    bar, n_batches = progress_bar(cfg, state, n)

    def finished() -> str | None:
        if cfg.patience is not None and state.stale >= cfg.patience:
            return f"early stop: no validation improvement for {cfg.patience} epochs"
        return budget_spent(cfg, state)

    with _deferred_signals() as sig:
        while state.epoch < cfg.epochs and not finished():
            order = epoch_order(n, cfg.seed, state.epoch)
            model.start_epoch(state.epoch)
            t0 = time.perf_counter()
            for b in range(state.batch, n_batches):
                x = train[order[b * bs : (b + 1) * bs]]
                try:
                    value = step(model, opt, loss_fn, x, n, cfg.clip_norm,
                                 validate=state.step == 0)
                except FloatingPointError as e:
                    raise FloatingPointError(
                        f"training diverged at epoch {state.epoch} step {state.step}: {e}; "
                        f"lower lr (now {sched.get_last_lr()[0]:g}) or set clip_norm"
                    ) from e.__cause__
                state.batch, state.step = b + 1, state.step + 1
                state.running = value if b == 0 else 0.98 * state.running + 0.02 * value
                bar.update()
                bar.set_postfix(epoch=state.epoch, loss=f"{state.running:.2f}")
                if on_step is not None:
                    on_step(state.step, value)
                t0 = between_steps(sig, cfg, state, state.step, t0, save, bar, out)
            state.seconds += time.perf_counter() - t0
            record = {"epoch": state.epoch + 1, "train_loss": state.running,
                      "lr": sched.get_last_lr()[0], "seconds": state.seconds}
            sched.step()
            state.epoch, state.batch = state.epoch + 1, 0
            if valid is not None:
                record["valid_nll"] = nll(model, valid, cfg.eval_batch_size)
                with torch.no_grad():
                    record.update(model.diagnostics(valid[: cfg.eval_batch_size]))
                if record["valid_nll"] < state.best_valid:
                    state.best_valid, state.best_epoch, state.stale = (
                        record["valid_nll"], state.epoch, 0)
                    save(checkpoint.BEST)
                else:
                    state.stale += 1
            state.history.append(record)
            if cfg.log_every and state.epoch % cfg.log_every == 0:
                bar.write(log_line(record))
            if valid is None:
                save(checkpoint.BEST)
            save(checkpoint.LAST)
            if finished():
                bar.write(finished())
    bar.close()
    if valid is not None and out is not None and (out / checkpoint.BEST).is_file():
        checkpoint.restore(model, checkpoint.load(out, checkpoint.BEST))
    return {"config": asdict(cfg), **asdict(state), "model": model}

