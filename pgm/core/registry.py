"""Model names, as ``pgm train NAME`` takes them.

A model class enters the registry when the module defining it is imported and its
:func:`register` decorator runs. The built-in families are imported by the package top
(``pgm/__init__.py`` imports :mod:`pgm.models`), so they are registered as soon as
``pgm`` or any of its modules is imported; this module, and :mod:`pgm.core` as a whole,
never import a model family (the families import the core, not the reverse).
"""

from __future__ import annotations

import inspect
import types
import typing
from typing import TYPE_CHECKING, Any

from pgm.core.seeding import seeded
from pgm.errors import UnknownNameError, check_seed

if TYPE_CHECKING:
    from pgm.core.base import GenerativeModel

_MODELS: dict[str, type[GenerativeModel]] = {}


def register(name: str):
    """Class decorator: make a model available as ``name``."""

    def deco(cls):
        if name in _MODELS and _MODELS[name] is not cls:
            raise ValueError(f"model name {name!r} is already registered to {_MODELS[name]}")
        cls.name = name
        _MODELS[name] = cls
        return cls

    return deco


def names() -> list[str]:
    """Every registered model name, sorted."""
    return sorted(_MODELS)


def get(name: str) -> type[GenerativeModel]:
    """The model class registered as ``name``.

    :raises UnknownNameError: no model is registered as ``name`` (the message lists those
        that are).
    """
    if name not in _MODELS:
        raise UnknownNameError(f"model: unknown model {name!r}; expected one of {names()}")
    return _MODELS[name]


def settings(cls: type) -> dict[str, inspect.Parameter]:
    """The keyword settings model class ``cls`` takes (its constructor's parameters)."""
    return {k: p for k, p in inspect.signature(cls).parameters.items()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _matches(value: Any, hint: Any) -> bool:
    """Whether ``value`` is of the annotated type ``hint`` (the common cases; others pass)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any or hint is inspect.Parameter.empty:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, a) for a in args)
    if origin is typing.Literal:
        return value in args
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin in (list, tuple) or hint in (list, tuple):
        return isinstance(value, (list, tuple)) and (
            not args or all(_matches(v, args[0]) for v in value))
    if isinstance(hint, type) and hint in (str, bool, dict):
        return isinstance(value, hint)
    return True


def check_config(cls: type, config: dict[str, Any]) -> None:
    """Refuse settings ``cls`` does not take, and values of the wrong type, by name.

    Types come from the constructor's annotations or, where a parameter has none and its
    default is a number, the default's type (an ``int`` default takes ints); a string or
    list default without annotation takes anything the model itself then checks (an
    ordering's name or a permutation).

    :raises ValueError: naming the setting, the expected and the received value, and
        listing the settings the model takes.
    """
    params = settings(cls)
    open_ended = any(p.kind is p.VAR_KEYWORD for p in inspect.signature(cls).parameters.values())
    unknown = [] if open_ended else sorted(set(config) - set(params))
    if unknown:
        known = ", ".join(f"{k}={p.default!r}" for k, p in params.items() if k != "shape")
        raise ValueError(f"config for model {cls.name!r}: unknown setting(s) {unknown}; "
                         f"it takes {known}")
    try:
        hints = typing.get_type_hints(cls.__init__)
    except Exception:  # noqa: BLE001 - annotations that do not resolve: use the defaults
        hints = {}
    for k, v in config.items():
        if k not in params:  # for a parent class's ``**options``: the parent checks them
            continue
        default = params[k].default
        hint = hints.get(k)
        if hint is None and isinstance(default, (bool, int, float)):
            hint = type(default)
        if hint is not None and not _matches(v, hint):
            want = getattr(hint, "__name__", None) or str(hint).replace("typing.", "")
            raise ValueError(f"config for model {cls.name!r}: {k}: expected {want}, got "
                             f"{type(v).__name__} {v!r}")


def build(name: str, *, seed: int = 0, **config) -> GenerativeModel:
    """Instantiate model ``name`` with keyword ``config``.

    :param seed: the initial weights are drawn from a generator seeded with it, so a model
        built twice, in one process or two, starts the same (the global random state is
        left as it was).
    :raises UnknownNameError: no model is registered as ``name``.
    :raises ValueError: a setting the model does not take, a value of the wrong type or
        one the model refuses (the message names it), or a bad ``seed``.
    """
    cls = get(name)
    check_seed(seed)
    check_config(cls, config)
    with seeded(seed):
        try:
            return cls(**config)
        except (TypeError, IndexError, KeyError, AttributeError, RuntimeError) as e:
            raise ValueError(f"config for model {name!r}: {config} fails: "
                             f"{type(e).__name__}: {e}") from e
