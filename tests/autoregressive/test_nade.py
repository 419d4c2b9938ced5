import pytest
import torch

import pgm
from pgm.errors import DataError
from tests.conftest import all_binary

ORDERINGS = ["raster", "snake", "column", "random"]


def random_model(name, shape=(1, 3, 4), ordering="raster", **kw):
    m = pgm.build(name, shape=shape, ordering=ordering, **kw).double()
    with torch.no_grad():
        for p in m.parameters():
            p.normal_(0, 1.0)
    return m


MODELS = [("nade", {"hidden": 7}), ("nade", {"hidden": 5, "activation": "relu"}),
          ("fvsbn", {})]


@pytest.mark.parametrize("name,kw", MODELS)
@pytest.mark.parametrize("ordering", ORDERINGS)
def test_normalized_over_all_images(name, kw, ordering):
    m = random_model(name, ordering=ordering, **kw)
    total = torch.logsumexp(m.log_prob(all_binary(12)), 0).exp().item()
    assert abs(total - 1) < 1e-5


def slow_nade_logits(m, x):
    """D separate logistic computations, one network per pixel (no shared running sum)."""
    xo = x[:, m.order]
    out = torch.empty_like(xo)
    for i in range(m.dim):
        h = m._h(m.c + xo[:, :i] @ m.W[:i])  # (B, H)
        out[:, i] = h @ m.V[i] + m.b[i]
    return out[:, m.inverse]


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
@pytest.mark.parametrize("ordering", ORDERINGS)
def test_fast_log_prob_equals_slow_reference(activation, ordering):
    m = random_model("nade", shape=(1, 5, 6), ordering=ordering, hidden=9,
                     activation=activation)
    x = torch.bernoulli(torch.full((17, 30), 0.4, dtype=torch.float64))
    fast = m.logits(x)
    torch.testing.assert_close(fast, slow_nade_logits(m, x), atol=1e-5, rtol=0)
    torch.testing.assert_close(fast, m.logits_reference(x), atol=1e-5, rtol=0)


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_fused_gradient_equals_autograd_of_reference(activation):
    m = random_model("nade", shape=(1, 4, 5), hidden=6, activation=activation, ordering="snake")
    x = torch.bernoulli(torch.full((11, 20), 0.3, dtype=torch.float64))
    w = torch.randn(11, 20, dtype=torch.float64)
    fast = torch.autograd.grad((m.logits(x) * w).sum(), list(m.parameters()))
    ref = torch.autograd.grad((m.logits_reference(x) * w).sum(), list(m.parameters()))
    for a, b in zip(fast, ref, strict=True):
        torch.testing.assert_close(a, b, atol=1e-9, rtol=1e-7)


def test_float32_kernel_matches_float64():
    m = random_model("nade", shape=(1, 4, 4), hidden=8)
    x = torch.bernoulli(torch.full((5, 16), 0.5, dtype=torch.float64))
    ref = m.log_prob(x)
    got = m.float().log_prob(x.float())
    torch.testing.assert_close(got.double(), ref, atol=1e-4, rtol=0)


@pytest.mark.parametrize("name,kw", MODELS)
def test_samples_match_enumerated_marginals(name, kw):
    m = random_model(name, shape=(1, 2, 4), ordering="snake", **kw)
    states = all_binary(8)
    p = m.log_prob(states).exp()
    marg = p @ states  # exact P(x_d = 1)
    torch.manual_seed(0)
    s = m.sample(40_000)
    torch.testing.assert_close(s.mean(0), marg, atol=0.012, rtol=0)


def test_completion_keeps_the_prefix_and_is_the_exact_conditional():
    m = random_model("nade", shape=(1, 2, 3), hidden=4, ordering="column")
    states = all_binary(6)
    x = states[37:38].expand(30_000, 6).clone()
    prefix = m.order[:3]
    torch.manual_seed(0)
    done = m.complete(x, 3)
    assert torch.equal(done[:, prefix], x[:, prefix])
    # the exact conditional of the rest given the prefix, by enumeration
    match = (states[:, prefix] == x[0, prefix]).all(1)
    p = m.log_prob(states).exp() * match
    cond = (p / p.sum()) @ states
    torch.testing.assert_close(done.mean(0), cond, atol=0.015, rtol=0)
    mask = torch.zeros(6, dtype=torch.bool)
    mask[prefix] = True
    assert torch.equal(m.complete(x[:2], mask)[:, prefix], x[:2, prefix])


def test_nade_parameter_count():
    assert pgm.build("nade", hidden=500).num_parameters == 2 * 784 * 500 + 500 + 784
    assert pgm.build("fvsbn").num_parameters == 784 * 783 // 2 + 784


@pytest.mark.parametrize("kw,match", [
    ({"hidden": 0}, "hidden: expected a positive integer, got 0"),
    ({"hidden": -3}, "hidden: expected a positive integer"),
    ({"activation": "tanh"}, "activation: expected one of"),
    ({"ordering": [0, 0, 1]}, "ordering: expected a permutation"),
])
def test_bad_configuration(kw, match):
    with pytest.raises(ValueError, match=match):
        pgm.build("nade", **kw)


def test_bad_images_and_masks():
    m = pgm.build("nade", shape=(1, 2, 3), hidden=3)
    with pytest.raises(DataError, match="expected 6 pixels per example, got 784"):
        m.log_prob(torch.zeros(2, 784))
    with pytest.raises(DataError, match="binary"):
        m.log_prob(torch.full((2, 6), 0.5))
    with pytest.raises(DataError, match="NaN"):
        m.log_prob(torch.tensor([[float("nan")] + [0.0] * 5]))
    mask = torch.tensor([False, True, False, False, False, False])
    with pytest.raises(DataError, match="not a prefix of the model's ordering"):
        m.complete(torch.zeros(1, 6), mask)
    with pytest.raises(DataError, match="prefix length in 0..6, got 7"):
        m.complete(torch.zeros(1, 6), 7)
