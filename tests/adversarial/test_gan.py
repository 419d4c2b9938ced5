"""GAN (Goodfellow et al., 2014) learns a 2-D mixture of Gaussians."""

import pytest
import torch

import pgm
from pgm.infer.adversarial import train
from pgm.metrics import energy_distance
from tests.adversarial.toy import SHAPE, mixture


@pytest.mark.slow
def test_a_short_run_matches_a_mixture_of_gaussians():
    data, held_out = mixture(2000), mixture(1000, seed=1)
    torch.manual_seed(0)
    model = pgm.build("gan", shape=SHAPE, latent=4, hidden=[64, 64], output="linear")
    torch.manual_seed(1)
    before = energy_distance(model.sample(1000), held_out)
    summary = train(model, data, epochs=40, batch_size=100, lr=1e-3, seed=0, progress=False,
                    log_every=0)  # 800 steps of each player, about 2 s
    # a healthy run: the default collapse checks (from step 500 on) did not stop it
    assert summary["g_step"] == 800 and summary["diversity"] > 0.5
    torch.manual_seed(1)
    samples = model.sample(1000)
    after = energy_distance(samples, held_out)
    assert after < 0.02 * before and after < 0.03, (before, after)  # 1.42 -> 0.0087
    # every mode gets some of the samples: mode collapse would leave some empty
    modes = torch.tensor([[2.0, 0], [0, 2], [-2, 0], [0, -2]])
    share = torch.bincount(torch.cdist(samples, modes).argmin(1), minlength=4) / 1000
    assert (share > 0.1).all(), share


def test_sizes_and_parameters():
    model = pgm.build("gan", latent=10, hidden=[20])
    assert model.sample(3).shape == (3, 784)
    assert 0 <= model.sample(3).min() and model.sample(3).max() <= 1
    assert model.num_parameters == (10 * 20 + 20 + 20 * 784 + 784) + (784 * 20 + 20 + 20 + 1)
