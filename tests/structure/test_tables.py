import pyro
import pytest
import torch

import pgm
from pgm.errors import DataError
from tests.conftest import all_binary

ORDERINGS = ["raster", "snake", "column", "random"]
STRUCTURES = [("joint", {}), ("bernoulli", {}), ("markov", {}), ("ar", {"k": 0}),
              ("ar", {"k": 2}), ("ar", {"k": 5}), ("ar", {"k": 11}),
              ("ar", {"k": 3, "conditional": "logistic"})]


def random_model(name, kw, ordering="raster", shape=(1, 3, 4)):
    if name not in ("joint", "bernoulli"):
        kw = {**kw, "ordering": ordering}
    m = pgm.build(name, shape=shape, **kw).double()
    with torch.no_grad():
        for p in m.parameters():
            p.normal_(0, 1.5)
    return m


@pytest.mark.parametrize("name,kw", STRUCTURES, ids=lambda v: str(v))
@pytest.mark.parametrize("ordering", ORDERINGS)
def test_probabilities_of_all_states_sum_to_one(name, kw, ordering):
    m = random_model(name, kw, ordering)
    total = m.log_prob(all_binary(12)).exp().sum().item()
    assert abs(total - 1) < 1e-6


@pytest.mark.parametrize("name,kw", STRUCTURES[:7], ids=lambda v: str(v))
def test_elbo_is_the_exact_log_likelihood(name, kw):
    m = random_model(name, kw, "snake")
    x = all_binary(12)[::97]
    torch.testing.assert_close(m.elbo().differentiable_loss(m.model, m.guide, x),
                               -m.log_prob(x).sum())


def test_markov_model_declares_its_chain_with_pyro_markov():
    m = random_model("markov", {}, "snake")
    x = all_binary(12)[:5]
    tr = pyro.poutine.trace(m.model).get_trace(x)
    sites = [n for n, s in tr.nodes.items() if s["type"] == "sample" and s["is_observed"]]
    assert sites == [f"x_{i}" for i in range(12)]
    # pyro.markov records each site's scope: x_i depends on x_{i-1} alone
    for i in range(1, 12):
        assert set(tr.nodes[f"x_{i}"]["infer"]["_markov_scope"]) == {f"x_{i - 1}"}
    torch.testing.assert_close(tr.log_prob_sum(), m.log_prob(x).sum())
    ar = pgm.build("ar", shape=(1, 3, 4), k=1, ordering="snake").double()
    ar.load_state_dict(m.state_dict())
    torch.testing.assert_close(m.log_prob(x), ar.log_prob(x))


@pytest.mark.parametrize("name,kw", [("ar", {"k": 1}), ("ar", {"k": 3}), ("markov", {}),
                                     ("joint", {})], ids=lambda v: str(v))
def test_svi_reaches_the_closed_form_estimate(name, kw):
    torch.manual_seed(0)
    truth = random_model(name, kw, "snake", shape=(6,)).float()
    x = truth.sample(3000)
    closed = pgm.build(name, shape=(6,), **kw).fit_counts(x, pseudo_count=1.0)
    svi = pgm.build(name, shape=(6,), **kw)
    pgm.fit(svi, x, epochs=25, lr=0.05, lr_decay=0.9, batch_size=100, progress=False)
    gap = pgm.metrics.nll(svi, x) - pgm.metrics.nll(closed, x)
    assert abs(gap) < 0.01  # nats per example: SVI reaches the count estimate
    with torch.no_grad():  # and the same conditional probabilities where data is plentiful
        p_svi = torch.sigmoid(svi.logits(x)) if name != "joint" else svi.log_prob(x).exp()
        p_cf = torch.sigmoid(closed.logits(x)) if name != "joint" else closed.log_prob(x).exp()
    assert (p_svi - p_cf).abs().mean() < 0.01


def test_counts_without_pseudo_counts_are_the_frequencies():
    x = torch.tensor([[0.0, 1.0], [1.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    m = pgm.build("ar", shape=(2,), k=1).fit_counts(x)
    p = torch.sigmoid(m.table.detach())
    torch.testing.assert_close(p, torch.tensor([0.75, 1.0, 2 / 3]))  # x0; x1|x0=0; x1|x0=1


def test_samples_follow_the_model():
    m = random_model("ar", {"k": 2}, "column", shape=(1, 2, 3)).float()
    states = all_binary(6, torch.float32)
    marg = m.log_prob(states).exp() @ states
    torch.manual_seed(0)
    torch.testing.assert_close(m.sample(40_000).mean(0), marg, atol=0.012, rtol=0)


def test_bad_input():
    m = pgm.build("ar", shape=(4,), k=2)
    with pytest.raises(DataError, match="binary"):
        m.fit_counts(torch.full((3, 4), 2.0))
    with pytest.raises(ValueError, match="pseudo_count: expected a finite number >= 0"):
        m.fit_counts(torch.zeros(3, 4), pseudo_count=-1)
    with pytest.raises(ValueError, match="ordering: not a permutation"):
        pgm.build("ar", shape=(4,), k=1, ordering=[0, 1, 1, 3])
    with pytest.raises(ValueError, match="conditional: expected"):
        pgm.build("ar", shape=(4,), k=1, conditional="mlp")
    with pytest.raises(ValueError, match="fit_counts: needs conditional='table'"):
        pgm.build("ar", shape=(4,), k=1, conditional="logistic").fit_counts(torch.zeros(2, 4))
