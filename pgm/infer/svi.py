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
import hashlib
import math
import signal
import sys
import threading
import time
import warnings
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
from pgm.errors import (
    ModelError,
    PGMError,
    PGMWarning,
    check_nonnegative_int,
    check_positive,
    check_positive_int,
    check_seed,
)
from pgm.infer import checkpoint, rundir
from pgm.infer.diagnose import diagnose
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
        check_seed(self.seed)
        if self.clip_norm is not None:
            check_positive(self.clip_norm, "clip_norm")
        if not (isinstance(self.lr_decay, (int, float)) and 0 < self.lr_decay <= 1):
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
    first_loss: float = math.nan  # the loss of the first step (the untrained model)
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


class Diverged(PGMError, FloatingPointError):
    """Training diverged: a loss or the parameters became NaN or infinite."""


class DivergenceWarning(PGMWarning):
    """The training loss ended far above where it started, without becoming NaN."""


def fingerprint(*data: Any) -> str:
    """A digest of training data (tensors, or a program's dict of arguments): what a
    checkpoint records so that resuming on other data is refused."""
    h = hashlib.blake2b(digest_size=16)

    def add(v: Any) -> None:
        if isinstance(v, Mapping):
            for k in sorted(v):
                h.update(str(k).encode())
                add(v[k])
        elif isinstance(v, torch.Tensor):
            t = v.detach().cpu().contiguous().reshape(-1)
            h.update(f"{tuple(v.shape)}{v.dtype}".encode())
            h.update(t.view(torch.uint8).numpy() if t.numel() else b"")
        else:
            h.update(repr(v).encode())

    for v in data:
        add(v)
    return h.hexdigest()


def payload(model: GenerativeModel, cfg: TrainConfig, state: Any, data: Mapping[str, Any],
            **trainer: Any) -> dict[str, Any]:
    """What a checkpoint holds (:mod:`pgm.infer.checkpoint`): the model, its settings and
    state, the data it trains on (``data``: ``name``, ``n``, ``fingerprint``) and the
    random state, and ``trainer``'s own entries (optimizers, schedules, ...)."""
    return {
        "model": model.name,
        "config": model.config,
        "state_dict": model.state_dict(),
        "train_config": asdict(cfg),
        "state": asdict(state),
        "rng": torch.get_rng_state(),
        "data": data["name"],
        "data_n": data["n"],
        "data_fingerprint": data["fingerprint"],
        **trainer,
    }


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def changed_settings(saved: Mapping[str, Any], settings: Mapping[str, Any],
                     resumable: tuple[str, ...]) -> list[tuple[str, Any, Any]]:
    """``(name, the run's value, the given value)`` of each setting in ``settings`` that
    differs from the run's ``saved`` one and may not change on resuming."""
    return [(k, saved.get(k), v) for k, v in settings.items()
            if k not in resumable and k != "progress" and not _same(saved.get(k), v)]


def start(model: GenerativeModel, settings: Mapping[str, Any], out: str | Path | None,
          resume: bool, config: type[TrainConfig], resumable: tuple[str, ...], trainer: str,
          data: Mapping[str, Any]) -> tuple[TrainConfig, dict[str, Any] | None, Path | None]:
    """The beginning every trainer shares: its settings, and on resume its checkpoint.

    Unknown settings are refused by name. A new run's settings are ``settings`` over
    ``model.defaults``; a resumed run keeps the checkpoint's own. Only ``resumable``
    settings (when to stop, a new learning-rate schedule) may be given a new value on
    resume; the others, and the training data, must be the run's own.

    :param trainer: the trainer's name, recorded as ``"trainer"`` in its checkpoints
        (SVI's omit it); a checkpoint of another trainer is refused.
    :param data: ``{"name", "n", "fingerprint"}`` of the training data (:func:`fingerprint`).
    :returns: ``(config, checkpoint or None, out as a Path or None)``.
    :raises PGMError: on resume, a checkpoint of another trainer, another setting, or
        other data than the run's.
    """
    unknown = set(settings) - set(config.__dataclass_fields__)
    if unknown:
        raise TypeError(f"unknown settings {sorted(unknown)}; "
                        f"expected some of {sorted(config.__dataclass_fields__)}")
    out = Path(out) if out is not None else None
    if resume and out is None:
        raise ValueError("resume: needs out, the directory of the interrupted run")
    ckpt = checkpoint.check_resumable(checkpoint.load(out, checkpoint.LAST)) if resume else None
    if ckpt is None:
        return config(**{**model.defaults, **settings}), None, out
    if ckpt.get("trainer", "svi") != trainer:
        raise PGMError(f"resume: {ckpt['path']} was written by {ckpt.get('trainer', 'svi')} "
                       f"training, not {trainer}")
    saved = ckpt["train_config"]
    changed = [f"{k}={old!r} (given {new!r})"
               for k, old, new in changed_settings(saved, settings, resumable)]
    if changed:
        raise PGMError(f"resume: the run in {out} was trained with {', '.join(changed)}; only "
                       f"{', '.join(resumable)} may change on resuming; start a new run to "
                       "change the others")
    if data["name"] and ckpt.get("data") and data["name"] != ckpt["data"]:
        raise PGMError(f"resume: the run in {out} was trained on {ckpt['data']!r}, "
                       f"not {data['name']!r}")
    if ckpt.get("data_fingerprint") not in (None, data["fingerprint"]):
        raise PGMError(f"resume: the run in {out} was trained on other data "
                       f"({ckpt.get('data_n')} examples of {ckpt.get('data') or 'its data'!r}) "
                       f"than given now ({data['n']} examples); resume it on its own data "
                       "(the same data set and limit)")
    stop = {k: settings[k] for k in resumable if k in settings}
    cfg = config(**{**saved, **stop, "progress": settings.get("progress", True)})
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
    number of batches an epoch of ``n`` examples has.

    The bar is drawn only on a terminal: redrawn every step into a log file it would fill
    it (the epoch lines of ``log_every`` are written either way)."""
    n_batches = -(-n // cfg.batch_size)
    bar = tqdm(total=cfg.epochs * n_batches, initial=state.epoch * n_batches + state.batch,
               disable=not cfg.progress or not sys.stderr.isatty(), dynamic_ncols=True,
               leave=False)
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
    overwrite: bool = False,
    data_name: str = "",
    on_step: Callable[[int, float], None] | None = None,
    **settings: Any,
) -> dict[str, Any]:
    """Fit ``model`` to ``train`` by SVI; returns a summary with the history.

    :param model: any :class:`~pgm.core.GenerativeModel` (a
        :class:`~pgm.core.program.Program` included), or a plain Pyro model function or
        ``PyroModule``, which is wrapped as ``Program(model, guide, data, seed=seed)``; the
        summary's ``"model"`` is the model trained.
    :param train: training images ``(n, pixels)``; for a program, its example indices
        (by default all of them).
    :param guide: for a plain Pyro model only: its guide or an automatic guide's name.
    :param data: for a plain Pyro model only: its keyword arguments.
    :param valid: validation images ``(m, pixels)`` for the per-epoch NLL and early
        stopping, or ``None``.
    :param out: directory for ``best.pt``/``last.pt``; ``None`` writes nothing. A
        directory that already holds a run is refused unless ``resume`` or ``overwrite``;
        one that another process is writing is refused (:mod:`pgm.infer.rundir`).
    :param resume: continue from ``out/last.pt`` with its settings and on its data (both
        checked); only ``epochs``, ``patience``, ``max_seconds``, ``log_every`` (when to
        stop, what to print) and ``lr`` and ``lr_decay`` (a new learning-rate schedule from
        the resumed point on) may be changed on resuming.
    :param overwrite: replace the run in ``out`` (its files are deleted first).
    :param data_name: recorded in the checkpoints.
    :param on_step: called as ``on_step(step, loss)`` after every optimizer step.
    :param settings: fields of :class:`TrainConfig`; unset ones come from
        ``model.defaults``, then the dataclass. ``seed`` fixes everything random in the
        run: a plain Pyro model's automatic guide's initial values, the order of the data,
        every draw of the ELBO's estimates.
    :raises Diverged: the loss or the parameters became non-finite (the message names the
        site, the parameter and the violated constraint when it can find them); the last
        good checkpoint is kept.
    :raises Interrupted: on SIGINT/SIGTERM, after writing ``last.pt``.
    :raises PGMError: ``out`` cannot be used (:class:`~pgm.infer.rundir.RunDirError`), or
        resuming with other settings or data than the run's.
    :warns DivergenceWarning: the training loss ended far above where it started.
    """
    if not isinstance(model, GenerativeModel):
        if not callable(model):
            raise TypeError(f"model: expected a pgm model or a Pyro model function, "
                            f"got {type(model).__name__}")
        model = Program(model, guide, data, seed=settings.get("seed", TrainConfig.seed))
    elif data is not None:
        raise TypeError("data: only for a plain Pyro model; a pgm model takes train")
    if model.kind == "implicit":
        raise TypeError(f"model: {model.name or type(model).__name__} is an implicit model (no "
                        "likelihood, no ELBO); train it with pgm.infer.adversarial.train")
    if train is None:
        if not isinstance(model, Program):
            raise TypeError(f"train: {model.name or type(model).__name__} needs training data")
        train = model.indices()
    if not resume:  # bad settings fail before the run folder is touched
        start(model, settings, None, False, TrainConfig, RESUMABLE, "svi", {})
    train = model.check(train, "train")
    if valid is not None:
        valid = model.check(valid, "valid")
    with rundir.claim(out, resume=resume, overwrite=overwrite):
        return _fit(model, train, valid, out, resume, data_name, on_step, settings)


def _fit(model, train, valid, out, resume, data_name, on_step, settings) -> dict[str, Any]:
    data = {"name": data_name, "n": len(train),
            "fingerprint": fingerprint(train, getattr(model, "data", None))}
    cfg, ckpt, out = start(model, settings, out, resume, TrainConfig, RESUMABLE, "svi", data)
    if ckpt is not None and not data_name:
        data["name"] = ckpt.get("data", "")

    if not any(p.requires_grad for p in model.parameters()):
        raise ModelError(f"model: {model.name or type(model).__name__} has no parameters to fit: "
                         "neither it nor its guide declares any (pyro.param, a PyroModule); "
                         "a guide of fixed distributions cannot learn")
    pyro.set_rng_seed(cfg.seed)
    opt = adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=cfg.lr_decay)
    if ckpt is not None:
        checkpoint.restore(model, ckpt)
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        if "lr" in settings:  # a new schedule starts from the resumed step
            restart_schedule(opt, sched, cfg.lr)
        sched.gamma = cfg.lr_decay
        state = _State(**ckpt["state"])
        torch.set_rng_state(ckpt["rng"])
    else:
        state = _State()
        model.initialize(train)

    def save(name: str) -> None:
        if out is not None:
            write(out / name, payload(model, cfg, state, data, optimizer=opt.state_dict(),
                                      scheduler=sched.state_dict()), state)

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
                    bar.close()
                    raise diverged(state, e, sched.get_last_lr()[0],
                                   diagnose(model, model.guide, x, num_data=n), out) from e
                except ValueError as e:  # Pyro's checks, which run on the first step
                    if state.step:
                        raise
                    bar.close()
                    faults = diagnose(model, model.guide, x, num_data=n)
                    raise ModelError(f"the first training step failed Pyro's checks: "
                                     f"{' '.join(str(e).split())[:300]}"
                                     + (f"; {'; '.join(faults[:3])}" if faults else "")) from e
                state.batch, state.step = b + 1, state.step + 1
                state.running = value if b == 0 else 0.98 * state.running + 0.02 * value
                if state.step == 1:
                    state.first_loss = value
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
    exploded(state)
    if valid is not None and out is not None and (out / checkpoint.BEST).is_file():
        checkpoint.restore(model, checkpoint.load(out, checkpoint.BEST))
    return {"config": asdict(cfg), **asdict(state), "model": model}


def restart_schedule(opt: torch.optim.Optimizer, sched: Any, lr: float) -> None:
    """Start a new learning-rate schedule at ``lr`` from the current step (on resuming with
    a new ``lr``): the optimizer's groups and the scheduler's base and current rate."""
    for g in opt.param_groups:
        g["lr"] = lr
    sched.base_lrs = [lr] * len(opt.param_groups)
    sched._last_lr = [lr] * len(opt.param_groups)  # what get_last_lr() reports until step()


def write(path: Path, content: dict[str, Any], state: Any) -> None:
    """Write a checkpoint; one that would hold non-finite values is not written, and
    training stops there (:class:`Diverged`) with the last good checkpoint kept."""
    try:
        checkpoint.save(path, content)
    except checkpoint.NonFiniteError as e:
        kept = ("the last good checkpoint is kept" if path.is_file()
                else "no checkpoint was written before")
        raise Diverged(f"training diverged at epoch {state.epoch} step {state.step}: not "
                       f"writing {path}: non-finite values in {', '.join(e.tensors[:3])}; "
                       f"{kept}; lower the learning rate or set clip_norm") from None


def diverged(state: Any, error: BaseException, lr: float, faults: list[str],
             out: Path | None) -> Diverged:
    """The error a non-finite loss ends SVI with: where, why (``faults``, from
    :func:`~pgm.infer.diagnose.diagnose`) and what to try."""
    if faults:
        why = "; ".join(faults[:4]) + (f"; and {len(faults) - 4} more" if len(faults) > 4 else "")
        advice = ("a parameter that must stay in a range needs that constraint (pyro.param(..., "
                  "constraint=...)); else lower lr" if any("violates" in f for f in faults)
                  else "lower lr")
    else:
        why, advice = "no site or parameter is at fault; the gradient step overflowed", \
            "lower lr or set clip_norm"
    kept = (f"; the last good checkpoint is in {out}"
            if out is not None and (out / checkpoint.LAST).is_file() else "")
    return Diverged(f"training diverged at epoch {state.epoch} step {state.step} ({error}): "
                    f"{why}. Try: {advice} (lr now {lr:g}){kept}")


def exploded(state: Any) -> None:
    """Warn when the training loss ended far above the untrained model's (more than three
    times its size): training that diverged without becoming NaN."""
    first, last = state.first_loss, state.running
    if math.isfinite(first) and state.step > 1 and last > first + 2 * max(abs(first), 1.0):
        warnings.warn(f"the training loss rose from {first:.4g} (first step) to {last:.4g}: "
                      "training diverged; lower lr or set clip_norm", DivergenceWarning,
                      stacklevel=3)
