"""Deprecated: the metrics that lived here are in :mod:`pgm.metrics.likelihood`.

Each name still works from here for one release and warns (:class:`DeprecationWarning`);
:func:`pgm.evaluate` (and ``pgm.infer.evaluate``, the function) do not warn.
"""

from pgm._deprecated import moved

__getattr__ = moved(__name__, dict.fromkeys(
    ["nll", "bits_per_dim", "evaluate", "auroc", "linear_probe"], "pgm.metrics.likelihood"))
