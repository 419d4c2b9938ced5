"""The protocol every pgm model follows and the registry of model names."""

from pgm.core.base import GenerativeModel
from pgm.core.registry import build, get, names, register

__all__ = ["GenerativeModel", "build", "get", "names", "register"]
