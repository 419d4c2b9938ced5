import pyro
import torch

import pgm
from tests.conftest import all_binary


def random_mixture(k=4, shape=(1, 2, 5)):
    m = pgm.build("mixture", shape=shape, components=k).double()
    with torch.no_grad():
        m.logits.normal_(0, 2)
        m.mix_logits.normal_()
    return m


def test_normalized_over_all_states():
    m = random_mixture()
    total = torch.logsumexp(m.log_prob(all_binary(10)), 0).exp()
    assert abs(total.item() - 1) < 1e-6


def test_num_parameters():
    assert pgm.build("mixture", components=10).num_parameters == 10 * 784 + 9
    assert pgm.build("mixture", components=500).num_parameters == 500 * 784 + 499


def test_enumerated_elbo_is_the_exact_marginal_likelihood():
    m = random_mixture()
    x = all_binary(10)[::37]
    loss = m.elbo().differentiable_loss(m.model, m.guide, x)
    torch.testing.assert_close(loss, -m.log_prob(x).sum())


def test_enumeration_is_parallel_over_components():
    m = random_mixture(k=5)
    x = all_binary(10)[:8]
    tr = pyro.poutine.trace(pyro.infer.config_enumerate(m.model)).get_trace(x)
    with pyro.poutine.block():
        enum = pyro.poutine.enum(m.model, first_available_dim=-2)
        tr = pyro.poutine.trace(enum).get_trace(x)
    assert tr.nodes["z"]["value"].shape == (5, 1)


def test_posterior_is_bayes_rule():
    m = random_mixture(k=3)
    x = all_binary(10)[::50]
    r = m.posterior(x)
    torch.testing.assert_close(r.sum(-1), torch.ones(len(x), dtype=torch.float64))
    joint = m.joint_log_prob(x)
    torch.testing.assert_close(r.log(), joint - joint.logsumexp(-1, keepdim=True))


def test_sampling_matches_the_mixture_marginals():
    m = random_mixture(k=3).float()
    s = m.sample(40_000)
    pi = torch.softmax(m.mix_logits.detach(), 0)
    marg = pi @ torch.sigmoid(m.logits.detach())
    torch.testing.assert_close(s.mean(0), marg, atol=0.01, rtol=0)


def test_fit_recovers_a_planted_mixture():
    torch.manual_seed(0)
    truth = random_mixture(k=2).float()
    with torch.no_grad():
        truth.logits.copy_(torch.tensor([[4.0] * 5 + [-4.0] * 5, [-4.0] * 5 + [4.0] * 5]))
        truth.mix_logits.zero_()
    x = truth.sample(3000)
    m = pgm.build("mixture", shape=(1, 2, 5), components=2)
    pgm.fit(m, x[:2500], epochs=15, progress=False)
    gap = pgm.metrics.nll(m, x[2500:]) - pgm.metrics.nll(truth, x[2500:])
    assert gap < 0.05
