"""Names that moved keep working from their old place for one release, with a warning.

Each old name must give the very object of its new place and warn ``DeprecationWarning``
when used (an old module: when imported). Delete each case with its alias.
"""

import importlib
import sys

import pytest


def _import_fresh(name: str, monkeypatch):
    """Import module ``name`` anew (a cached module would not warn again)."""
    monkeypatch.delitem(sys.modules, name, raising=False)
    return importlib.import_module(name)


def test_pgm_inspect_is_pgm_posterior(monkeypatch):
    import pgm.posterior

    with pytest.warns(DeprecationWarning, match="pgm.inspect is deprecated.*pgm.posterior"):
        old = _import_fresh("pgm.inspect", monkeypatch)
    assert old is pgm.posterior
    assert old.posterior is pgm.posterior.posterior and old.predict is pgm.posterior.predict
