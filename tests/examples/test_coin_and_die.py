"""The targets of the coin and die example, checked as the example runs them.

SVI (AutoNormal, AutoDiagonalNormal) and NUTS against the exact conjugate posterior:
posterior mean within 0.01 and standard deviation within 10%, NUTS with r_hat < 1.01.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))

import coin_and_die  # noqa: E402


@pytest.mark.slow
def test_svi_and_nuts_match_the_exact_posterior():
    rows, fits = coin_and_die.compare()
    assert {(r["model"], r["method"]) for r in rows} == {
        (m, k) for m in ("coin", "die") for k in ("auto_normal", "auto_diagonal_normal", "nuts")}
    for r in rows:
        assert r["mean_error"] < 0.01, r
        assert r["sd_rel_error"] < 0.10, r
        if r["method"] == "nuts":
            assert r["r_hat"] < 1.01, r
    # every draw is a valid parameter: a probability, a point of the simplex
    die = fits["die", "nuts"].posterior["probs"].values
    assert (die > 0).all() and abs(die.sum(-1) - 1).max() < 1e-5
