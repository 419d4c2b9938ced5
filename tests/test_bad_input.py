"""Bad input to any model gives one clear error naming what was wrong."""

import pytest
import torch

import pgm
from pgm.errors import DataError

MODELS = [("bernoulli", {}), ("mixture", {"components": 3})]


@pytest.fixture(params=MODELS, ids=[m for m, _ in MODELS])
def model(request):
    name, cfg = request.param
    return pgm.build(name, shape=(1, 3, 3), **cfg)


@pytest.mark.parametrize("bad,match", [
    (torch.full((2, 9), 0.5), r"binary values in \{0, 1\}.*first: 0.5"),
    (torch.tensor([[float("nan")] + [0.0] * 8]), "finite values, got 1 NaN"),
    (torch.tensor([[float("inf")] + [0.0] * 8]), "finite values"),
    (torch.zeros(2, 8), "expected 9 pixels per example, got 8"),
    (torch.zeros(2, 3, 3), r"expected shape \(batch, pixels\), got \(2, 3, 3\)"),
    (torch.zeros(2, 9, dtype=torch.long), "floating-point tensor, got dtype torch.int64"),
    (torch.zeros(0, 9), "empty batch"),
    ([[0.0] * 9], "expected a torch.Tensor, got list"),
])
def test_log_prob_rejects(model, bad, match):
    with pytest.raises(DataError, match=match):
        model.log_prob(bad)


def test_fit_rejects_bad_training_data(model):
    with pytest.raises(DataError, match="train: expected binary"):
        pgm.fit(model, torch.full((4, 9), 0.3), progress=False)
    with pytest.raises(DataError, match="valid: expected 9 pixels"):
        pgm.fit(model, torch.zeros(4, 9), torch.zeros(4, 5), progress=False)


@pytest.mark.parametrize("setting,match", [
    ({"epochs": 0}, "epochs: expected a positive integer, got 0"),
    ({"batch_size": -1}, "batch_size: expected a positive integer"),
    ({"lr": float("nan")}, "lr: expected a positive finite number"),
    ({"lr_decay": 1.5}, r"lr_decay: expected a number in \(0, 1\]"),
])
def test_fit_rejects_bad_settings(model, setting, match):
    with pytest.raises(ValueError, match=match):
        pgm.fit(model, torch.zeros(4, 9), progress=False, **setting)


def test_fit_rejects_unknown_setting(model):
    with pytest.raises(TypeError, match="unknown settings \\['epoch'\\]"):
        pgm.fit(model, torch.zeros(4, 9), epoch=3)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_log_prob_takes_other_float_dtypes(model, dtype):
    """Converted to float32, not a torch dtype error; the value is the float32 one."""
    x = torch.tensor([[0.0, 1.0] * 4 + [1.0]])
    assert torch.equal(model.log_prob(x.to(dtype)), model.log_prob(x))


def test_fit_settings_checked_like_the_cli(model):
    for setting, match in (({"clip_norm": -1.0}, "clip_norm: expected a positive finite"),
                           ({"clip_norm": 0}, "clip_norm: expected a positive finite"),
                           ({"seed": -1}, r"seed: expected an integer in \[0, 2\*\*32\)"),
                           ({"seed": 2**70}, r"seed: expected an integer in \[0, 2\*\*32\)")):
        with pytest.raises(ValueError, match=match):
            pgm.fit(model, torch.zeros(4, 9), progress=False, **setting)


def test_resume_on_other_data_is_refused(model, tmp_path):
    x = torch.bernoulli(torch.full((20, 9), 0.4), generator=torch.Generator().manual_seed(1))
    pgm.fit(model, x, out=tmp_path, epochs=1, progress=False, data_name="mine")
    with pytest.raises(pgm.errors.PGMError, match=r"trained on other data \(20 examples"):
        pgm.fit(model, x[:10], out=tmp_path, resume=True, epochs=2, progress=False)
    with pytest.raises(pgm.errors.PGMError, match="trained on 'mine', not 'theirs'"):
        pgm.fit(model, x, out=tmp_path, resume=True, epochs=2, progress=False,
                data_name="theirs")
    s = pgm.fit(model, x, out=tmp_path, resume=True, epochs=2, progress=False)
    assert s["epoch"] == 2


@pytest.mark.parametrize("config,match", [
    ({"components": "3"}, "components: expected int, got str '3'"),
    ({"component": 3}, r"unknown setting\(s\) \['component'\]; it takes components="),
])
def test_build_names_bad_config(config, match):
    with pytest.raises(ValueError, match=match):
        pgm.build("mixture", shape=(1, 3, 3), **config)
