import torch

import pgm
from tests.conftest import all_binary


def test_normalized_over_all_states():
    m = pgm.build("bernoulli", shape=(1, 2, 5)).double()
    with torch.no_grad():
        m.logits.normal_()
    total = torch.logsumexp(m.log_prob(all_binary(10)), 0).exp()
    assert abs(total.item() - 1) < 1e-6


def test_num_parameters_is_one_per_pixel():
    assert pgm.build("bernoulli", shape=(3, 4, 5)).num_parameters == 60


def test_elbo_is_the_exact_log_likelihood():
    m = pgm.build("bernoulli", shape=(1, 3, 3))
    with torch.no_grad():
        m.logits.normal_()
    x = torch.bernoulli(torch.full((6, 9), 0.3))
    loss = m.elbo().differentiable_loss(m.model, m.guide, x)
    torch.testing.assert_close(loss, -m.log_prob(x).sum())
    # with num_data the plate scales a batch to the data set
    loss = m.elbo().differentiable_loss(m.model, m.guide, x, num_data=60)
    torch.testing.assert_close(loss, -10 * m.log_prob(x).sum())


def test_svi_reaches_the_closed_form_estimate():
    torch.manual_seed(1)
    p = torch.rand(9) * 0.8 + 0.1
    x = torch.bernoulli(p.expand(2000, 9))
    m = pgm.build("bernoulli", shape=(1, 3, 3))
    pgm.fit(m, x, epochs=30, lr=0.05, lr_decay=0.85, batch_size=100, progress=False)
    mle = x.mean(0)
    torch.testing.assert_close(torch.sigmoid(m.logits.detach()), mle, atol=0.01, rtol=0)


def test_samples_follow_the_marginals():
    m = pgm.build("bernoulli", shape=(1, 1, 4))
    with torch.no_grad():
        m.logits.copy_(torch.tensor([-2.0, -0.5, 0.5, 2.0]))
    s = m.sample(20_000)
    assert s.shape == (20_000, 4)
    torch.testing.assert_close(s.mean(0), torch.sigmoid(m.logits.detach()), atol=0.015, rtol=0)
