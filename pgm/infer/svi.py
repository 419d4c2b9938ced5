"""Stochastic variational inference: the regime of every model with a likelihood.

Each step of :class:`SVI` minimises ``model.elbo()``'s loss for ``model.model``/
``model.guide`` on a mini-batch observed under ``pyro.plate("data", N, subsample=...)``,
so that the loss is an unbiased estimate of the full-data negative ELBO. It uses the
differentiable-loss form of Pyro's ELBOs (``ELBO.differentiable_loss``, as ``ELBOModule``
does) with a PyTorch optimizer, which keeps optimizer state in one ``state_dict`` for
checkpoints. After each epoch it reports the validation NLL, which picks ``best.pt`` and
drives early stopping.

The loop around it (data order, checkpoints, resume, signals, budgets) is
:func:`pgm.infer.loop.fit`, shared with adversarial training; :func:`fit` is that loop.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pyro
import torch

from pgm.core import GenerativeModel
from pgm.core.base import direct_parameters
from pgm.errors import ModelError
from pgm.infer import checkpoint
from pgm.infer.diagnose import diagnose
from pgm.infer.loop import (
    RESUMABLE,
    Diverged,
    DivergenceWarning,
    Interrupted,
    Player,
    Regime,
    State,
    TrainConfig,
    adam,
    exploded,
    fit,
    gradient_step,
)
from pgm.metrics.likelihood import nll

__all__ = ["SVI", "fit", "step", "TrainConfig", "RESUMABLE", "Diverged", "DivergenceWarning",
           "Interrupted", "adam"]


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
    gradient_step(loss, opt, model.parameters(), clip_norm)
    return value


class SVI(Regime):
    """One step: ``Adam`` on ``model.elbo().differentiable_loss(model.model, model.guide,
    x, num_data=N) / N``, the negative ELBO in nats per example."""

    name = "svi"

    def __init__(self, model, cfg, train, condition, out) -> None:
        super().__init__(model, cfg, train, condition, out)
        if not any(p.requires_grad for p in model.parameters()):
            raise ModelError(f"model: {model.name or type(model).__name__} has no parameters "
                             "to fit: neither it nor its guide declares any (pyro.param, a "
                             "PyroModule); a guide of fixed distributions cannot learn")
        self.loss_fn = model.elbo().differentiable_loss
        self.opt = adam(model.parameters(), lr=cfg.lr)

    @classmethod
    def check_data(cls, model, valid, condition) -> None:
        if model.kind == "implicit":  # a model that says SVI but has no likelihood
            raise TypeError(f"model: {model.name or type(model).__name__} is an implicit "
                            "model (no likelihood, no ELBO); it cannot be trained by SVI")
        super().check_data(model, valid, condition)

    def players(self) -> dict[str, Any]:
        return {"model": Player(self.opt, self.cfg.lr)}

    def step(self, x: torch.Tensor, condition: Any, state: State) -> dict[str, float]:
        n, model = len(self.train), self.model
        try:
            value = step(model, self.opt, self.loss_fn, x, n, self.cfg.clip_norm,
                         validate=state.step == 0)
        except FloatingPointError as e:
            raise diverged(state, e, self.opt.param_groups[0]["lr"],
                           diagnose(model, model.guide, x, num_data=n), self.out) from e
        except ValueError as e:  # Pyro's checks, which run on the first step
            if state.step:
                raise
            faults = diagnose(model, model.guide, x, num_data=n)
            raise ModelError(f"the first training step failed Pyro's checks: "
                             f"{' '.join(str(e).split())[:300]}"
                             + (f"; {'; '.join(faults[:3])}" if faults else "")) from e
        if state.step == 0:
            state.extra["first_loss"] = value
        return {"train_loss": value}

    def validate(self, valid: torch.Tensor) -> dict[str, float]:
        """The validation NLL (nats per example) and the model's own diagnostics."""
        figures = {"valid_nll": nll(self.model, valid, self.cfg.eval_batch_size)}
        with torch.no_grad():
            figures.update(self.model.diagnostics(valid[: self.cfg.eval_batch_size]))
        return figures

    def finish(self, state: State) -> None:
        exploded(state.extra.get("first_loss", math.nan),
                 state.running.get("train_loss", math.nan), state.step)

    @classmethod
    def describe(cls, summary: Mapping[str, Any]) -> str:
        if summary["best_epoch"] < 0:
            return (f"training loss {summary.get('train_loss', math.nan):.2f} nats after "
                    f"{summary['step']} steps; {summary['seconds']:.1f} s training")
        return (f"best valid NLL {summary['best_valid']:.2f} nats at epoch "
                f"{summary['best_epoch']}; {summary['seconds']:.1f} s training")


def diverged(state: State, error: BaseException, lr: float, faults: list[str],
             out) -> Diverged:
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
