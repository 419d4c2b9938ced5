"""Sample-quality metrics: Fréchet distance, class coverage, energy distance, the classifier."""

import math

import pytest
import torch

import pgm
from pgm.metrics import (
    class_coverage,
    classifier,
    energy_distance,
    frechet_distance,
    gaussian_frechet,
    sample_quality,
)


def gaussian(n, mu, cov, seed):
    g = torch.Generator().manual_seed(seed)
    chol = torch.linalg.cholesky(cov)
    return mu + torch.randn(n, len(mu), generator=g, dtype=torch.float64) @ chol.T


def random_cov(d, seed):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(d, d, generator=g, dtype=torch.float64)
    return a @ a.T / d + 0.1 * torch.eye(d, dtype=torch.float64)


def test_frechet_distance_of_identical_sets_is_zero():
    f = torch.randn(500, 8)
    assert frechet_distance(f, f) == pytest.approx(0, abs=1e-8)


def test_frechet_distance_is_symmetric():
    a, b = torch.randn(400, 6), 2 * torch.randn(300, 6) + 1
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-9)


def test_frechet_distance_matches_the_closed_form():
    # 1-D: (mu_a - mu_b)^2 + (sigma_a - sigma_b)^2
    assert gaussian_frechet(torch.tensor([1.0]), torch.tensor([[4.0]]), torch.tensor([-1.0]),
                            torch.tensor([[1.0]])) == pytest.approx(4 + 1)
    # commuting (diagonal) covariances: |mu_a - mu_b|^2 + sum (sqrt(a_i) - sqrt(b_i))^2
    da, db = torch.tensor([1.0, 4.0, 9.0]), torch.tensor([4.0, 4.0, 1.0])
    mu_a, mu_b = torch.tensor([0.0, 1.0, 2.0]), torch.tensor([1.0, 1.0, 0.0])
    expected = 1 + 4 + ((da.sqrt() - db.sqrt()) ** 2).sum().item()
    assert gaussian_frechet(mu_a, da.diag(), mu_b, db.diag()) == pytest.approx(expected)
    # samples of two full-covariance Gaussians approach their closed form
    d = 4
    mu_a, mu_b = torch.zeros(d, dtype=torch.float64), torch.full((d,), 0.5, dtype=torch.float64)
    ca, cb = random_cov(d, 0), random_cov(d, 1)
    exact = gaussian_frechet(mu_a, ca, mu_b, cb)
    est = frechet_distance(gaussian(200_000, mu_a, ca, 2), gaussian(200_000, mu_b, cb, 3))
    assert est == pytest.approx(exact, rel=0.02) and exact > 1


def test_frechet_distance_refuses_bad_features():
    with pytest.raises(ValueError, match="feats_a, feats_b: expected the same width"):
        frechet_distance(torch.randn(10, 3), torch.randn(10, 4))
    with pytest.raises(ValueError, match="feats_b: expected"):
        frechet_distance(torch.randn(10, 3), torch.randn(1, 3))


def test_class_coverage_sums_to_one():
    cover = class_coverage(torch.tensor([0, 0, 1, 3, 3, 3]), 5)
    assert cover.tolist() == pytest.approx([2 / 6, 1 / 6, 0, 3 / 6, 0])
    assert cover.sum().item() == pytest.approx(1)
    with pytest.raises(ValueError, match=r"labels_pred: expected labels in 0..2, got 0..3"):
        class_coverage(torch.tensor([0, 3]), 3)


def test_energy_distance_separates_distributions():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(800, 2, generator=g), torch.randn(800, 2, generator=g)
    assert abs(energy_distance(a, b)) < 0.02 < energy_distance(a, b + 1)


def test_the_classifier_tells_real_from_noise(classifier_cache):
    clf, info = classifier("shapes", cache=classifier_cache)
    assert info["accuracy"] > 0.9 and (classifier_cache / "classifier-shapes-seed0.pt").is_file()
    again, info2 = classifier("shapes", cache=classifier_cache)  # read back, not retrained
    assert info2 == info and all(torch.equal(p, q) for p, q in
                                 zip(clf.parameters(), again.parameters(), strict=True))
    real = pgm.data.load("shapes", "valid").x[:500]
    other = pgm.data.load("shapes", "test").x[:500]
    good, noise = sample_quality(other, real, clf), sample_quality(torch.rand(500, 784), real, clf)
    assert good["frechet_distance"] < 0.2 * noise["frechet_distance"]
    assert good["classes_covered"] == 4 and good["coverage_entropy_bits"] > 1.9
    assert math.isclose(sum(good["class_coverage"]), 1)
