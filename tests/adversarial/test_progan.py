"""Progressive GAN (Karras et al., 2018): growth schedule, fade-in, equalized learning rate."""

import pytest
import torch
import torch.nn.functional as F

import pgm
from pgm.adversarial.progan import EqualizedConv2d, pixel_norm
from pgm.infer import checkpoint
from pgm.infer.adversarial import train


def small(**kw):
    torch.manual_seed(0)
    return pgm.build("progan", latent=8, width=4, **kw)


@pytest.mark.parametrize("images,expected", [
    (0, (0, 1.0)), (99, (0, 1.0)), (100, (1, 0.0)), (150, (1, 0.5)), (200, (1, 1.0)),
    (325, (2, 0.25)), (400, (2, 1.0)), (10**6, (2, 1.0))])
def test_schedule_stabilizes_then_fades_in_each_level(images, expected):
    assert small(phase=100).schedule(images) == expected


@pytest.mark.parametrize("level,block", [(0, 4), (1, 2), (2, 1)])
def test_images_are_28x28_and_repeat_the_level_resolution(level, block):
    m = small(phase=100)
    m.images_seen.fill_({0: 0, 1: 200, 2: 400}[level])
    x = m.sample(3).reshape(3, 28, 28)
    assert 0 <= x.min() and x.max() <= 1
    # nearest-neighbour repeats: every block x block square holds one value
    def coarse(b):
        return x[:, ::b, ::b].repeat_interleave(b, 1).repeat_interleave(b, 2)

    assert torch.equal(x, coarse(block))
    if level > 0:  # and no coarser: the level's own resolution
        assert not torch.equal(x, coarse(2 * block))


@pytest.mark.parametrize("level", [1, 2])
def test_a_new_level_enters_smoothly(level):
    """At the start of a fade (alpha 0) both players compute what they did one level
    down; during it they move from one to the other."""
    m = small()
    z = torch.randn(5, 8)
    x = torch.rand(5, 784)
    with torch.no_grad():
        before_g, before_d = m.generator(z, level - 1), m.discriminator(x, level - 1)
        torch.testing.assert_close(m.generator(z, level, 0.0), before_g)
        torch.testing.assert_close(m.discriminator(x, level, 0.0), before_d)
        after_g, after_d = m.generator(z, level, 1.0), m.discriminator(x, level, 1.0)
        assert not torch.allclose(after_g, before_g)
        half = m.discriminator(x, level, 0.5)
        assert not torch.allclose(half, before_d) and not torch.allclose(half, after_d)


def test_equalized_learning_rate_and_pixel_norm():
    torch.manual_seed(0)
    conv = EqualizedConv2d(64, 32, 3)
    assert abs(conv.weight.std().item() - 1) < 0.02  # stored N(0, 1)
    h = conv(torch.randn(16, 64, 8, 8))
    # He's constant at run time: unit-variance inputs give outputs of variance ~ 2
    assert 1.7 < h.var().item() < 2.3
    n = pixel_norm(3 * torch.randn(4, 10, 5, 5))
    torch.testing.assert_close(n.pow(2).mean(1), torch.ones(4, 5, 5))


def test_training_moves_the_clock_and_a_resume_keeps_it(tmp_path):
    x = pgm.data.load("shapes", "train", limit=96).x
    m = small(phase=64)
    train(m, x, epochs=2, batch_size=32, out=tmp_path, progress=False, log_every=0)
    assert int(m.images_seen) == 2 * 96  # 3 phases of 64: the 28x28 fade starts
    assert m.schedule() == (2, 0.0)
    again, _ = checkpoint.load_model(tmp_path, checkpoint.LAST)
    assert int(again.images_seen) == 192
    m.eval()
    again.eval()
    z = torch.randn(4, 8)
    torch.testing.assert_close(again.render(z), m.render(z))


def test_only_28x28_images_and_positive_settings():
    with pytest.raises(ValueError, match=r"sized for \(C, 28, 28\)"):
        pgm.build("progan", shape=(1, 32, 32))
    with pytest.raises(ValueError, match="phase: expected a positive integer"):
        pgm.build("progan", phase=0)


def test_discriminator_reads_a_lower_level_through_average_pooling():
    m = small()
    x = torch.rand(2, 784)
    pooled = F.avg_pool2d(x.reshape(2, 1, 28, 28), 4)  # (2, 1, 7, 7)
    blocky = F.interpolate(pooled, size=(28, 28)).flatten(1)
    with torch.no_grad():  # at 7x7, D cannot tell an image from its 4x4-block average
        torch.testing.assert_close(m.discriminator(x, 0), m.discriminator(blocky, 0))


def test_the_losses_have_no_side_effects_the_regime_moves_the_clock():
    m = small(phase=100).train()
    real = torch.bernoulli(torch.full((8, m.dim), 0.3))
    fake, latents = m.generate(8)
    m.d_loss(real, fake, latents)
    m.g_loss(fake, latents)
    assert int(m.images_seen) == 0  # computing a loss changes nothing
    m.discriminator_trained(real)  # what the adversarial regime calls after a D step
    assert int(m.images_seen) == 8
