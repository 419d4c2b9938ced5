"""examples/bayesnet_latent.py: CPTs learned with the hidden causes enumerated, queries exact."""

import sys
from pathlib import Path

import pytest
import torch
from pyro.infer import TraceEnum_ELBO

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))

import bayesnet_latent as ex  # noqa: E402

pytestmark = pytest.mark.slow  # a module fixture fits the model (10-40 s)

N = 4000


@pytest.fixture(scope="module")
def fitted():
    truth = ex.true_net()
    x, _ = ex.simulate(truth, N, seed=1)
    return truth, x, ex.learn(x, epochs=300, lr=0.1, seed=0)


def test_program_enumerates_the_hidden_causes(fitted):
    _, _, prog = fitted
    assert prog.enumerated == ["flu", "allergy"] and prog.latent == ["flu", "allergy"]
    assert isinstance(prog.elbo(), TraceEnum_ELBO)


def test_the_loss_is_the_exact_negative_log_likelihood(fitted):
    _, x, prog = fitted
    loss = prog.elbo().loss(prog.model, prog.guide)
    assert loss == pytest.approx(-ex.log_likelihood(ex.as_net(prog), x), rel=1e-5)


def test_svi_reaches_the_maximum_likelihood(fitted):
    truth, x, prog = fitted
    learned, _ = ex.relabel(ex.as_net(prog), truth)
    # relabelling the hidden values leaves the likelihood unchanged
    assert ex.log_likelihood(learned, x) == pytest.approx(
        ex.log_likelihood(ex.as_net(prog), x), abs=1e-6)
    # the maximum-likelihood CPTs explain the sample at least as well as the true ones
    assert ex.log_likelihood(learned, x) / N > ex.log_likelihood(truth, x) / N - 1e-4


def test_learned_cpts_are_close_to_the_truth(fitted):
    truth, _, prog = fitted
    learned, _ = ex.relabel(ex.as_net(prog), truth)
    errors = ex.cpt_errors(learned, truth)
    assert max(errors.values()) < 0.08, errors
    # an unfitted model (random starting CPTs) is far from it
    start = ex.learn(ex.simulate(truth, 50)[0], epochs=1, seed=0)
    assert max(ex.cpt_errors(ex.relabel(ex.as_net(start), truth)[0], truth).values()) > 0.2


def test_relabel_undoes_a_permutation():
    truth = ex.true_net()
    swapped = {"flu": (1, 0), "allergy": (1, 0)}
    net = ex.BayesNet({v: (truth.parents[v], ex.permute(truth.cpt[v], truth.parents[v] + [v],
                                                        swapped)) for v in truth.order})
    assert not torch.equal(net.cpt["sneeze"], truth.cpt["sneeze"])
    back, perm = ex.relabel(net, truth)
    assert perm == swapped
    assert all(torch.allclose(back.cpt[v], truth.cpt[v]) for v in truth.order)


def test_posterior_draws_match_exact_enumeration(fitted):
    _, _, prog = fitted
    draws = 1000
    sampled = ex.sampled_query(prog, ex.RECORDS, num_samples=draws, seed=3)
    exact = ex.exact_query(ex.as_net(prog), ex.RECORDS)
    assert sampled.shape == exact.shape == (len(ex.RECORDS), 2, 2)
    se = (exact * (1 - exact) / draws).sqrt()
    assert ((sampled - exact).abs() <= 4 * se + 2e-3).all(), (sampled, exact)
    # and the query is informative: the records' posteriors differ from one another
    assert exact[:, 1].sum(-1).max() - exact[:, 1].sum(-1).min() > 0.5


def test_with_data_keeps_the_fitted_parameters(fitted):
    _, _, prog = fitted
    other = prog.with_data(x=ex.RECORDS)
    for v in ex.PARENTS:
        assert torch.equal(other.param(f"cpt_{v}"), prog.param(f"cpt_{v}"))
    assert other.num_data == len(ex.RECORDS)
