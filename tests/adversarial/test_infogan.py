"""InfoGAN (Chen et al., 2016): the codes as Pyro sites, Q as their guide, L_I in the game."""

import pyro.poutine as poutine
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

import pgm
from pgm.adversarial.infogan import CATEGORICAL, CONTINUOUS, jitter, save_code_grid
from pgm.cli import main
from pgm.infer import checkpoint
from pgm.infer.adversarial import train
from pgm.metrics.codes import matched_error, unsupervised_error

SMALL = dict(latent=8, width=8, q_hidden=32)


def build(**config):
    torch.manual_seed(0)
    return pgm.build("infogan", **{**SMALL, **config})


def sample_sites(trace):
    return {name: site for name, site in trace.nodes.items() if site["type"] == "sample"
            and not poutine.util.site_is_subsample(site)}


def test_the_model_samples_noise_and_codes_and_the_guide_exactly_the_codes():
    model = build(categories=10, continuous=3)
    tr = poutine.trace(model.model).get_trace(n=6)
    sites = sample_sites(tr)
    assert set(sites) == {"z", CATEGORICAL, CONTINUOUS, "x"} and sites["x"]["is_observed"]
    assert sites["z"]["value"].shape == (6, 8) and sites["x"]["value"].shape == (6, 784)
    c, s = sites[CATEGORICAL]["value"], sites[CONTINUOUS]["value"]
    assert c.shape == (6,) and c.dtype == torch.long and 0 <= c.min() and c.max() < 10
    assert s.shape == (6, 3) and -1 <= s.min() and s.max() <= 1
    assert torch.allclose(sites[CATEGORICAL]["fn"].probs, torch.full((10,), 0.1))
    assert all(sites[k]["fn"].batch_shape == (6,) for k in ("z", CATEGORICAL, CONTINUOUS))
    x = model.generator(torch.cat([sites["z"]["value"], F.one_hot(c, 10).float(), s], 1))
    assert torch.equal(sites["x"]["value"], x)  # x = G(z, c)
    guide = sample_sites(poutine.trace(model.guide).get_trace(x.detach()))
    assert set(guide) == {CATEGORICAL, CONTINUOUS}
    assert guide[CATEGORICAL]["fn"].logits.shape == (6, 10)
    assert guide[CONTINUOUS]["fn"].base_dist.scale.eq(1).all()  # fixed sigma = 1
    _, latents = model.generate(6)
    assert set(latents) == {"z", CATEGORICAL, CONTINUOUS}


def test_uniform_noise_is_the_prior_of_z_everywhere_it_is_drawn():
    # the model's site, the loop's monitoring batch and the code grid all draw p(z)
    model = build(noise="uniform")
    assert model.config["noise"] == "uniform" and "noise" not in build().config
    z = sample_sites(poutine.trace(model.model).get_trace(n=2000))["z"]
    assert isinstance(z["fn"].base_dist, torch.distributions.Uniform)
    monitor = model.generator_input(2000, torch.Generator().manual_seed(0))[:, :8]
    for v in (z["value"], monitor):
        assert -1 <= v.min() and v.max() <= 1 and v.abs().mean().sub(0.5).abs() < 0.02
    normal = build().generator_input(2000, torch.Generator().manual_seed(0))[:, :8]
    assert normal.abs().max() > 1.5  # N(0, I) reaches past the uniform's support
    with pytest.raises(ValueError, match="noise: expected one of"):
        build(noise="laplace")


def test_log_q_is_the_guides_log_density_and_enters_both_losses():
    model = build(categories=4, continuous=2, lambda_cont=0.5, learn_scale=True)
    fake, latents = model.generate(5)
    logit, q = model.discriminator.heads(fake)
    c, s = latents[CATEGORICAL], latents[CONTINUOUS]
    log_cat = q[:, :4].log_softmax(1)[torch.arange(5), c]
    scale = F.softplus(q[:, 6:]) + 1e-3
    log_cont = torch.distributions.Normal(q[:, 4:6], scale).log_prob(s).sum(1)
    log_q = model.log_q(q, latents)
    assert torch.allclose(log_q[CATEGORICAL], log_cat) and torch.allclose(log_q[CONTINUOUS],
                                                                          log_cont)
    # the guide run on fake and conditioned on the codes gives the same densities
    tr = poutine.trace(poutine.condition(model.guide, data=latents)).get_trace(fake)
    tr.compute_log_prob()
    assert torch.allclose(tr.nodes[CATEGORICAL]["log_prob"], log_cat)
    info = log_cat.mean() + 0.5 * log_cont.mean()
    assert torch.allclose(model.g_loss(fake, latents), F.softplus(-logit).mean() - info)
    real = pgm.data.load("shapes", "train", limit=5).x
    plain, _ = model.d_loss(real, fake)  # without codes: the plain GAN loss
    with_info, _ = model.d_loss(real, fake, latents)
    assert torch.allclose(with_info, plain - info, atol=1e-6)
    # Q's head is part of the discriminator, so D's optimizer trains it
    q_params = {id(p) for p in model.discriminator.q.parameters()}
    assert q_params <= {id(p) for p in model.discriminator.parameters()}


@pytest.mark.slow
def test_a_short_run_makes_the_categorical_code_recoverable():
    x = pgm.data.load("shapes", "train", limit=500).x
    model = build(categories=10, continuous=1)
    torch.manual_seed(1)
    before = model.mutual_information(1000)
    summary = train(model, x, epochs=8, batch_size=50, seed=0, progress=False, log_every=0)
    assert summary["g_step"] == 80  # about 1.5 s
    torch.manual_seed(1)
    after = model.mutual_information(1000)
    # L_I <= H(c_cat) = log 10 = 2.30 nats; an untrained Q knows nothing (0)
    assert abs(before[CATEGORICAL]) < 0.05 and after[CATEGORICAL] > 0.3, (before, after)  # 0.51
    torch.manual_seed(2)
    codes = torch.arange(10).repeat(50)
    probs, means = model.infer_codes(model.sample_codes(codes))
    assert probs.shape == (500, 10) and means.shape == (500, 1)
    assert torch.allclose(probs.sum(1), torch.ones(500))
    accuracy = (probs.argmax(1) == codes).float().mean()
    assert accuracy > 0.5, accuracy  # 0.998; chance: 0.1


def test_matched_error_finds_the_best_one_to_one_assignment():
    labels = torch.arange(10).repeat(30)
    perm = torch.randperm(10, generator=torch.Generator().manual_seed(0))
    assert matched_error(perm[labels], labels) == 0.0
    # codes 0, 1 both look like label 1: only one of them may have it
    codes, labels5 = torch.tensor([0, 0, 1, 1, 2]), torch.tensor([1, 1, 1, 0, 2])
    assert matched_error(codes, labels5) == pytest.approx(0.2)
    # more code values than labels: the extra ones count as errors
    assert matched_error(torch.tensor([0, 1, 2, 3]), torch.tensor([0, 0, 1, 1])) == 0.5

    class Oracle:  # predicts the labels' permutation from the image itself
        def infer_codes(self, x):
            return F.one_hot(perm[x[:, 0].long()], 10).float(), x[:, :0]

    assert unsupervised_error(Oracle(), labels[:, None].float(), labels) == 0.0


def test_sample_codes_and_the_code_grid(tmp_path):
    model = build(categories=3, continuous=2)
    z = torch.randn(1, 8).expand(3, 8)
    a = model.sample_codes(torch.tensor([0, 1, 1]), torch.tensor([[0.0, 0], [0, 0], [1, 0]]), z)
    assert a.shape == (3, 784) and 0 <= a.min() and a.max() <= 1
    assert not torch.allclose(a[0], a[1]) and not torch.allclose(a[1], a[2])
    assert torch.equal(a, model.sample_codes(torch.tensor([0, 1, 1]),
                                             torch.tensor([[0.0, 0], [0, 0], [1, 0]]), z))
    path = save_code_grid(model, tmp_path / "codes.png", code=1, steps=5)
    assert Image.open(path).size == (2 * (5 * 29 + 1), 2 * (3 * 29 + 1))  # 3 rows, 5 columns
    with pytest.raises(ValueError, match="code: expected 0..1"):
        save_code_grid(model, tmp_path / "bad.png", code=2)
    with pytest.raises(ValueError, match="categories: expected at least 2"):
        pgm.build("infogan", categories=1)


def test_resume_after_a_crash_equals_an_uninterrupted_run(tmp_path):
    x = pgm.data.load("shapes", "train", limit=120).x
    settings = dict(epochs=2, batch_size=40, seed=3, progress=False, log_every=0,
                    checkpoint_every=2)
    ref = build()
    train(ref, x, out=tmp_path / "ref", **settings)

    def crash(d_step, figures):
        if d_step == 5:
            raise RuntimeError("crash")

    with pytest.raises(RuntimeError, match="crash"):
        train(build(), x, out=tmp_path / "run", on_step=crash, **settings)
    again = build()
    train(again, x, out=tmp_path / "run", resume=True, progress=False)
    for (k, p), q in zip(ref.state_dict().items(), again.state_dict().values(), strict=True):
        assert torch.equal(p, q), k


def test_the_command_line_trains_and_samples(capsys, tmp_path):
    d = str(tmp_path / "run")
    code = main(["train", "infogan", "--data", "shapes", "--limit", "500", "--epochs", "1",
                 "--out", d, "--no-progress", "--set", "width=8", "--set", "latent=8"])
    assert code == 0, capsys.readouterr().err
    ck = checkpoint.load(d, checkpoint.LAST)
    assert ck["model"] == "infogan" and ck["config"]["categories"] == 10
    code = main(["sample", d, "-n", "8", "--out", str(tmp_path / "s.png")])
    assert code == 0 and (tmp_path / "s.png").stat().st_size > 0


def test_hidden_adds_the_papers_fully_connected_layers_inside_the_shared_body():
    model = build(hidden=16)
    assert model.config["hidden"] == 16 and "hidden" not in build().config
    assert model.generator.project[0].out_features == 16
    assert model.discriminator.d.fc[0].out_features == 16  # after D's convolutions ...
    assert model.discriminator.q[0].in_features == 16  # ... and read by Q
    fake, latents = model.generate(4)
    logit, q = model.discriminator.heads(fake)
    assert logit.shape == (4,) and q.shape == (4, 12)
    with pytest.raises(ValueError, match="hidden: expected an integer >= 0, got -1"):
        build(hidden=-1)


def test_q_slant_shears_what_q_reads_in_training_only():
    line = torch.zeros(1, 784)
    line.view(28, 28)[:, 14] = 1  # a vertical stroke
    torch.manual_seed(0)
    out = jitter(line.expand(200, -1), (1, 28, 28), 0.5).view(200, 28, 28)
    assert set(out.unique().tolist()) <= {0.0, 1.0}  # nearest pixels keep binary images
    cols = out.argmax(2)  # (200, 28): the stroke's column in each row
    slope = (cols[:, -1] - cols[:, 0]).float() / 27  # columns moved per row
    assert slope.abs().max() <= 0.5 * 28 / 27 + 0.1 and slope.abs().max() > 0.3
    assert slope.std() > 0.1  # every image its own slant
    model = build(pixels="bernoulli", q_slant=0.3)
    assert model.config["q_slant"] == 0.3 and "q_slant" not in build().config
    torch.manual_seed(0)
    fake, latents = model.generate(8)
    q_train = model._heads(fake)[1]
    assert not torch.allclose(q_train, model.discriminator.heads(fake)[1])
    model.eval()
    assert torch.equal(model._heads(fake)[1], model.discriminator.heads(fake)[1])
    with pytest.raises(ValueError, match="q_slant"):
        build(q_slant=-0.1)


def test_q_shift_moves_what_q_reads_by_whole_pixels():
    dot = torch.zeros(1, 784)
    dot.view(28, 28)[14, 14] = 1
    torch.manual_seed(0)
    out = jitter(dot.expand(300, -1), (1, 28, 28), 0.0, shift=2).view(300, 28 * 28)
    assert out.sum(1).eq(1).all()  # still one pixel, moved
    where = out.argmax(1)
    rows, cols = where // 28 - 14, where % 28 - 14
    assert rows.abs().max() == 2 and cols.abs().max() == 2
    assert len(set(zip(rows.tolist(), cols.tolist(), strict=True))) == 25  # all 25 moves
    model = build(q_shift=2)
    assert model.config["q_shift"] == 2
    with pytest.raises(ValueError, match="q_shift"):
        build(q_shift=-1)
