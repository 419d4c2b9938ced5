import pytest
import torch

import pgm
from pgm.errors import CheckpointError
from pgm.infer import checkpoint


@pytest.fixture
def run(tmp_path):
    m = pgm.build("mixture", shape=(1, 2, 2), components=2)
    x = torch.bernoulli(torch.full((40, 4), 0.5))
    pgm.fit(m, x, x, out=tmp_path / "run", epochs=2, batch_size=10, progress=False)
    return tmp_path / "run", m


def test_round_trip_rebuilds_the_model(run):
    path, m = run
    again, ck = checkpoint.load_model(path)
    assert again.name == "mixture" and again.config == m.config
    for k, v in m.state_dict().items():
        assert torch.equal(v, again.state_dict()[k])
    assert ck["state"]["epoch"] == 2 and not again.training


def test_truncated_checkpoint(run, tmp_path):
    path, _ = run
    raw = (path / "best.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        checkpoint.load_model(tmp_path / "cut.pt")


def test_not_a_checkpoint(tmp_path):
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="is not a pgm checkpoint"):
        checkpoint.load(tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="does not exist"):
        checkpoint.load(tmp_path / "missing.pt")


def test_checkpoint_of_another_model_or_config(run):
    path, _ = run
    ck = checkpoint.load(path)
    with pytest.raises(CheckpointError, match="holds model 'mixture', expected 'bernoulli'"):
        checkpoint.restore(pgm.build("bernoulli", shape=(1, 2, 2)), ck)
    with pytest.raises(CheckpointError, match="has config"):
        checkpoint.restore(pgm.build("mixture", shape=(1, 2, 2), components=3), ck)


def test_a_failed_write_keeps_the_previous_file(run, monkeypatch):
    path, _ = run
    before = (path / "last.pt").read_bytes()

    def broken(obj, f):
        f.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken)
    with pytest.raises(OSError, match="disk full"):
        checkpoint.save(path / "last.pt", {"model": "x"})
    assert (path / "last.pt").read_bytes() == before
    assert sorted(p.name for p in path.iterdir()) == ["best.pt", "last.pt"]


def test_an_unregistered_subclass_is_not_rebuilt_as_its_parent(tmp_path):
    from pgm.latent.vae import VAE

    class Sub(VAE):  # not registered: it must not pass for a plain "vae"
        pass

    assert Sub.name == "" and VAE.name == "vae"
    m = Sub(shape=(1, 2, 2), latent=2, hidden=[3])
    pgm.fit(m, torch.zeros(4, 4), epochs=1, progress=False, out=tmp_path)
    with pytest.raises(CheckpointError, match="not registered"):
        checkpoint.load_model(tmp_path)
    again = Sub(shape=(1, 2, 2), latent=2, hidden=[3])
    checkpoint.restore(again, checkpoint.load(tmp_path))  # the user rebuilds it
    for p, q in zip(m.parameters(), again.parameters(), strict=True):
        assert torch.equal(p, q)


def test_load_run_rebuilds_a_built_in_run_and_a_pgm_fit_program(tmp_path):
    """``checkpoint.load_run`` (``pgm.load``): one call for either kind of run."""
    from pgm.cli import main

    x = pgm.data.load("shapes", "train", limit=60).x
    fitted = pgm.build("mixture", components=2)
    pgm.fit(fitted, x, x[:20], out=tmp_path / "mix", epochs=1, progress=False, log_every=0)
    loaded = pgm.load(tmp_path / "mix")  # checkpoint.load_run
    assert loaded.name == "mixture" and not loaded.training
    torch.testing.assert_close(loaded.log_prob(x[:5]), fitted.log_prob(x[:5]))

    (tmp_path / "coin.py").write_text(
        "import pyro, pyro.distributions as dist\n"
        "def model(flips):\n"
        "    p = pyro.sample('p', dist.Beta(2.0, 2.0))\n"
        "    with pyro.plate('data', len(flips)):\n"
        "        pyro.sample('flip', dist.Bernoulli(p), obs=flips)\n")
    (tmp_path / "flips.csv").write_text("flips\n" + "1\n0\n1\n1\n")
    run = tmp_path / "coin"
    assert main(["fit", f"{tmp_path / 'coin.py'}:model", "--data", str(tmp_path / "flips.csv"),
                 "--epochs", "20", "--out", str(run), "--no-progress"]) == 0
    program = checkpoint.load_run(run)
    saved = checkpoint.load(run)["state_dict"]
    assert program.config["model"] == "model" and program.latent == ["p"] and not program.training
    for k, v in program.state_dict().items():
        assert torch.equal(v, saved[k]), k
    # a folder without a run, and a pgm.fit program without program.json, are named
    with pytest.raises(CheckpointError, match="no best.pt or last.pt"):
        checkpoint.load_run(tmp_path)
    (run / "program.json").unlink()
    with pytest.raises(CheckpointError, match="holds a user's model"):
        checkpoint.load_run(run)
