"""DCGAN (Radford et al., 2016): architecture, initialisation, sizes."""

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
    assert summary["d_step"] == 2 and summary["step"] == 2
