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


def test_pgm_orderings_is_the_autoregressive_familys(monkeypatch):
    import pgm.autoregressive.orderings

    with pytest.warns(DeprecationWarning, match="pgm.orderings is deprecated"):
        old = _import_fresh("pgm.orderings", monkeypatch)
    assert old is pgm.autoregressive.orderings


@pytest.mark.parametrize("old, name, new", [
    ("pgm.core.autoregressive", "Autoregressive", "pgm.autoregressive.base"),
    ("pgm.infer", "nll", "pgm.metrics.likelihood"),
    ("pgm.infer", "bits_per_dim", "pgm.metrics.likelihood"),
    ("pgm.infer", "auroc", "pgm.metrics.likelihood"),
    ("pgm.infer", "linear_probe", "pgm.metrics.likelihood"),
    ("pgm.infer.evaluate", "nll", "pgm.metrics.likelihood"),
    ("pgm.infer.evaluate", "bits_per_dim", "pgm.metrics.likelihood"),
    ("pgm.infer.evaluate", "evaluate", "pgm.metrics.likelihood"),
    ("pgm.infer.evaluate", "auroc", "pgm.metrics.likelihood"),
    ("pgm.infer.evaluate", "linear_probe", "pgm.metrics.likelihood"),
    ("pgm.data.domains", "translation_errors", "pgm.metrics.translation"),
    ("pgm.adversarial.infogan", "unsupervised_error", "pgm.metrics.codes"),
    ("pgm.adversarial.infogan", "matched_error", "pgm.metrics.codes"),
    ("pgm.adversarial.infogan", "code_table", "pgm.metrics.codes"),
])
def test_moved_names_work_from_their_old_place(old, name, new):
    import pgm.metrics

    target = getattr(importlib.import_module(new), name)
    if new.startswith("pgm.metrics"):  # every metric is also in the package's namespace
        assert getattr(pgm.metrics, name) is target
    with pytest.warns(DeprecationWarning, match=f"{old}.{name} is deprecated.*{new}.{name}"):
        assert getattr(importlib.import_module(old), name) is target
    with pytest.raises(AttributeError):
        importlib.import_module(old).no_such_name  # noqa: B018


def test_pgm_evaluate_does_not_warn(recwarn):
    import pgm
    import pgm.infer
    import pgm.infer.evaluate  # noqa: F401  the deprecated module, once imported,

    assert pgm.infer.evaluate is pgm.evaluate  # does not hide the function
    assert pgm.evaluate is pgm.metrics.evaluate
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]


def test_the_model_method_register_is_register_parameters_and_warns():
    import pyro

    import pgm

    model = pgm.build("bernoulli", shape=(1, 2, 2))
    pyro.clear_param_store()
    with pytest.warns(DeprecationWarning, match="register_parameters"):
        model.register()
    assert set(pyro.get_param_store().keys())  # the parameters went to the param store
