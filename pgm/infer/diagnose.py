"""Why a loss is not finite: the site, the parameter and the constraint at fault.

When an SVI step's loss becomes NaN or infinite, :func:`diagnose` runs the guide and
the model once more on the same batch, without Pyro's validation (which would stop at
the first fault without saying where), and reads every sample site of both traces:

* a distribution argument outside its constraint (a Normal's ``scale`` below 0, a
  Bernoulli's ``probs`` above 1), and the parameter that holds it when one does;
* a value outside the distribution's support, or a log-density that is not finite;
* parameters that already hold NaN or infinite values.

The report names each so that the fix is plain (``constraint=constraints.positive`` on
the ``pyro.param``, a lower learning rate, a clipped gradient).
"""

from __future__ import annotations

from collections.abc import Callable

import pyro
import torch
from pyro import poutine
from pyro.distributions.torch_distribution import MaskedDistribution
from torch.distributions import Independent

from pgm.core.base import direct_parameters


def _base(fn):
    """The distribution under ``Independent`` / mask wrappers, whose arguments are checked."""
    while isinstance(fn, (Independent, MaskedDistribution)):
        fn = fn.base_dist
    return fn


def _storage(t: torch.Tensor) -> int:
    return t.untyped_storage().data_ptr()


def parameter_names(model: torch.nn.Module) -> dict[int, str]:
    """Storage address -> name of ``model``'s parameters; a user program's
    ``pyro.param`` statements by their own names."""
    names = {_storage(p): n for n, p in model.named_parameters()}
    store = getattr(model, "_store", None)  # pgm.core.program.Program
    if store is not None:
        names.update({_storage(p): n for n, p in store["params"].items()})
    return names


def _first_bad(values: torch.Tensor, ok: torch.Tensor) -> str:
    bad = values.detach().broadcast_to(ok.shape)[~ok]
    return f"{int(bad.numel())} values, first {bad.flatten()[0].item():g}"


def _site_faults(tr: poutine.Trace, who: str, names: dict[int, str]) -> list[str]:
    faults = []
    for name, site in tr.nodes.items():
        if site["type"] != "sample" or not hasattr(site["fn"], "support"):
            continue  # plates' subsample sites are not distributions
        fn = _base(site["fn"])
        for arg, constraint in getattr(fn, "arg_constraints", {}).items():
            value = fn.__dict__.get(arg)  # lazy arguments (probs of logits) are derived
            if not isinstance(value, torch.Tensor):
                continue
            ok = constraint.check(value)
            if bool(ok.all()):
                continue
            held = names.get(_storage(value))
            by = f"; it is the parameter {held!r}" if held else ""
            faults.append(f"{who} site {name!r}: {type(fn).__name__}'s {arg} violates "
                          f"{constraint} ({_first_bad(value, ok)}){by}")
        if faults:
            continue
        value = site["value"]
        if site["is_observed"] or who == "model":
            support = site["fn"].support
            try:
                inside = support.check(value)
            except (RuntimeError, NotImplementedError):
                inside = None
            if inside is not None and not bool(torch.as_tensor(inside).all()):
                faults.append(f"{who} site {name!r}: value outside the support {support} "
                              f"({_first_bad(value, torch.as_tensor(inside))})")
                continue
        try:
            lp = site["fn"].log_prob(value)
        except (ValueError, RuntimeError) as e:
            faults.append(f"{who} site {name!r}: its log-density fails: {e}")
            continue
        if not bool(torch.isfinite(lp).all()):
            faults.append(f"{who} site {name!r}: log-density not finite "
                          f"({_first_bad(lp, torch.isfinite(lp))})")
    return faults


@torch.no_grad()
def diagnose(model: torch.nn.Module, guide: Callable, *args, **kwargs) -> list[str]:
    """What makes the ELBO of ``model``/``guide`` on ``args`` non-finite, one line a fault.

    :param model: a pgm model (its ``model`` method is traced) or any ``nn.Module`` whose
        parameters should be named; ``guide`` is traced first, the model replayed on it.
    :returns: the faults found, first the non-finite parameters, then the guide's sites,
        then the model's; an empty list when none is found (the gradient step itself
        overflowed, say).
    """
    names = parameter_names(model)
    faults = [f"parameter {n!r} holds non-finite values" for p, n in
              ((p, names.get(_storage(p), n)) for n, p in model.named_parameters())
              if p.is_floating_point() and not bool(torch.isfinite(p).all())]
    try:
        with pyro.validation_enabled(False), direct_parameters():
            guide_tr = poutine.trace(guide).get_trace(*args, **kwargs)
            model_tr = poutine.trace(poutine.replay(model.model, trace=guide_tr)).get_trace(
                *args, **kwargs)
    except Exception as e:  # noqa: BLE001 - a report, not a fix: say what failed
        return [*faults, f"re-running the step failed: {type(e).__name__}: {e}"]
    return faults + _site_faults(guide_tr, "guide", names) + _site_faults(model_tr, "model",
                                                                          names)
