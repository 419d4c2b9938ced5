"""Deprecated place of :class:`pgm.autoregressive.base.Autoregressive`, the base of the
autoregressive models, which moved into their family; ``Autoregressive`` still works from
here for one release, and warns. (The core imports no family: the name is looked up only
when asked for.)"""

from pgm._deprecated import moved

__getattr__ = moved(__name__, {"Autoregressive": "pgm.autoregressive.base"})
