"""Deprecated alias of :mod:`pgm.posterior` (this module's former name), for one release.

``import pgm.inspect`` warns (:class:`DeprecationWarning`) and gives the module
:mod:`pgm.posterior` itself, so every name, and a ``monkeypatch`` through the old name,
works as before. The old name shadowed the standard library's :mod:`inspect`.
"""

import sys
import warnings

import pgm.posterior

warnings.warn("pgm.inspect is deprecated and will be removed in the next release; "
              "use pgm.posterior (the same functions)", DeprecationWarning, stacklevel=2)

sys.modules[__name__] = pgm.posterior
