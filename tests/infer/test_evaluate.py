import math

import pytest
import torch

import pgm
from pgm.metrics import auroc, bits_per_dim, evaluate


def test_auroc_extremes_and_ties():
    assert auroc(torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0])) == 1.0
    assert auroc(torch.tensor([3.0, 4.0]), torch.tensor([1.0, 2.0])) == 0.0
    assert auroc(torch.tensor([1.0, 1.0]), torch.tensor([1.0, 1.0])) == 0.5
    # against the pairwise definition
    g = torch.Generator().manual_seed(0)
    a, b = torch.randint(0, 5, (40,), generator=g).float(), torch.randint(
        2, 8, (30,), generator=g).float()
    pairs = (b[:, None] > a[None]).double() + 0.5 * (b[:, None] == a[None]).double()
    assert abs(auroc(a, b) - pairs.mean().item()) < 1e-12


def test_evaluate_reports_nats_and_bits():
    m = pgm.build("bernoulli", shape=(1, 2, 2))
    x = torch.bernoulli(torch.full((10, 4), 0.5))
    r = evaluate(m, x)
    assert abs(r["nll_nats"] - 4 * math.log(2)) < 1e-6  # logits 0: every image 2^-4
    assert abs(r["bits_per_dim"] - 1.0) < 1e-6 and r["n"] == 10
    assert bits_per_dim(784 * math.log(2), 784) == 1.0


def test_linear_probe_separates_what_is_linear_and_not_noise():
    from pgm.metrics import linear_probe

    g = torch.Generator().manual_seed(0)
    centres = torch.randn(3, 5, generator=g) * 4
    y = torch.randint(0, 3, (600,), generator=g)
    x = centres[y] + torch.randn(600, 5, generator=g)
    assert linear_probe(x[:400], y[:400], x[400:], y[400:]) > 0.95
    noise = torch.randn(600, 5, generator=g)  # features that carry nothing
    assert linear_probe(noise[:400], y[:400], noise[400:], y[400:]) < 0.5
    with pytest.raises(ValueError, match="one width"):
        linear_probe(x[:10], y[:10], x[:10, :4], y[:10])
