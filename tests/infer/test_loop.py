"""One loop trains every registered model (pgm.fit), and resumes each one exactly."""

import math

import pytest
import torch

import pgm
from pgm.core import get, names
from pgm.infer import checkpoint
from pgm.infer.loop import State, regime_of
from tests.small import GREY, small_config


class Crash(Exception):
    pass


def _data(name: str, n: int = 40):
    """``n`` built-in shapes; grey (noisy) ones for a model of real-valued pixels."""
    ds = pgm.data.load("shapes", "train", limit=n)
    if name in GREY:
        g = torch.Generator().manual_seed(0)
        ds.x = (0.1 + 0.8 * ds.x + 0.05 * torch.rand(ds.x.shape, generator=g)).clamp(0, 1)
        ds.binary = False
    return ds


def _build(name: str, ds):
    cfg = small_config(name)
    cls = get(name)
    return pgm.build(name, seed=0, shape=ds.shape, **{**cls.data_settings(ds, cfg), **cfg})


REGISTRY = [n for n in names() if n != "joint"]  # joint: 2^784 parameters on images
SETTINGS = {"epochs": 2, "batch_size": 16, "progress": False, "log_every": 0}


@pytest.mark.parametrize("name", REGISTRY)
def test_every_model_fits_and_resumes_bit_for_bit(tmp_path, name):
    ds = _data(name)
    regime = regime_of(get(name))
    ref = _build(name, ds)
    x, condition = ref.training_data(ds)
    valid = x[:16] if regime.validates else None
    summary = pgm.fit(ref, x, valid, condition=condition, out=tmp_path / "ref", **SETTINGS)
    assert summary["trainer"] == regime.name and summary["epoch"] == 2
    n_steps = 2 * math.ceil(len(x) / 16)
    assert summary["step"] == n_steps and len(summary["history"]) == 2
    assert all(math.isfinite(v) for r in summary["history"] for k, v in r.items()
               if k != "diversity"), summary["history"]

    # a run that crashes in its second epoch, checkpointed every 2 steps and each epoch
    per_epoch = n_steps // 2
    crash_at = per_epoch + 2
    saved = max(s for s in range(1, crash_at) if s % 2 == 0 or s % per_epoch == 0)

    def crash(step, figures):
        assert figures and all(isinstance(v, float) for v in figures.values())
        if step == crash_at:
            raise Crash

    model = _build(name, ds)
    with pytest.raises(Crash):
        pgm.fit(model, x, valid, condition=condition, out=tmp_path / "run", on_step=crash,
                checkpoint_every=2, **SETTINGS)
    assert checkpoint.load(tmp_path / "run", checkpoint.LAST)["state"]["step"] == saved
    again = _build(name, ds)  # as a fresh process would
    resumed = pgm.fit(again, x, valid, condition=condition, out=tmp_path / "run", resume=True,
                      progress=False)
    assert resumed["step"] == n_steps
    for (k, a), b in zip(ref.state_dict().items(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b), f"{name}: {k} differs after resuming"

    # what a fitted model offers: a likelihood, or samples / previews
    with torch.no_grad():
        if ref.kind != "implicit":
            r = pgm.evaluate(ref, x[:8], seed=0)
            assert math.isfinite(r["nll_nats"])
        grid = ref.preview(4, lambda: (x, condition))
    assert grid.shape == (4, ref.dim) and bool(torch.isfinite(grid).all())


def test_a_checkpoint_of_the_two_old_trainers_resumes():
    """States written before the loop was one (SVI's float ``running``, the adversarial
    trainer's ``d_step``) are read into the one State."""
    svi = State.from_dict({"epoch": 1, "batch": 0, "step": 5, "seconds": 1.0, "best_valid": 3.0,
                           "best_epoch": 1, "stale": 0, "running": 2.5, "first_loss": 9.0,
                           "history": []})
    assert svi.running == {"train_loss": 2.5} and svi.extra == {"first_loss": 9.0}
    gan = State.from_dict({"epoch": 1, "batch": 2, "d_step": 8, "step": 4, "seconds": 1.0,
                           "d_loss": 1.2, "g_loss": 0.7, "d_accuracy": 0.5, "d_perfect": 0,
                           "diversity": 0.8, "history": []})
    assert gan.step == 8 and gan.extra["g_step"] == 4 and gan.running["d_loss"] == 1.2


def test_gan_settings_are_refused_for_svi_and_valid_for_a_gan():
    ds = _data("gan")
    with pytest.raises(TypeError, match=r"unknown settings \['lr_d'\]"):
        pgm.fit(_build("mixture", ds), ds.x, lr_d=0.1)
    with pytest.raises(ValueError, match="condition: only for a conditional GAN"):
        pgm.fit(_build("mixture", ds), ds.x, condition=ds.x)
    with pytest.raises(ValueError, match="valid: gan has no likelihood"):
        pgm.fit(_build("gan", ds), ds.x, ds.x)


def test_every_model_names_a_regime_and_an_evaluation_the_cli_knows():
    from pgm.cli import EVALUATIONS

    for name in names():
        cls = get(name)
        assert regime_of(cls).name == cls.trainer, name
        assert cls.evaluation in EVALUATIONS, name
