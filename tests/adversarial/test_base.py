"""The losses every GAN shares: one step of either player improves its side of the game."""

import pytest
import torch

import pgm
from pgm.adversarial import AdversarialModel
from pgm.infer.svi import adam
from tests.adversarial.toy import SHAPE, mixture

CONFIGS = {"gan": dict(latent=8, hidden=[32, 32]), "dcgan": dict(latent=8, width=8),
           "toy": dict(shape=SHAPE, latent=4, hidden=[32, 32], output="linear")}


def build(name, loss):
    torch.manual_seed(0)
    return pgm.build("gan" if name == "toy" else name, loss=loss, **CONFIGS[name])


@pytest.mark.parametrize("name", ["gan", "dcgan", "toy"])
@pytest.mark.parametrize("loss", ["ns", "minimax"])
def test_a_generator_step_lowers_the_generator_loss_against_a_fixed_discriminator(name, loss):
    model = build(name, loss)
    z = model.prior().sample((64,))
    before = model.g_loss(model.generator(z)).item()
    opt = adam(model.generator.parameters(), 1e-3)
    model.g_loss(model.generator(z)).backward()
    d_before = [p.detach().clone() for p in model.discriminator.parameters()]
    opt.step()
    after = model.g_loss(model.generator(z)).item()
    assert after < before - 1e-4, (before, after)
    for p, q in zip(model.discriminator.parameters(), d_before, strict=True):
        assert torch.equal(p, q)  # the discriminator was held fixed


def soft_accuracy(model, real, fake):
    """The mean probability the discriminator gives the right answer."""
    with torch.no_grad():
        return torch.cat([torch.sigmoid(model.discriminate(real)),
                          torch.sigmoid(-model.discriminate(fake))]).mean().item()


# the fully connected discriminator starts with every logit on one side of 0 (accuracy
# exactly 1/2) and one small step moves them together; its soft accuracy still rises
@pytest.mark.parametrize("name,strict", [("gan", False), ("dcgan", True)])
def test_a_discriminator_step_raises_its_accuracy_against_a_fixed_generator(name, strict):
    model = build(name, "ns")
    real = pgm.data.load("shapes", "train", limit=64).x
    with torch.no_grad():
        fake = model.generator(model.prior().sample((64,)))
    loss, acc = model.d_loss(real, fake)
    soft = soft_accuracy(model, real, fake)
    g_before = [p.detach().clone() for p in model.generator.parameters()]
    opt = adam(model.discriminator.parameters(), 1e-3)
    loss.backward()
    opt.step()
    loss2, acc2 = model.d_loss(real, fake)
    assert loss2 < loss and soft_accuracy(model, real, fake) > soft + 1e-3
    assert acc2 > acc if strict else acc2 >= acc, (acc.item(), acc2.item())
    for p, q in zip(model.generator.parameters(), g_before, strict=True):
        assert torch.equal(p, q)


def test_losses_are_the_game_of_goodfellow_et_al():
    model = build("toy", "minimax")
    real, fake = mixture(8), mixture(8, seed=1) + 1
    d_real = torch.sigmoid(model.discriminate(real))
    d_fake = torch.sigmoid(model.discriminate(fake))
    loss, acc = model.d_loss(real, fake)
    assert torch.allclose(loss, -(d_real.log().mean() + (1 - d_fake).log().mean()), atol=1e-6)
    assert acc == torch.cat([d_real > 0.5, d_fake < 0.5]).float().mean()
    assert torch.allclose(model.g_loss(fake), (1 - d_fake).log().mean(), atol=1e-6)
    model.loss = "ns"
    assert torch.allclose(model.g_loss(fake), -d_fake.log().mean(), atol=1e-6)


def test_the_generator_is_a_pyro_model_without_likelihood():
    import pyro.poutine as poutine

    model = build("toy", "ns")
    tr = poutine.trace(model.model).get_trace(n=5)
    assert tr.nodes["z"]["value"].shape == (5, 4) and tr.nodes["x"]["value"].shape == (5, 2)
    assert tr.nodes["z"]["fn"].event_shape == (4,) and not tr.nodes["z"]["is_observed"]
    assert torch.equal(tr.nodes["x"]["value"], model.generator(tr.nodes["z"]["value"]))
    assert model.kind == "implicit" and isinstance(model, AdversarialModel)
    with pytest.raises(NotImplementedError, match="has no log_prob"):
        model.log_prob(mixture(3))
    with pytest.raises(NotImplementedError, match="no ELBO"):
        model.elbo()
    with pytest.raises(ValueError, match="loss: expected one of"):
        pgm.build("gan", loss="wasserstein")
