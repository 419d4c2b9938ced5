"""examples/hierarchical.py: nested plates as ArviZ dims; SVI and NUTS agree and cover the truth."""

import math
import sys
import warnings
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))

import hierarchical as h  # noqa: E402

from pgm.infer.mcmc import nuts  # noqa: E402
from pgm.posterior import posterior  # noqa: E402

pytestmark = pytest.mark.slow  # a module fixture fits the model (10-40 s)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)
    import arviz as az  # noqa: E402


@pytest.fixture(scope="module")
def fits():
    torch.set_num_threads(1)
    scores, truth = h.simulate(seed=0)
    prog = h.fit_svi(scores)
    svi = posterior(prog, num_samples=800, seed=0)
    mcmc = nuts(h.schools, {"scores": scores}, num_samples=150, warmup_steps=100, chains=2,
                jit_compile=True, ignore_jit_warnings=True)
    return {"scores": scores, "truth": truth, "program": prog, "svi": svi, "nuts": mcmc}


def test_the_program_sees_the_plates(fits):
    prog = fits["program"]
    assert prog.latent == ["mu", "tau", "sigma", "theta"] and prog.observed == ["score"]
    assert prog.max_plate_nesting == 2


@pytest.mark.parametrize("method", ["svi", "nuts"])
def test_dims_are_the_plate_names(fits, method):
    idata = fits[method]
    n, s = fits["scores"].shape
    assert idata.posterior["theta"].dims == ("chain", "draw", "schools")
    assert idata.posterior["mu"].dims == ("chain", "draw")
    assert idata.log_likelihood["score"].dims == ("chain", "draw", "students", "schools")
    assert idata.log_likelihood["score"].shape[2:] == (n, s)
    assert (idata.observed_data["score"].values == fits["scores"].numpy()).all()


def test_svi_and_nuts_agree(fits):
    for site, tol in (("theta", 0.35), ("mu", 0.6), ("sigma", 0.15)):
        m_svi, sd_svi = h.moments(fits["svi"], site)
        m_nuts, sd_nuts = h.moments(fits["nuts"], site)
        assert (m_svi - m_nuts).abs().max() < tol, site
        # the school means are nearly independent given the data: mean field fits them well
        if site == "theta":
            assert ((sd_svi / sd_nuts).log().abs() < math.log(1.3)).all()


@pytest.mark.parametrize("method", ["svi", "nuts"])
def test_posteriors_cover_the_truth(fits, method):
    for site in ("mu", "tau", "sigma", "theta"):
        mean, sd = h.moments(fits[method], site)
        assert ((mean - fits["truth"][site]).abs() < 3 * sd).all(), site


@pytest.mark.parametrize("method", ["svi", "nuts"])
def test_partial_pooling_shrinks_the_school_means(fits, method):
    raw = fits["scores"].mean(0)  # each school's own mean, (S,)
    theta, _ = h.moments(fits[method], "theta")
    mu, _ = h.moments(fits[method], "mu")
    assert theta.std() < raw.std()
    far = (raw - mu).abs() > 1  # schools whose shrinkage exceeds the Monte Carlo error
    assert far.sum() >= 4 and ((theta - mu).abs() < (raw - mu).abs())[far].all()


def test_loo_is_finite_and_the_same_for_both(fits):
    with warnings.catch_warnings():  # a few hundred draws: Pareto k may pass 0.67
        warnings.simplefilter("ignore", UserWarning)
        loo = {m: az.loo(fits[m], pointwise=True) for m in ("svi", "nuts")}
    for v in loo.values():
        assert math.isfinite(v.elpd_loo) and v.elpd_loo < 0
        assert float(v.pareto_k.max()) < 1
        assert 3 < v.p_loo < 12  # about the 8 school means, mu, tau and sigma
    assert abs(loo["svi"].elpd_loo - loo["nuts"].elpd_loo) < 2


def test_table_and_figures(fits, tmp_path):
    rows = h.table(fits["truth"], {"svi": fits["svi"], "nuts": fits["nuts"]})
    assert [r["parameter"] for r in rows[:4]] == ["mu", "tau", "sigma", "theta[0]"]
    assert len(rows) == 3 + fits["scores"].shape[1]
    assert rows[0]["truth"] == h.TRUTH["mu"] and rows[0]["svi_sd"] > 0
    h.plot({"svi": fits["svi"], "nuts": fits["nuts"]}, fits["truth"], tmp_path)
    assert (tmp_path / "forest.png").stat().st_size > 1000
    assert (tmp_path / "posterior.png").stat().st_size > 1000
