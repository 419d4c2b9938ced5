"""The adversarial training loop: exact resume, failure detection, settings."""

import os
import signal

import pytest
import torch

import pgm
from pgm.infer import checkpoint
from pgm.infer.adversarial import AdversarialConfig, Collapsed, Diverged, train
from pgm.infer.svi import Interrupted
from tests.adversarial.toy import SHAPE, mixture

TOY = dict(shape=SHAPE, latent=4, hidden=[16, 16], output="linear")
SETTINGS = dict(epochs=3, batch_size=50, lr=1e-3, seed=3, d_steps=2, progress=False,
                log_every=0, monitor_every=1)


def build(name):
    torch.manual_seed(0)
    if name == "gan":
        return pgm.build("gan", **TOY)
    if name == "aae":  # the autoencoder is the generator player, the loop is the same
        return pgm.build("aae", latent=2, hidden=[16])
    return pgm.build("dcgan", latent=4, width=4)


def data(name):
    return mixture(300) if name == "gan" else pgm.data.load("shapes", "train", limit=300).x


def params(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


class Crash(Exception):
    pass


@pytest.mark.parametrize("name", ["gan", "dcgan", "aae"])
def test_resume_after_a_crash_equals_an_uninterrupted_run(tmp_path, name):
    x = data(name)
    ref = build(name)
    ref_summary = train(ref, x, out=tmp_path / "ref", checkpoint_every=4, **SETTINGS)

    def crash(d_step, figures):
        if d_step == 15:
            raise Crash

    model = build(name)
    with pytest.raises(Crash):
        train(model, x, out=tmp_path / "run", on_step=crash, checkpoint_every=4, **SETTINGS)
    assert checkpoint.load(tmp_path / "run", checkpoint.LAST)["state"]["step"] == 12
    again = build(name)  # what a fresh process would do
    summary = train(again, x, out=tmp_path / "run", resume=True, progress=False)
    for k, p in params(ref).items():  # both players, batch-norm statistics included
        assert torch.equal(p, params(again)[k]), k
    assert summary["step"] == 3 * 6 and summary["g_step"] == 9 == ref_summary["g_step"]
    ck, ref_ck = (checkpoint.load(d, checkpoint.LAST) for d in (tmp_path / "run", tmp_path / "ref"))
    for player in ("generator", "discriminator"):
        a, b = ck["optimizer"][player]["state"], ref_ck["optimizer"][player]["state"]
        assert all(torch.equal(a[i]["exp_avg"], b[i]["exp_avg"]) for i in b)
    assert torch.equal(ck["rng"], ref_ck["rng"])
    # the same checkpoint format as SVI's: load_model rebuilds the model
    loaded, _ = checkpoint.load_model(tmp_path / "run")
    assert type(loaded) is type(ref) and torch.equal(
        next(loaded.generator.parameters()), next(ref.generator.parameters()))


def test_a_signal_checkpoints_and_resume_finishes_the_same(tmp_path):
    x = data("gan")
    ref = build("gan")
    train(ref, x, **SETTINGS)

    def interrupt(d_step, figures):
        if d_step == 7:
            os.kill(os.getpid(), signal.SIGINT)  # handled between steps, not a traceback

    model = build("gan")
    with pytest.raises(Interrupted, match="stopped by signal"):
        train(model, x, out=tmp_path, on_step=interrupt, **SETTINGS)
    assert checkpoint.load(tmp_path, checkpoint.LAST)["state"]["step"] == 7
    again = build("gan")
    train(again, x, out=tmp_path, resume=True, progress=False)
    for k, p in params(ref).items():
        assert torch.equal(p, params(again)[k]), k


def test_the_generator_average_is_what_best_pt_and_the_returned_model_hold(tmp_path):
    x, decay = data("dcgan"), 0.8
    steps = []  # the trained generator after each of its steps

    def record(d_step, figures):
        if "g_loss" in figures:
            steps.append({k: v.detach().clone() for k, v in model.generator.state_dict().items()
                          if v.is_floating_point()})

    model = build("dcgan")
    train(model, x, out=tmp_path / "run", ema=decay, on_step=record, **SETTINGS)
    expected = dict(steps[0])  # the first step's weights, then the moving average
    for w in steps[1:]:
        expected = {k: decay * expected[k] + (1 - decay) * w[k] for k in expected}
    best, last = (checkpoint.load(tmp_path / "run", n) for n in (checkpoint.BEST, checkpoint.LAST))
    for k, v in expected.items():  # weights and batch-norm statistics
        assert torch.allclose(model.generator.state_dict()[k], v, atol=1e-6), k
        assert torch.allclose(best["state_dict"][f"generator.{k}"], v, atol=1e-6), k
        assert torch.allclose(last["state_dict"][f"generator.{k}"], steps[-1][k]), k
    # a crash and a resume give the same average as an uninterrupted run
    def crash(d_step, figures):
        if d_step == 15:
            raise Crash

    with pytest.raises(Crash):
        train(build("dcgan"), x, out=tmp_path / "crash", ema=decay, on_step=crash,
              checkpoint_every=4, **SETTINGS)
    again = build("dcgan")
    train(again, x, out=tmp_path / "crash", resume=True, progress=False)
    for k, v in params(model).items():
        assert torch.allclose(v.float(), params(again)[k].float()), k


def test_sample_grids_and_history(tmp_path):
    summary = train(build("gan"), data("gan"), out=tmp_path, sample_every=4, **SETTINGS)
    grids = sorted(p.name for p in (tmp_path / "samples").iterdir())
    assert grids == ["step_000004.png", "step_000008.png"]
    assert [h["epoch"] for h in summary["history"]] == [1, 2, 3]
    h = summary["history"][-1]
    assert 0 <= h["d_accuracy"] <= 1 and h["diversity"] > 0 and h["lr_d"] == h["lr"] == 1e-3


def test_a_nan_loss_is_reported_before_any_update():
    model = build("gan")
    with torch.no_grad():
        model.discriminator[0].weight[0, 0] = float("nan")
    before = params(model)
    with pytest.raises(Diverged, match=r"epoch 0 step 0: the discriminator loss is nan; "
                                       r"lower lr_d \(now 0.001\)"):
        train(model, data("gan"), **SETTINGS)
    assert all(torch.equal(p, before[k]) or k == "discriminator.0.weight"
               for k, p in params(model).items())
    assert issubclass(Diverged, FloatingPointError)
    model = build("gan")
    with torch.no_grad():
        model.generator[-1].bias[0] = float("inf")
    with pytest.raises(Diverged, match=r"step 0: the generator's samples are not finite"):
        train(model, data("gan"), **SETTINGS)


def test_a_discriminator_that_wins_outright_is_reported(tmp_path):
    x = mixture(300) + 20  # far from where the generator starts
    with pytest.raises(Collapsed, match="the discriminator wins: its accuracy has been 1.0 "
                                        "for 10 steps in a row"):
        train(build("gan"), x, out=tmp_path, **{**SETTINGS, "lr": 1e-9, "lr_d": 1e-2,
                                                "collapse_steps": 10})
    assert (tmp_path / "last.pt").is_file()  # written before stopping, for a look


def test_mode_collapse_is_reported():
    model = build("gan")
    with torch.no_grad():  # every z gives the same point
        model.generator[-1].weight.zero_()
    with pytest.raises(Collapsed, match=r"mode collapse: samples of a fixed batch of z are "
                                        r"0.000 times as spread out as the data"):
        train(model, data("gan"), **{**SETTINGS, "lr": 1e-9, "collapse_after": 2})


@pytest.mark.parametrize("bad,match", [
    ({"lr_d": -1.0}, "lr_d: expected a positive finite number, got -1.0"),
    ({"d_steps": 0}, "d_steps: expected a positive integer, got 0"),
    ({"betas": (0.5, 1.5)}, r"betas: expected two numbers in \[0, 1\)"),
    ({"patience": 3}, "patience: adversarial training has no validation likelihood"),
    ({"epochs": 0}, "epochs: expected a positive integer, got 0"),  # TrainConfig's own check
    ({"min_diversity": 2.0}, r"min_diversity: expected a number in \(0, 1\)"),
    ({"ema": 1.0}, r"ema: expected a decay in \(0, 1\) such as 0.999, or None; got 1.0"),
])
def test_bad_settings_name_the_argument(bad, match):
    with pytest.raises(ValueError, match=match):
        AdversarialConfig(**bad)
    with pytest.raises(ValueError, match=match):
        train(build("gan"), data("gan"), **{**SETTINGS, **bad})


def test_other_models_and_unknown_settings_are_refused():
    with pytest.raises(TypeError, match="expected a GAN"):
        train(pgm.build("bernoulli", shape=SHAPE), mixture(10))
    with pytest.raises(ValueError, match="valid: gan has no likelihood to validate on"):
        pgm.fit(build("gan"), mixture(10), mixture(10))
    with pytest.raises(TypeError, match=r"unknown settings \['d_step'\]"):
        train(build("gan"), mixture(10), d_step=2)
