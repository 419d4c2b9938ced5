"""DCGAN (Radford et al., 2016): architecture, initialisation, sizes."""

import pyro.poutine as poutine
import pytest
import torch
from torch import nn

import pgm


def test_shapes_and_batch_norm_and_leaky_relu():
    model = pgm.build("dcgan", latent=16, width=8)
    x = model.sample(5)
    assert x.shape == (5, 784) and 0 <= x.min() and x.max() <= 1
    assert model.discriminate(x).shape == (5,)
    kinds = {type(m) for m in model.discriminator.modules()}
    assert nn.LeakyReLU in kinds and nn.BatchNorm2d in kinds and nn.Conv2d in kinds
    assert nn.ConvTranspose2d in {type(m) for m in model.generator.modules()}
    assert model.sample(1).shape == (1, 784)  # evaluation mode: batch norm takes one image


def test_weights_start_from_normal_0_002():
    torch.manual_seed(0)
    model = pgm.build("dcgan", width=32)
    convs = [m.weight for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    w = torch.cat([c.flatten() for c in convs])
    assert abs(w.mean()) < 1e-3 and abs(w.std() - 0.02) < 1e-3


def test_only_28x28_images():
    with pytest.raises(ValueError, match=r"sized for \(C, 28, 28\)"):
        pgm.build("dcgan", shape=(1, 32, 32))


def test_a_last_batch_of_one_image_trains():
    from pgm.infer.adversarial import train

    x = pgm.data.load("shapes", "train", limit=65).x  # batches of 64 and 1
    summary = train(pgm.build("dcgan", latent=4, width=4), x, epochs=1, batch_size=64,
                    progress=False, log_every=0)
    assert summary["step"] == 2 and summary["g_step"] == 2


def test_bernoulli_pixels_are_exact_draws_with_straight_through_gradients():
    torch.manual_seed(0)
    model = pgm.build("dcgan", latent=8, width=8, pixels="bernoulli", temperature=0.5)
    assert model.config["pixels"] == "bernoulli" and model.config["temperature"] == 0.5
    model.eval()
    z = model.prior().sample((1,)).expand(4000, -1)
    with torch.no_grad():
        p = model.generator(z[:1])[0]  # (784,) pixel probabilities
        x = poutine.condition(model.model, data={"z": z})(n=4000)
    assert set(x.unique().tolist()) <= {0.0, 1.0}
    assert (x.mean(0) - p).abs().max() < 0.04  # Bernoulli(G(z)), whatever the temperature
    torch.manual_seed(3)
    z3 = model.prior().sample((3,))
    torch.manual_seed(3)
    assert torch.allclose(model.sample(3, mean=True), model.generator(z3).clamp(1e-6, 1 - 1e-6))
    model.train()
    fake, latents = model.generate(16)
    assert set(latents) == {"z"}  # the image site is not a latent
    model.g_loss(fake, latents).backward()
    assert all(q.grad is not None and q.grad.abs().sum() > 0
               for q in model.generator.parameters())
    with pytest.raises(ValueError, match=r"pixels: expected one of \['grey', 'bernoulli'\]"):
        pgm.build("dcgan", pixels="binary")
    with pytest.raises(ValueError, match="temperature: expected a positive finite number"):
        pgm.build("dcgan", pixels="bernoulli", temperature=0)
    with pytest.raises(ValueError, match="pixels: Bernoulli pixels need output='sigmoid'"):
        pgm.build("gan", output="linear", pixels="bernoulli")


def test_minibatch_std_shows_the_discriminator_a_collapsed_batch():
    from pgm.adversarial.dcgan import minibatch_std

    h = torch.randn(6, 3, 7, 7)
    out = minibatch_std(h)
    assert out.shape == (6, 4, 7, 7) and torch.equal(out[:, :3], h)
    assert torch.allclose(out[:, 3], h.std(0, unbiased=False).mean().expand(6, 7, 7))
    assert minibatch_std(h[:1].expand(6, -1, -1, -1))[:, 3].abs().max() < 1e-6
    model = pgm.build("dcgan", latent=8, width=8, batch_std=True)
    assert model.config["batch_std"] is True
    assert model.discriminate(model.sample(5)).shape == (5,)
    assert model.discriminate(model.sample(1)).shape == (1,)


def test_hidden_adds_fully_connected_layers_to_both_players():
    model = pgm.build("dcgan", latent=8, width=8, hidden=16)
    assert model.config["hidden"] == 16 and "hidden" not in pgm.build("dcgan", width=8).config
    assert model.generator.project[0].out_features == 16
    assert model.discriminator.fc[0].out_features == 16 and model.discriminator.dim == 16
    assert model.discriminate(model.sample(3)).shape == (3,)
    with pytest.raises(ValueError, match="hidden: expected int, got float 2.5"):
        pgm.build("dcgan", hidden=2.5)
