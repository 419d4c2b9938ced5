"""Model names, as ``pgm train NAME`` takes them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pgm.errors import UnknownNameError

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


def _load_all() -> None:
    # importing the families registers their models
    import pgm.models  # noqa: F401


def names() -> list[str]:
    """Every registered model name."""
    _load_all()
    return sorted(_MODELS)


def get(name: str) -> type[GenerativeModel]:
    """The model class registered as ``name``."""
    _load_all()
    if name not in _MODELS:
        raise UnknownNameError(f"model: unknown model {name!r}; expected one of {names()}")
    return _MODELS[name]


def build(name: str, **config) -> GenerativeModel:
    """Instantiate model ``name`` with keyword ``config``."""
    cls = get(name)
    try:
        return cls(**config)
    except TypeError as e:
        raise ValueError(f"config for model {name!r}: {e}") from e
