"""The text-to-image GAN (GAN-CLS, Reed et al., 2016): captions in, matching-aware game."""

import pyro.poutine as poutine
import pytest
import torch
import torch.nn.functional as F

import pgm
from pgm.adversarial.text2image import MAX_WORDS
from pgm.data import captions as C
from pgm.infer import checkpoint
from pgm.infer.adversarial import train
from pgm.infer.svi import adam

SMALL = dict(latent=8, width=8, embed=16, text=16)


def build(**config):
    torch.manual_seed(0)
    return pgm.build("text2image", **{**SMALL, **config})


def test_the_generator_is_a_pyro_model_of_noise_given_a_caption():
    model = build()
    t = model.tokens(["a pair of trousers", "a bag", "a bag"])
    assert t.shape == (3, MAX_WORDS) and t.dtype == torch.long
    tr = poutine.trace(model.model).get_trace(condition=t)
    z, x = tr.nodes["z"]["value"], tr.nodes["x"]["value"]
    assert z.shape == (3, 8) and x.shape == (3, 784) and not tr.nodes["z"]["is_observed"]
    model.eval()
    assert torch.allclose(model.render((z, t)), model.generator(
        torch.cat([z, model.discriminator.encoder(t)], 1)))
    same_z = poutine.condition(model.model, data={"z": z[:1].expand(3, -1)})
    x = same_z(condition=t)
    assert torch.equal(x[1], x[2]) and not torch.allclose(x[0], x[1])  # x depends on t
    _, latents = model.generate(3, t)
    assert set(latents) == {"z", "condition"} and torch.equal(latents["condition"], t)
    assert model.sample(2, ["a sports shoe", "a dress"]).shape == (2, 784)
    enc = model.discriminator.encoder
    same = model.tokens(["a purple dress", "a dress"])  # an unknown word is left out
    assert torch.allclose(enc(same)[0], enc(same)[1])
    assert model.sample(3).shape == (3, 784)  # training captions of random classes


def test_the_discriminator_loss_is_matching_aware():
    model = build()
    real, fake = torch.rand(4, 784), torch.rand(4, 784)
    t = model.tokens(["a bag", "a coat", "a dress", "a top"])
    loss, acc = model.d_loss(real, fake, {"condition": t})
    h = model.discriminator.encoder(t)
    d = model.discriminator
    right, wrong, fk = d(real, h), d(real, h.roll(1, 0)), d(fake, h)
    expected = (-F.logsigmoid(right).mean()
                - 0.5 * (F.logsigmoid(-wrong).mean() + F.logsigmoid(-fk).mean()))
    assert torch.allclose(loss, expected, atol=1e-6)
    assert acc == torch.cat([right > 0, wrong < 0, fk < 0]).float().mean()
    assert torch.allclose(model.g_loss(fake, {"condition": t}), -F.logsigmoid(fk).mean(),
                          atol=1e-6)
    with pytest.raises(ValueError, match="latents: expected the captions"):
        model.g_loss(fake)
    with pytest.raises(TypeError, match=r"judges \(image, caption\) pairs"):
        model.discriminate(real)


def test_one_step_of_each_player_improves_its_side():
    model = build()
    x = pgm.data.load("fashion-mnist", "train", limit=64)
    t = model.conditions(x.y)
    with torch.no_grad():
        fake, latents = model.generate(64, t)
    loss, _ = model.d_loss(x.x, fake, latents)
    opt = adam(model.discriminator.parameters(), 1e-3)
    loss.backward()
    opt.step()
    assert model.d_loss(x.x, fake, latents)[0] < loss
    z = model.prior().sample((64,))
    before = model.g_loss(model.render((z, t)), latents).item()
    model.discriminator.requires_grad_(False)
    opt = adam(model.generator.parameters(), 1e-3)
    model.g_loss(model.render((z, t)), latents).backward()
    opt.step()
    assert model.g_loss(model.render((z, t)), latents).item() < before - 1e-4


def test_conditions_must_match_the_model_and_the_images():
    model = build()
    x = pgm.data.load("shapes", "train", limit=8).x
    with pytest.raises(ValueError, match="condition: text2image is conditional; expected a"):
        train(model, x, epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"condition: expected one per training image \(8\)"):
        train(model, x, condition=torch.zeros(7, 3, dtype=torch.long), epochs=1, progress=False)
    with pytest.raises(ValueError, match="condition: dcgan is not conditional; expected None"):
        train(pgm.build("dcgan", width=4, latent=4), x, condition=torch.zeros(8, 3),
              epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"condition: expected word indices, a \(n, S\) long"):
        model.model(condition=torch.zeros(3, 4))
    with pytest.raises(ValueError, match="condition: the text-to-image GAN draws images of"):
        model.model(n=3)


def test_checkpoints_rebuild_the_vocabulary_and_resume_exactly(tmp_path):
    data = pgm.data.load("fashion-mnist", "train", limit=96)
    cond = build().conditions(data.y)
    kw = dict(condition=cond, batch_size=32, progress=False, log_every=0, seed=0,
              sample_every=1)
    full = train(build(), data.x, epochs=2, **kw)["model"]
    train(build(), data.x, epochs=1, out=tmp_path, **kw)
    resumed = train(build(), data.x, epochs=2, out=tmp_path, resume=True, **kw)["model"]
    for (k, a), b in zip(full.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    from PIL import Image

    from pgm.viz import save_grid

    grids = sorted((tmp_path / "samples").glob("*.png"))
    assert grids  # 64 images of the fixed batch, like every GAN's grids
    save_grid(torch.rand(64, 784), (1, 28, 28), tmp_path / "ref.png")
    assert Image.open(grids[-1]).size == Image.open(tmp_path / "ref.png").size
    loaded, _ = checkpoint.load_model(tmp_path)
    assert loaded.vocabulary.words == full.vocabulary.words and loaded.config["captions"] == (
        "fashion-mnist")


def test_a_short_run_draws_what_unseen_captions_say():
    """Trousers against bags: 400 images, a few seconds. Images generated from held-out
    captions of each class must be nearer that class's mean image than the other's."""
    data = pgm.data.load("fashion-mnist", "train", limit=2000)
    keep = (data.y == 1) | (data.y == 8)
    x, y = data.x[keep][:400], data.y[keep][:400]
    model = build(captions="fashion-mnist")
    train(model, x, condition=model.conditions(y), epochs=8, batch_size=32, seed=0,
          progress=False, log_every=0, lr=1e-3)
    means = torch.stack([x[y == c].mean(0) for c in (1, 8)])  # (2, 784)
    held = [(t, c) for t, c in C.captions("fashion-mnist", "held_out") if c in (1, 8)]
    assert held
    texts = [t for t, _ in held for _ in range(20)]
    truth = torch.tensor([0 if c == 1 else 1 for _, c in held for _ in range(20)])
    torch.manual_seed(1)
    fake = model.sample(len(texts), texts)
    nearest = torch.cdist(fake, means).argmin(1)
    accuracy = (nearest == truth).float().mean().item()
    assert accuracy > 0.9, accuracy
