"""Deprecated aliases of names that moved, kept for one release."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable


def moved(old: str, new: dict[str, str]) -> Callable[[str], object]:
    """A module-level ``__getattr__`` for module ``old``, whose names ``new`` moved.

    :param old: the module's name, e.g. ``"pgm.infer.evaluate"``.
    :param new: each moved name, mapped to the module that now holds it.
    :returns: ``__getattr__(name)``, which warns :class:`DeprecationWarning` (pointing at
        the caller's line) and returns the object from its new module, importing it then.
    :raises AttributeError: (from the returned function) ``name`` is not one that moved.
    """

    def __getattr__(name: str) -> object:
        if name not in new:
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
        warnings.warn(f"{old}.{name} is deprecated and will be removed in the next release; "
                      f"use {new[name]}.{name}", DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(new[name]), name)

    return __getattr__
