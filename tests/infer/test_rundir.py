"""Nothing is lost: runs are not overwritten, folders are not shared, checkpoints stay good."""

import os
import stat
import subprocess
import sys
import textwrap

import pytest
import torch

import pgm
from pgm.infer import checkpoint, rundir
from pgm.infer.rundir import RunDirError
from pgm.infer.svi import Diverged

SHAPE = (1, 2, 2)


def data():
    return torch.bernoulli(torch.full((40, 4), 0.3), generator=torch.Generator().manual_seed(0))


def fit(out, **kw):
    m = pgm.build("bernoulli", shape=SHAPE)
    return m, pgm.fit(m, data(), out=out, progress=False, log_every=0, epochs=2, **kw)


def test_a_run_is_not_overwritten_without_overwrite(tmp_path):
    fit(tmp_path)
    before = (tmp_path / "last.pt").read_bytes()
    with pytest.raises(RunDirError, match="already holds a run; continue it with --resume"):
        fit(tmp_path)
    assert (tmp_path / "last.pt").read_bytes() == before
    (tmp_path / "samples").mkdir()
    (tmp_path / "samples" / "step_000100.png").write_bytes(b"old")
    _, s = fit(tmp_path, overwrite=True, lr=0.05)
    assert checkpoint.load(tmp_path, "last.pt")["train_config"]["lr"] == 0.05
    assert not (tmp_path / "samples").exists()  # the old run's files went with it
    with pytest.raises(ValueError, match="resume, overwrite: expected at most one"):
        fit(tmp_path, overwrite=True, resume=True)


def test_a_second_process_is_refused_while_the_first_writes(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from pgm.infer import rundir
        with rundir.claim({str(tmp_path)!r}):
            print("held", flush=True)
            time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        busy = rf"in use by another pgm process \(pid {holder.pid}\)"
        with pytest.raises(RunDirError, match=busy):
            fit(tmp_path)
    finally:
        holder.kill()
        holder.wait()
    fit(tmp_path)  # a killed holder leaves no lock behind
    assert not (tmp_path / rundir.LOCK).exists()


def test_stale_temporary_files_are_removed_and_files_follow_the_umask(tmp_path):
    tmp_path.mkdir(exist_ok=True)
    stale = tmp_path / "last.pt.abc123.tmp"
    stale.write_bytes(b"half a checkpoint")
    old = os.umask(0o022)
    try:
        fit(tmp_path)
    finally:
        os.umask(old)
    assert not stale.exists()
    assert stat.S_IMODE((tmp_path / "best.pt").stat().st_mode) == 0o644


@pytest.mark.parametrize("where,match", [
    ("file", "is a file"), ("under-file", "lies under"),
])
def test_out_that_cannot_be_a_folder(tmp_path, where, match):
    f = tmp_path / "f"
    f.write_text("x")
    out = f if where == "file" else f / "run"
    with pytest.raises(RunDirError, match=match):
        fit(out)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_read_only_folder(tmp_path):
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(RunDirError, match="not writable|cannot"):
            fit(tmp_path / "run")
    finally:
        tmp_path.chmod(0o700)


def test_a_checkpoint_never_holds_non_finite_values(tmp_path):
    path = tmp_path / "x.pt"
    checkpoint.save(path, {"model": "m", "config": {}, "state_dict": {"w": torch.ones(2)}})
    before = path.read_bytes()
    bad = {"model": "m", "config": {}, "state_dict": {"w": torch.tensor([1.0, float("nan")])},
           "optimizer": {"state": {0: {"exp_avg": torch.tensor([float("inf")])}}}}
    with pytest.raises(checkpoint.NonFiniteError, match=r"state_dict\.w, optimizer\.state\.0"):
        checkpoint.save(path, bad)
    assert path.read_bytes() == before and list(tmp_path.iterdir()) == [path]


def test_diverging_parameters_keep_the_last_good_checkpoint(tmp_path):
    """Parameters turned NaN mid-run: training stops, best.pt and last.pt stay finite."""
    m = pgm.build("bernoulli", shape=SHAPE)

    def poison(step, loss):
        if step == 4:  # the last step of epoch 2 (40 examples, batch 20), before its save
            with torch.no_grad():
                m.logits.fill_(float("nan"))

    with pytest.raises(Diverged, match="non-finite values in state_dict.logits"):
        pgm.fit(m, data(), out=tmp_path, progress=False, epochs=3, batch_size=20,
                on_step=poison, log_every=0)
    for name in ("best.pt", "last.pt"):
        ckpt = checkpoint.load(tmp_path / name)
        assert checkpoint.non_finite(ckpt) == [] and ckpt["state"]["epoch"] == 1


def test_checkpoint_missing_keys_is_a_clear_error(tmp_path):
    torch.save({"format": checkpoint.FORMAT, "version": checkpoint.VERSION, "model": "x"},
               tmp_path / "last.pt")
    with pytest.raises(pgm.errors.CheckpointError, match=r"lacks \['config', 'state_dict'\]"):
        checkpoint.load(tmp_path / "last.pt")
