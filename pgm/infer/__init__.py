"""Inference shared by every model: training (one loop), evaluation, checkpoints.

The metrics themselves are in :mod:`pgm.metrics`; ``pgm.infer.nll``, ``bits_per_dim``,
``auroc`` and ``linear_probe`` still work for one release and warn.
"""

from pgm._deprecated import moved

# The deprecated module pgm.infer.evaluate is loaded before the function is imported, so
# that the name ``evaluate`` of this package stays the function (also pgm.evaluate).
from pgm.infer import evaluate as _deprecated_module  # noqa: F401, I001
from pgm.infer.checkpoint import load_model, load_run
from pgm.infer.loop import Interrupted, TrainConfig, fit
from pgm.metrics.likelihood import evaluate

__all__ = ["fit", "TrainConfig", "Interrupted", "evaluate", "load_model", "load_run"]

__getattr__ = moved(__name__, dict.fromkeys(
    ["nll", "bits_per_dim", "auroc", "linear_probe"], "pgm.metrics.likelihood"))
