import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import pgm
from pgm.core import GenerativeModel, get, names, register
from pgm.errors import UnknownNameError


def test_builtin_models_are_registered():
    assert {"bernoulli", "mixture"} <= set(names())
    for n in names():
        cls = get(n)
        assert issubclass(cls, GenerativeModel) and cls.name == n
        assert cls.kind in ("explicit", "latent", "implicit")


def test_unknown_model_names_the_choices():
    with pytest.raises(UnknownNameError, match="unknown model 'nade2'.*bernoulli"):
        pgm.build("nade2")


def test_bad_config_is_a_value_error():
    with pytest.raises(ValueError, match="config for model 'mixture'.*hidden"):
        pgm.build("mixture", hidden=3)
    with pytest.raises(ValueError, match="components: expected a positive integer, got 0"):
        pgm.build("mixture", components=0)
    with pytest.raises(ValueError, match="shape: expected positive sizes"):
        pgm.build("bernoulli", shape=(1, 0, 28))


def test_name_clash_is_refused():
    with pytest.raises(ValueError, match="already registered"):
        @register("mixture")
        class Other(GenerativeModel):
            pass


def test_config_rebuilds_the_model():
    m = pgm.build("mixture", shape=(1, 4, 4), components=3)
    again = pgm.build("mixture", **m.config)
    assert again.config == m.config and again.logits.shape == (3, 16)


def test_models_also_train_with_pyro_svi_and_its_param_store():
    """The Pyro way (pyro.module registration, pyro.infer.SVI) works on pgm's models too."""
    import pyro
    import torch

    torch.manual_seed(0)
    x = pgm.data.load("shapes", "train", limit=200).x
    m = pgm.build("mixture", components=3)
    svi = pyro.infer.SVI(m.model, m.guide, pyro.optim.Adam({"lr": 0.05}), m.elbo())
    first = svi.step(x)
    for _ in range(30):
        last = svi.step(x)
    assert last < first - 1000
    assert any(k.startswith("mixture_") for k in pyro.get_param_store().keys())


def test_pgm_trainer_does_not_fill_the_param_store():
    import pyro

    x = pgm.data.load("shapes", "train", limit=200).x
    pgm.fit(pgm.build("mixture", components=3), x, epochs=1, progress=False)
    assert len(pyro.get_param_store()) == 0


FAMILIES = ("pgm.models", "pgm.structure", "pgm.autoregressive", "pgm.latent", "pgm.adversarial")
ROOT = Path(__file__).resolve().parents[2]


def _run(code: str) -> str:
    """Run ``code`` in a fresh interpreter from the repository root; its standard output."""
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                       text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_the_core_alone_imports_no_model_family():
    """``pgm.core`` (and what it imports or looks up) never imports a family; the top does.

    Importing ``pgm.core`` runs ``pgm/__init__.py`` first, which imports the families on
    purpose, so the core is imported here under a bare ``pgm`` package without its
    ``__init__``.
    """
    out = _run(f"""
        import sys, types
        bare = types.ModuleType("pgm")
        bare.__path__ = [{str(ROOT / "pgm")!r}]
        sys.modules["pgm"] = bare
        import pgm.core, pgm.core.program, pgm.core.autoregressive
        known = pgm.core.names()  # a lookup does not import the families either
        print(known, sorted(m for m in sys.modules if m.startswith({FAMILIES!r})))
    """)
    assert out.strip() == "[] []"


def test_builtin_models_are_known_after_importing_pgm_or_its_core():
    for code in ("import pgm; print(pgm.build('vae').name, len(pgm.names()))",
                 "from pgm.core import build, names; print(build('vae').name, len(names()))"):
        name, count = _run(code).split()
        # the built-in models: those of pgm's own modules (a test may have registered more
        # in this process, e.g. the custom-VAE example's conv-vae)
        builtin = [n for n in names() if get(n).__module__.startswith("pgm.")]
        assert name == "vae" and int(count) == len(builtin)
