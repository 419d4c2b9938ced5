"""One training loop for every model: SVI and adversarial training alike.

:func:`fit` walks shuffled mini-batches of the training data epoch after epoch and hands
each batch to the model's :class:`Regime`, the one part that differs between kinds of
model: :class:`pgm.infer.svi.SVI` takes a gradient step on the negative ELBO of the
model/guide pair; :class:`pgm.infer.adversarial.Adversarial` a discriminator step and,
every ``d_steps`` batches, a generator step. A regime owns its optimizers and returns the
step's figures by name (``{"train_loss": ...}``; ``{"d_loss", "d_accuracy", "g_loss"}``),
after pythae's trainers; everything else is written here once::

    data --epoch_order--> batch (x, condition) --regime.step--> figures (named losses)
      |                                                           |
      |                      State (epoch, batch, step, seconds, running averages)
      v                                                           v
    valid --regime.validate--> best.pt            last.pt <-- payload() every epoch,
                                                               checkpoint_every, signals

* **Settings** are a :class:`TrainConfig` (a regime's subclass adds its own), checked
  before the run folder is touched; unset ones come from ``model.defaults``.
* **Checkpoints** (:mod:`pgm.infer.checkpoint`) hold the model, its settings and
  :class:`State`, every optimizer and learning-rate schedule, the regime's own entries
  and the random state; written atomically, never with non-finite values.
* **Resume** is exact: each epoch's data order comes from its own seeded generator, and
  the global random state is saved with the checkpoint. Only a regime's ``resumable``
  settings (when to stop, a new learning-rate schedule) may change on resuming.
* **Signals**: SIGINT/SIGTERM become a checkpoint and :class:`Interrupted` between steps.
* **Budgets**: ``epochs``, ``patience`` (epochs without a better validation NLL) and
  ``max_seconds`` of training time.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import math
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pyro
import torch
from tqdm.auto import tqdm

from pgm.core import GenerativeModel
from pgm.core.program import Program
from pgm.errors import (
    PGMError,
    PGMWarning,
    check_nonnegative_int,
    check_positive,
    check_positive_int,
    check_seed,
)
from pgm.infer import checkpoint, rundir


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
    #: also checkpoint every this many steps (mini-batches) within an epoch
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


#: settings that may differ from the checkpoint's on ``resume=True``
RESUMABLE = ("epochs", "patience", "max_seconds", "lr", "lr_decay", "log_every")


@dataclass
class State:
    """Where a run stands; saved in every checkpoint, so a resumed run continues from it."""

    epoch: int = 0  # epochs completed
    batch: int = 0  # batches completed in the current epoch
    step: int = 0  # batches trained on in all (each one step of the regime)
    seconds: float = 0.0  # training time in all, across resumes
    best_valid: float = math.inf
    best_epoch: int = -1
    stale: int = 0  # epochs since the best validation NLL
    #: moving averages of the regime's figures (named losses) in this epoch
    running: dict[str, float] = field(default_factory=dict)
    #: the regime's own counters and measures (generator steps, diversity, ...)
    extra: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> State:
        """The state of a checkpoint, including those written before the loop was one
        (SVI's ``running`` a float; the adversarial trainer's ``d_step``)."""
        d = dict(d)
        if "d_step" in d:  # the adversarial trainer's: step counted generator steps
            extra = {"g_step": d.pop("step"), "d_perfect": d.pop("d_perfect", 0),
                     "diversity": d.pop("diversity", math.nan)}
            running = {k: d.pop(k) for k in ("d_loss", "g_loss", "d_accuracy") if k in d}
            d.update(step=d.pop("d_step"), running=running, extra=extra)
        elif not isinstance(d.get("running", {}), dict):  # SVI's
            d["running"] = {"train_loss": d["running"]}
            d["extra"] = {"first_loss": d.pop("first_loss", math.nan)}
        return cls(**d)


class Interrupted(Exception):
    """Training was stopped by a signal after its state was checkpointed."""


class Diverged(PGMError, FloatingPointError):
    """Training diverged: a loss or the parameters became NaN or infinite."""


class DivergenceWarning(PGMWarning):
    """The training loss ended far above where it started, without becoming NaN."""


def adam(params, lr: float, betas: tuple[float, float] = (0.9, 0.999)) -> torch.optim.Adam:
    """Adam, fused into one kernel where this PyTorch build offers it."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr, betas=betas)


def gradient_step(loss: torch.Tensor, opt: torch.optim.Optimizer, params,
                  clip_norm: float | None) -> None:
    """Backpropagate ``loss`` and step ``opt``, clipping the gradient norm of ``params``."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if clip_norm is not None:
        torch.nn.utils.clip_grad_norm_(params, clip_norm)
    opt.step()


@dataclass
class Player:
    """One optimizer of a regime, and the settings its learning rate comes from.

    :ivar lr_settings: the settings that set its rate, the first being the one it is
        logged under (``"lr"``; the discriminator's ``"lr_d"``, falling back to
        ``"lr"``); given anew on resuming, its schedule restarts at the new rate.
    """

    optimizer: torch.optim.Optimizer
    lr: float
    lr_settings: tuple[str, ...] = ("lr",)


class Regime:
    """How one kind of model is trained: its settings, its optimizers, one step.

    A subclass sets :attr:`name`, :attr:`config`, :attr:`resumable` and implements
    :meth:`players` and :meth:`step`; the other hooks have defaults. It is built once a
    run, after the model is initialised or restored, with the run's settings, the
    training data and the run folder.
    """

    #: recorded in checkpoints as ``"trainer"``; a checkpoint of another is refused
    name: ClassVar[str] = ""
    #: the settings
    config: ClassVar[type[TrainConfig]] = TrainConfig
    #: the settings that may change on resuming
    resumable: ClassVar[tuple[str, ...]] = RESUMABLE
    #: whether it takes validation data (:meth:`validate`)
    validates: ClassVar[bool] = True

    def __init__(self, model: GenerativeModel, cfg: TrainConfig, train: torch.Tensor,
                 condition: Any, out: Path | None) -> None:
        self.model, self.cfg, self.out = model, cfg, out
        self.train, self.condition = train, condition

    @classmethod
    def check_data(cls, model: GenerativeModel, valid: Any, condition: Any) -> None:
        """Refuse, naming the argument, data this regime cannot train ``model`` on."""
        if condition is not None:
            raise ValueError(f"condition: only for a conditional GAN; expected None, got "
                             f"{type(condition).__name__}")

    def players(self) -> dict[str, Player]:
        """The optimizers by name (checkpoint keys), with their learning rates."""
        raise NotImplementedError

    def step(self, x: torch.Tensor, condition: Any, state: State) -> dict[str, float]:
        """Train on one batch ``x`` ``(B, ...)`` (and its ``condition``); return the
        figures to average and log by name.

        :raises Diverged: a loss or the parameters became non-finite (before the update).
        """
        raise NotImplementedError

    def check(self, state: State) -> BaseException | None:
        """After a step: an error that ends training (after ``last.pt`` is written), or
        None while it should go on."""
        return None

    def validate(self, valid: Any) -> dict[str, float]:
        """Figures on the validation data at the end of an epoch; ``valid_nll`` picks
        ``best.pt`` and drives ``patience``."""
        return {}

    def epoch_figures(self, state: State) -> dict[str, float]:
        """What the regime adds to an epoch's record besides its running averages."""
        return {}

    def entries(self) -> dict[str, Any]:
        """The regime's own checkpoint entries (besides optimizers and schedules)."""
        return {}

    def load(self, ckpt: Mapping[str, Any]) -> None:
        """Restore :meth:`entries` from a checkpoint on resuming."""

    def best_weights(self) -> dict[str, torch.Tensor] | None:
        """The state dict ``best.pt`` holds, if not the model's own (an average)."""
        return None

    def finish(self, state: State) -> None:
        """After the last epoch: leave the model with the weights to use."""

    @classmethod
    def describe(cls, summary: Mapping[str, Any]) -> str:
        """One line on how a run ended, for the command line."""
        return f"{summary['step']} steps; {summary['seconds']:.1f} s training"


#: the regimes by name; a model's ``trainer`` names its regime
REGIMES = {"svi": "pgm.infer.svi:SVI", "adversarial": "pgm.infer.adversarial:Adversarial"}


def regime_of(model: GenerativeModel | type[GenerativeModel]) -> type[Regime]:
    """The :class:`Regime` that trains ``model`` (an instance or a class), by its
    ``trainer``."""
    where = REGIMES.get(getattr(model, "trainer", "svi"))
    if where is None:
        raise TypeError(f"model: {getattr(model, 'name', '') or model!r} names trainer "
                        f"{model.trainer!r}; expected one of {sorted(REGIMES)}")
    module, name = where.split(":")
    return getattr(importlib.import_module(module), name)


# -- the pieces of a run --------------------------------------------------------------
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


def payload(model: GenerativeModel, cfg: TrainConfig, state: State, data: Mapping[str, Any],
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
          resume: bool, regime: type[Regime], data: Mapping[str, Any]
          ) -> tuple[TrainConfig, dict[str, Any] | None, Path | None]:
    """The beginning of a run: its settings, and on resume its checkpoint.

    Unknown settings are refused by name. A new run's settings are ``settings`` over
    ``model.defaults``; a resumed run keeps the checkpoint's own. Only the ``regime``'s
    ``resumable`` settings (when to stop, a new learning-rate schedule) may be given a new
    value on resume; the others, and the training data, must be the run's own.

    :param data: ``{"name", "n", "fingerprint"}`` of the training data (:func:`fingerprint`).
    :returns: ``(config, checkpoint or None, out as a Path or None)``.
    :raises TypeError: an unknown setting.
    :raises PGMError: on resume, a checkpoint of another regime, another setting, or
        other data than the run's.
    """
    config, resumable = regime.config, regime.resumable
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
    if ckpt.get("trainer", "svi") != regime.name:
        raise PGMError(f"resume: {ckpt['path']} was written by {ckpt.get('trainer', 'svi')} "
                       f"training, not {regime.name}")
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


def restart_schedule(opt: torch.optim.Optimizer, sched: Any, lr: float) -> None:
    """Start a new learning-rate schedule at ``lr`` from the current step (on resuming with
    a new ``lr``): the optimizer's groups and the scheduler's base and current rate."""
    for g in opt.param_groups:
        g["lr"] = lr
    sched.base_lrs = [lr] * len(opt.param_groups)
    sched._last_lr = [lr] * len(opt.param_groups)  # what get_last_lr() reports until step()


def write(path: Path, content: dict[str, Any], state: State) -> None:
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


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The order of the ``n`` examples in ``epoch``: a function of the seed and the epoch
    alone, so that a resumed run sees the same batches."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))


def log_line(record: Mapping[str, Any]) -> str:
    """An epoch's figures as one line: ``epoch 3 train_loss 96.41 ...``."""
    return " ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                    for k, v in record.items())


def _average(running: dict[str, float], figures: Mapping[str, float]) -> None:
    """Fold a step's figures into the epoch's moving averages (a figure's first value
    in an epoch starts its average)."""
    for k, v in figures.items():
        running[k] = v if k not in running else 0.98 * running[k] + 0.02 * v


# -- the loop -------------------------------------------------------------------------
def fit(
    model: GenerativeModel | Callable,
    train: torch.Tensor | None = None,
    valid: torch.Tensor | None = None,
    *,
    condition: Any = None,
    guide: Callable | str | None = "auto_normal",
    data: Mapping[str, Any] | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    data_name: str = "",
    on_step: Callable[[int, dict[str, float]], None] | None = None,
    **settings: Any,
) -> dict[str, Any]:
    """Train ``model`` on ``train`` by its regime (SVI, or the adversarial game for a
    GAN); returns a summary with the history.

    :param model: any :class:`~pgm.core.GenerativeModel` (a
        :class:`~pgm.core.program.Program` and a GAN included), or a plain Pyro model
        function or ``PyroModule``, which is wrapped as ``Program(model, guide, data,
        seed=seed)``; the summary's ``"model"`` is the model trained.
    :param train: training images ``(n, pixels)``; for a program, its example indices
        (by default all of them).
    :param valid: validation images ``(m, pixels)`` for the per-epoch NLL and early
        stopping, or ``None`` (a GAN has no likelihood to validate: ``None`` only).
    :param condition: for a conditional GAN (``model.conditional``), what each image is
        generated from, ``(n, ...)`` aligned with ``train``.
    :param guide: for a plain Pyro model only: its guide or an automatic guide's name.
    :param data: for a plain Pyro model only: its keyword arguments.
    :param out: directory for ``best.pt``/``last.pt``; ``None`` writes nothing. A
        directory that already holds a run is refused unless ``resume`` or ``overwrite``;
        one that another process is writing is refused (:mod:`pgm.infer.rundir`).
    :param resume: continue from ``out/last.pt`` with its settings and on its data (both
        checked); only the regime's ``resumable`` settings (``epochs``, ``patience``,
        ``max_seconds``, ``log_every``: when to stop and what to print; ``lr`` and
        ``lr_decay``: a new learning-rate schedule from the resumed point on) may change.
    :param overwrite: replace the run in ``out`` (its files are deleted first).
    :param data_name: recorded in the checkpoints.
    :param on_step: called as ``on_step(step, figures)`` after every batch, ``figures``
        the regime's named losses of that batch.
    :param settings: fields of the regime's config (:class:`TrainConfig`,
        :class:`~pgm.infer.adversarial.AdversarialConfig`); unset ones come from
        ``model.defaults``, then the dataclass. ``seed`` fixes everything random in the
        run: a plain Pyro model's automatic guide's initial values, the order of the data,
        every draw of the ELBO's estimates or of a GAN's noise.
    :returns: ``{"config", "model", "history", "epoch", "step", "seconds", "best_valid",
        "best_epoch", ...}`` and the regime's last running averages and counters
        (``train_loss``; ``d_loss``, ``g_loss``, ``g_step``, ...).
    :raises Diverged: the loss or the parameters became non-finite; the last good
        checkpoint is kept.
    :raises Interrupted: on SIGINT/SIGTERM, after writing ``last.pt``.
    :raises PGMError: ``out`` cannot be used (:class:`~pgm.infer.rundir.RunDirError`), or
        resuming with other settings or data than the run's; a regime's own errors
        (:class:`~pgm.infer.adversarial.Collapsed`).
    :warns DivergenceWarning: the training loss ended far above where it started.
    """
    if not isinstance(model, GenerativeModel):
        if not callable(model):
            raise TypeError(f"model: expected a pgm model or a Pyro model function, "
                            f"got {type(model).__name__}")
        model = Program(model, guide, data, seed=settings.get("seed", TrainConfig.seed))
    elif data is not None:
        raise TypeError("data: only for a plain Pyro model; a pgm model takes train")
    regime = regime_of(model)
    if train is None:
        if not isinstance(model, Program):
            raise TypeError(f"train: {model.name or type(model).__name__} needs training data")
        train = model.indices()
    if not resume:  # bad settings fail before the run folder is touched
        start(model, settings, None, False, regime, {})
    train = model.check(train, "train")
    regime.check_data(model, valid, condition)
    if condition is not None and len(condition) != len(train):
        raise ValueError(f"condition: expected one per training image ({len(train)}), "
                         f"got {len(condition)}")
    if valid is not None:
        valid = model.check(valid, "valid")
    with rundir.claim(out, resume=resume, overwrite=overwrite):
        return _run(model, regime, train, valid, condition, out, resume, data_name, on_step,
                    settings)


def _run(model, regime_cls, train, valid, condition, out, resume, data_name, on_step,
         settings) -> dict[str, Any]:
    data = {"name": data_name, "n": len(train),
            "fingerprint": fingerprint(train, condition if condition is not None
                                       else getattr(model, "data", None))}
    cfg, ckpt, out = start(model, settings, out, resume, regime_cls, data)
    if ckpt is not None and not data_name:
        data["name"] = ckpt.get("data", "")
    pyro.set_rng_seed(cfg.seed)
    if ckpt is not None:
        checkpoint.restore(model, ckpt)
        state = State.from_dict(ckpt["state"])
        torch.set_rng_state(ckpt["rng"])
    else:
        state = State()
        model.initialize(train)
    regime = regime_cls(model, cfg, train, condition, out)
    players = regime.players()
    scheds = {k: torch.optim.lr_scheduler.ExponentialLR(p.optimizer, gamma=cfg.lr_decay)
              for k, p in players.items()}
    if ckpt is not None:
        opt_states, sched_states = ckpt["optimizer"], ckpt["scheduler"]
        if "param_groups" in opt_states:  # one optimizer, unnamed (SVI's, before the loop)
            (only,) = players
            opt_states, sched_states = {only: opt_states}, {only: sched_states}
        for k, p in players.items():
            p.optimizer.load_state_dict(opt_states[k])
            scheds[k].load_state_dict(sched_states[k])
            scheds[k].gamma = cfg.lr_decay
            if any(s in settings for s in p.lr_settings):  # a new schedule from here on
                restart_schedule(p.optimizer, scheds[k], p.lr)
        regime.load(ckpt)

    def save(*names: str) -> None:
        if out is None:
            return
        content = payload(model, cfg, state, data, trainer=regime.name, **regime.entries(),
                          optimizer={k: p.optimizer.state_dict() for k, p in players.items()},
                          scheduler={k: s.state_dict() for k, s in scheds.items()})
        for name in names:
            best = regime.best_weights() if name == checkpoint.BEST else None
            write(out / name, content if best is None else {**content, "state_dict": best},
                  state)

    def finished() -> str | None:
        if cfg.patience is not None and state.stale >= cfg.patience:
            return f"early stop: no validation improvement for {cfg.patience} epochs"
        if cfg.max_seconds is not None and state.seconds >= cfg.max_seconds:
            return f"time budget of {cfg.max_seconds:g} s reached"
        return None

    n, bs = len(train), cfg.batch_size
    n_batches = -(-n // bs)
    # the bar is drawn only on a terminal: redrawn every step into a log file it would
    # fill it (the epoch lines of log_every are written either way)
    bar = tqdm(total=cfg.epochs * n_batches, initial=state.epoch * n_batches + state.batch,
               disable=not cfg.progress or not sys.stderr.isatty(), dynamic_ncols=True,
               leave=False)
    model.train()
    with _deferred_signals() as sig:
        while state.epoch < cfg.epochs and not finished():
            order = epoch_order(n, cfg.seed, state.epoch)
            model.start_epoch(state.epoch)
            if state.batch == 0:
                state.running = {}
            t0 = time.perf_counter()
            for b in range(state.batch, n_batches):
                idx = order[b * bs : (b + 1) * bs]
                try:
                    figures = regime.step(train[idx], None if condition is None
                                          else condition[idx], state)
                except BaseException:
                    bar.close()
                    raise
                state.batch, state.step = b + 1, state.step + 1
                _average(state.running, figures)
                bar.update()
                bar.set_postfix(epoch=state.epoch,
                                **{k: f"{v:.3g}" for k, v in state.running.items()})
                if on_step is not None:
                    on_step(state.step, figures)
                failure = regime.check(state)
                stop = sig["signal"] is not None
                if failure is not None or stop or (
                        cfg.checkpoint_every and state.step % cfg.checkpoint_every == 0):
                    state.seconds += time.perf_counter() - t0
                    t0 = time.perf_counter()
                    save(checkpoint.LAST)
                if failure is not None or stop:
                    bar.close()
                if failure is not None:
                    raise failure
                if stop:
                    raise Interrupted(f"training stopped by signal {sig['signal']} at epoch "
                                      f"{state.epoch} step {state.step}; checkpoint in {out}; "
                                      "resume with resume=True (--resume)")
            state.seconds += time.perf_counter() - t0
            record = {"epoch": state.epoch + 1, **state.running, **regime.epoch_figures(state),
                      **{p.lr_settings[0]: s.get_last_lr()[0]
                         for p, s in zip(players.values(), scheds.values(), strict=True)},
                      "seconds": state.seconds}
            for s in scheds.values():
                s.step()
            state.epoch, state.batch = state.epoch + 1, 0
            if valid is not None:
                record.update(regime.validate(valid))
                if record["valid_nll"] < state.best_valid:
                    state.best_valid, state.best_epoch, state.stale = (
                        record["valid_nll"], state.epoch, 0)
                    save(checkpoint.BEST)
                else:
                    state.stale += 1
            state.history.append(record)
            if cfg.log_every and state.epoch % cfg.log_every == 0:
                bar.write(log_line(record))
            save(*([] if valid is not None else [checkpoint.BEST]), checkpoint.LAST)
            if finished():
                bar.write(finished())
    bar.close()
    regime.finish(state)
    if valid is not None and out is not None and (out / checkpoint.BEST).is_file():
        checkpoint.restore(model, checkpoint.load(out, checkpoint.BEST))
    summary = asdict(state)
    del summary["running"], summary["extra"]
    return {"config": asdict(cfg), **summary, **state.running, **state.extra, "model": model,
            "trainer": regime.name}


def exploded(first: float, last: float, steps: int) -> None:
    """Warn when the training loss ended far above the untrained model's (more than three
    times its size): training that diverged without becoming NaN."""
    if math.isfinite(first) and steps > 1 and last > first + 2 * max(abs(first), 1.0):
        warnings.warn(f"the training loss rose from {first:.4g} (first step) to {last:.4g}: "
                      "training diverged; lower lr or set clip_norm", DivergenceWarning,
                      stacklevel=5)
