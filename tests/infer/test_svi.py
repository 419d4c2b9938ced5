import os
import signal
import subprocess
import sys
import time

import pytest
import torch

import pgm
from pgm.infer import checkpoint

SHAPE = (1, 4, 4)


def toy_data(n=600, seed=0):
    g = torch.Generator().manual_seed(seed)
    proto = (torch.rand(3, 16, generator=g) < 0.5).float()
    z = torch.randint(0, 3, (n,), generator=g)
    flip = torch.rand(n, 16, generator=g) < 0.1
    return (proto[z] + flip.float()) % 2


def params(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


SETTINGS = dict(epochs=4, batch_size=50, lr=0.05, seed=3, progress=False)


class Crash(Exception):
    pass


@pytest.mark.parametrize("name,kw,crash_at,every", [
    ("mixture", {"components": 3}, 20, None), ("mixture", {"components": 3}, 17, 5),
    # the warm-up weight comes back with the resumed epoch (start_epoch)
    ("vae", {"latent": 2, "hidden": [8], "warmup": 3, "eval_samples": 5}, 17, 5)])
def test_resume_after_a_crash_equals_an_uninterrupted_run(tmp_path, name, kw, crash_at, every):
    x, v = toy_data(), toy_data(200, seed=1)
    torch.manual_seed(0)
    ref = pgm.build(name, shape=SHAPE, **kw)
    ref_summary = pgm.fit(ref, x, v, out=tmp_path / "ref", checkpoint_every=every, **SETTINGS)

    def crash(step, loss):
        if step == crash_at:
            raise Crash

    torch.manual_seed(0)
    m = pgm.build(name, shape=SHAPE, **kw)
    with pytest.raises(Crash):
        pgm.fit(m, x, v, out=tmp_path / "run", on_step=crash, checkpoint_every=every, **SETTINGS)
    ck = checkpoint.load(tmp_path / "run", checkpoint.LAST)
    assert ck["state"]["step"] < crash_at  # the crash lost the steps since the checkpoint

    again = pgm.build(name, shape=SHAPE, **kw)  # a fresh process would do this
    summary = pgm.fit(again, x, v, out=tmp_path / "run", resume=True, progress=False)
    for k, p in params(ref).items():
        assert torch.equal(p, params(again)[k]), k
    assert summary["step"] == ref_summary["step"] == 4 * 12
    assert summary["history"] == [{**h, "seconds": s["seconds"]} for h, s in
                                  zip(ref_summary["history"], summary["history"], strict=True)]


def test_same_seed_same_result_other_seed_differs(tmp_path):
    x = toy_data()
    a, b, c = (pgm.build("mixture", shape=SHAPE, components=3) for _ in range(3))
    pgm.fit(a, x, **SETTINGS)
    pgm.fit(b, x, **SETTINGS)
    pgm.fit(c, x, **{**SETTINGS, "seed": 4})
    assert torch.equal(a.logits, b.logits) and not torch.equal(a.logits, c.logits)


def test_early_stopping_and_best_checkpoint(tmp_path):
    x, v = toy_data(), toy_data(200, seed=1)
    m = pgm.build("mixture", shape=SHAPE, components=3)
    # a learning rate this large makes validation NLL bounce, so patience 1 triggers
    s = pgm.fit(m, x, v, out=tmp_path, epochs=30, lr=2.0, patience=1, progress=False)
    assert len(s["history"]) < 30
    best = min(h["valid_nll"] for h in s["history"])
    assert s["best_valid"] == best
    assert abs(pgm.metrics.nll(m, v) - best) < 1e-4  # the model ends at its best weights
    # no temporary files; the lock is gone with the run
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt", "last.pt"]
    # resuming a run that stopped early trains no further
    again = pgm.fit(m, x, v, out=tmp_path, resume=True, progress=False)
    assert again["step"] == s["step"]


def test_divergence_is_reported():
    m = pgm.build("mixture", shape=SHAPE, components=3)
    with torch.no_grad():
        m.logits.fill_(float("nan"))
    m.initialize = lambda x: None
    with pytest.raises(FloatingPointError, match="diverged at epoch 0 step 0.*lower lr"):
        pgm.fit(m, toy_data(), progress=False)


def test_resume_with_a_new_learning_rate_schedule(tmp_path):
    x = toy_data()
    m = pgm.build("mixture", shape=SHAPE, components=3)
    pgm.fit(m, x, out=tmp_path, **{**SETTINGS, "epochs": 2, "lr_decay": 0.5})
    s = pgm.fit(m, x, out=tmp_path, resume=True, epochs=4, lr=0.01, lr_decay=0.9,
                progress=False)
    assert [h["lr"] for h in s["history"]] == pytest.approx([0.05, 0.025, 0.01, 0.009])
    assert s["config"]["lr"] == 0.01 and s["config"]["lr_decay"] == 0.9
    # settings other than when to stop and the schedule are the checkpoint's: another value
    # is refused by name, not silently ignored
    with pytest.raises(pgm.errors.PGMError, match=r"batch_size=50 \(given 7\)"):
        pgm.fit(m, x, out=tmp_path, resume=True, epochs=5, batch_size=7, progress=False)
    s = pgm.fit(m, x, out=tmp_path, resume=True, epochs=5, batch_size=50, progress=False)
    assert s["config"]["batch_size"] == 50 and s["history"][-1]["lr"] == pytest.approx(0.0081)


def test_resume_without_checkpoint_is_clear(tmp_path):
    m = pgm.build("mixture", shape=SHAPE, components=3)
    tmp_path.mkdir(exist_ok=True)
    with pytest.raises(pgm.errors.CheckpointError, match="no last.pt in directory"):
        pgm.fit(m, toy_data(), out=tmp_path, resume=True)


@pytest.mark.slow
def test_sigkill_then_resume_from_the_command_line(tmp_path):
    """A real kill -9 mid-run, then --resume: the same weights as one clean run."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    base = [sys.executable, "-m", "pgm", "train", "mixture", "--data", "shapes", "--limit",
            "2000", "--set", "components=5", "--epochs", "3", "--seed", "1", "--no-progress",
            "--checkpoint-every", "3"]
    subprocess.run(base + ["--out", str(tmp_path / "ref")], check=True, env=env,
                   capture_output=True)
    proc = subprocess.Popen(base + ["--out", str(tmp_path / "run")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last = tmp_path / "run" / "last.pt"
    deadline = time.time() + 60
    while not last.exists() and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert last.exists()
    done = checkpoint.load(last)["state"]
    assert done["epoch"] < 3  # killed before the end
    subprocess.run(base + ["--out", str(tmp_path / "run"), "--resume"], check=True, env=env,
                   capture_output=True)
    a, _ = checkpoint.load_model(tmp_path / "ref", checkpoint.LAST)
    b, _ = checkpoint.load_model(tmp_path / "run", checkpoint.LAST)
    for k, p in params(a).items():
        assert torch.equal(p, params(b)[k]), k
