"""Inference shared by every model: SVI training, evaluation, checkpoints."""

from pgm.infer.checkpoint import load_model
from pgm.infer.evaluate import auroc, bits_per_dim, evaluate, linear_probe, nll
from pgm.infer.loop import Interrupted, TrainConfig, fit

__all__ = ["fit", "TrainConfig", "Interrupted", "evaluate", "nll", "bits_per_dim", "auroc",
           "linear_probe", "load_model"]
