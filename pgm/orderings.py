"""Deprecated alias of :mod:`pgm.autoregressive.orderings` (this module moved into the
autoregressive family), for one release: importing it warns and gives that module."""

import sys
import warnings

import pgm.autoregressive.orderings

warnings.warn("pgm.orderings is deprecated and will be removed in the next release; use "
              "pgm.autoregressive.orderings (the same functions)", DeprecationWarning,
              stacklevel=2)

sys.modules[__name__] = pgm.autoregressive.orderings
