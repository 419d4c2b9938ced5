import warnings

import pytest
import torch

import pgm

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)
    import arviz as az

from pgm.inspect import latent_posterior  # noqa: E402


def test_latent_posterior_is_named_inference_data():
    torch.manual_seed(0)
    m = pgm.build("vae", shape=(1, 2, 3), latent=2, hidden=[5])
    x = torch.bernoulli(torch.full((4, 6), 0.5))
    idata = latent_posterior(m, x, num_samples=300)
    z = idata.posterior["z"]
    assert z.dims == ("chain", "draw", "image", "latent") and z.shape == (1, 300, 4, 2)
    assert idata.posterior_predictive["x"].shape == (1, 300, 4, 6)
    assert (idata.observed_data["x"].values == x.numpy()).all()
    summary = az.summary(idata, var_names=["z"], kind="stats")
    assert len(summary) == 4 * 2
    # the draws follow the guide: their mean and sd match q(z | x)
    loc, scale = m.encode(x)
    torch.testing.assert_close(torch.tensor(z.mean(("chain", "draw")).values), loc.detach(),
                               atol=4 * scale.max().item() / 300**0.5, rtol=0)


def test_latent_posterior_checks_its_input():
    m = pgm.build("vae", shape=(1, 2, 3), latent=2, hidden=[5])
    with pytest.raises(pgm.errors.DataError, match="binary"):
        latent_posterior(m, torch.full((2, 6), 0.5))
