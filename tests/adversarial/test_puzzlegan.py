"""Puzzle-GAN: key patches and their mask, the generator's three losses, its scores."""

import pyro
import pytest
import torch
import torch.nn.functional as F

from pgm.adversarial import PuzzleGAN
from pgm.adversarial.puzzlegan import key_patches

SHAPE = (1, 28, 28)


def small(**kw) -> PuzzleGAN:
    return PuzzleGAN(**{"width": 4, "embed": 4, "latent": 2, **kw})


def test_key_patches_are_crops_and_the_mask_covers_them():
    x = torch.arange(2 * 784, dtype=torch.float32).reshape(2, 784) / 2000  # every pixel unique
    patches, mask = key_patches(x, SHAPE, 3, 5, torch.Generator().manual_seed(0))
    assert patches.shape == (2, 3, 1, 5, 5) and mask.shape == (2, 784)
    img = x.reshape(2, 28, 28)
    for b in range(2):
        covered = torch.zeros(28, 28)
        for p in patches[b, :, 0]:
            where = (img[b] == p[0, 0]).nonzero()[0]  # the top-left pixel's place
            y, xx = int(where[0]), int(where[1])
            assert torch.equal(p, img[b, y:y + 5, xx:xx + 5])
            covered[y:y + 5, xx:xx + 5] = 1
        assert torch.equal(mask[b], covered.flatten())
    assert len({tuple(p.flatten().tolist()) for p in patches[0]}) == 3  # no window twice


def test_key_patches_hold_the_ink():
    x = torch.zeros(64, 784)
    x.reshape(64, 28, 28)[:, 20:28, 20:28] = 1.0  # ink in one corner only
    patches, _ = key_patches(x, SHAPE, 2, 8, torch.Generator().manual_seed(0))
    share = (patches.sum((2, 3, 4)) > 0).float().mean()
    assert share > 0.9  # 64 of the 441 windows touch the ink, yet nearly all patches do


def test_generator_loss_is_the_three_terms():
    pyro.set_rng_seed(0)
    m = small(lambda_app=3.0, lambda_spa=2.0)
    real = torch.rand(4, 784)
    fake, latents = m.generate(4, real=real)
    assert fake.shape == (4, 784) and latents["mask"].shape == (4, 784)
    assert set(latents["true_mask"].unique().tolist()) <= {0.0, 1.0}
    expected = (F.softplus(-m.discriminate(fake)).mean() + 3.0 * (fake - real).abs().mean()
                + 2.0 * F.binary_cross_entropy(latents["mask"], latents["true_mask"]))
    torch.testing.assert_close(m.g_loss(fake, latents, real=real), expected)


def test_scores_and_their_marks():
    m = small()
    x = torch.rand(6, 784) * (torch.rand(6, 784) < 0.3)
    s = m.scores(x)
    assert s["l1_blank"] == pytest.approx(x.mean().item())
    assert s["l1_pieces_in_place"] < s["l1_blank"]
    assert 0 <= s["mask_iou"] <= 1 and 0 <= s["l1_completion"] <= 1
    assert m.scores(x) == s  # seeded: the same patches and noise each time
    image, mask = m.complete(m.pieces(x)[0])
    assert image.shape == mask.shape == (6, 784)


@pytest.mark.parametrize("kw,match", [
    ({"patch": 30}, "patch: expected a side in pixels from 2 to 28, got 30"),
    ({"patch": 28, "patches": 2}, "patches: expected at most 1 windows of 28x28 pixels, got 2"),
    ({"patches": 0}, "patches: expected a positive integer"),
    ({"lambda_app": -1.0}, "lambda_app: expected a positive finite number"),
])
def test_bad_settings_are_named(kw, match):
    with pytest.raises(ValueError, match=match):
        small(**kw)


def test_bad_inputs_are_named():
    m = small()
    with pytest.raises(ValueError, match=r"source: PuzzleGAN reads real images; "
                                         r"expected images \(n, 784\), got None"):
        m.sample(3)
    with pytest.raises(ValueError, match=r"patches: expected \(n, 3, 1, 8, 8\), got \(2, 3\)"):
        m.complete(torch.rand(2, 3))
    with pytest.raises(ValueError, match="real: PuzzleGAN reads real images"):
        m.generate(3)
    assert m.sample(3, source=torch.rand(5, 784)).shape == (3, 784)
