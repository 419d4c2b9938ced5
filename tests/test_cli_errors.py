"""Every failure of the command line is one ``pgm: error:`` line and exit status 2.

Each case names what the user did wrong, and the message must name the option, what was
expected and what was received. The cases are listed in docs/reliability.md.
"""

import contextlib
import io
import json
import urllib.error

import pytest
import torch

from pgm.cli import main
from pgm.infer import checkpoint


def run(*argv):
    """``(status, stdout, stderr)`` of ``pgm ARGV``; argparse's own exits included."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as e:
            code = e.code
    return code, out.getvalue(), err.getvalue()


def fails(*argv, match: str) -> str:
    code, _, err = run(*argv)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert lines and lines[-1].startswith("pgm: error:"), err
    assert sum(line.startswith("pgm: error:") for line in lines) == 1, err
    assert "Traceback" not in err and match in lines[-1], err
    return lines[-1]


TRAIN = ("train", "bernoulli", "--data", "shapes", "--limit", "100", "--epochs", "1",
         "--no-progress")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli") / "run"
    assert run(*TRAIN, "--out", d)[0] == 0
    return d


@pytest.mark.parametrize("extra,match", [
    (["--clip-norm", "-1"], "clip_norm: expected a positive finite number, got -1.0"),
    (["--clip-norm", "0"], "clip_norm: expected a positive finite number, got 0.0"),
    (["--limit", "-5"], "argument --limit: expected a positive integer, got '-5'"),
    (["--limit", "0"], "argument --limit: expected a positive integer, got '0'"),
    (["--seed", "-1"], "argument --seed: expected an integer in [0, 2**32), got '-1'"),
    (["--seed", str(2**70)], "argument --seed: expected an integer in [0, 2**32)"),
    (["--lr", "nan"], "lr: expected a positive finite number, got nan"),
    (["--lr-decay", "2"], "lr_decay: expected a number in (0, 1], got 2.0"),
    (["--batch-size", "0"], "batch_size: expected a positive integer, got 0"),
    (["--patience", "0"], "patience: expected a positive integer, got 0"),
    (["--max-seconds", "-3"], "max_seconds: expected a positive number, got -3.0"),
    (["--lr-d", "0.1"], "--lr-d: not a setting of svi training"),
    (["--set", "foo=1"], "unknown setting(s) ['foo']; it takes"),
    (["--set", "nothing"], "--set: expected KEY=VALUE, got 'nothing'"),
    (["--resume", "--overwrite"], "not allowed with argument"),
])
def test_train_settings(tmp_path, extra, match):
    fails(*TRAIN, "--out", tmp_path / "r", *extra, match=match)
    assert not (tmp_path / "r").exists()  # nothing is written before the input is checked


@pytest.mark.parametrize("model,sets,match", [
    ("vae", ["latent=abc"], "latent: expected int | list[int], got str 'abc'"),
    ("vae", ["hidden=[]"], "hidden: expected a non-empty list of layer sizes"),
    ("vae", ["prior=7"], "prior: expected str, got int 7"),
    ("mixture", ["components=-2"], "components: expected a positive integer, got -2"),
    ("mixture", ["components=2.5"], "components: expected int, got float 2.5"),
    ("nade", ["ordering=sideways"], "ordering"),
])
def test_model_settings(tmp_path, model, sets, match):
    fails("train", model, "--data", "shapes", "--out", tmp_path / "r",
          *[a for s in sets for a in ("--set", s)], match=match)
    assert not (tmp_path / "r").exists()


def test_continuous_model_on_binary_data(tmp_path):
    fails("train", "rnade", "--data", "shapes", "--limit", "50", "--out", tmp_path / "r",
          "--no-progress", match="RNADE models real-valued pixels, got binary data")
    assert not (tmp_path / "r").exists()


def test_out_paths(tmp_path, trained):
    f = tmp_path / "file"
    f.write_text("x")
    fails(*TRAIN, "--out", f, match="is a file")
    fails(*TRAIN, "--out", f / "run", match="lies under")
    fails("sample", trained, "--out", tmp_path, match="expected a PNG file to write, got the "
                                                     "folder")
    fails("sample", trained, "--out", tmp_path / "s.xyz",
          match="expected a file name ending in .png, got")
    fails("sample", trained, "--out", f / "s.png", match="is a file, not a folder")
    fails("sample", trained, "-n", "0", "--out", tmp_path / "s.png",
          match="argument -n: expected a positive integer, got '0'")


def test_a_run_is_never_overwritten_silently(tmp_path, trained):
    before = (trained / "best.pt").read_bytes()
    fails(*TRAIN, "--out", trained, match="already holds a run; continue it with --resume")
    assert (trained / "best.pt").read_bytes() == before
    d = tmp_path / "again"
    assert run(*TRAIN, "--out", d)[0] == 0
    assert run(*TRAIN, "--out", d, "--overwrite", "--seed", "5")[0] == 0
    assert checkpoint.load(d / "last.pt")["train_config"]["seed"] == 5


def test_resume_keeps_the_runs_data_and_settings(tmp_path):
    d = tmp_path / "gan"
    args = ("train", "gan", "--data", "shapes", "--limit", "64", "--epochs", "1",
            "--batch-size", "32", "--set", "hidden=[8]", "--set", "latent=2",
            "--no-progress", "--out", d)
    assert run(*args)[0] == 0
    fails("train", "gan", "--out", d, "--resume", "--data", "binarized-mnist",
          match="--data: the run in")
    fails("train", "gan", "--out", d, "--resume", "--limit", "100",
          match="--limit: the run in")
    fails("train", "gan", "--out", d, "--resume", "--set", "latent=7",
          match="--set latent=7: the run in")
    fails("train", "gan", "--out", d, "--resume", "--batch-size", "16",
          match="--batch-size 16: the run in")
    # without --data and --limit: the run's own, so it trains on the same 64 images
    code, _, err = run("train", "gan", "--out", d, "--resume", "--epochs", "2",
                       "--no-progress")
    assert code == 0, err
    ckpt = checkpoint.load(d / "last.pt")
    assert ckpt["data"] == "shapes" and ckpt["data_n"] == 64 and ckpt["state"]["epoch"] == 2
    fails("train", "gan", "--out", tmp_path / "none", "--resume", match="holds no run to resume")


def test_damaged_run_files(tmp_path, trained):
    torch.save({"format": checkpoint.FORMAT, "version": checkpoint.VERSION, "model": "x"},
               tmp_path / "last.pt")
    fails("eval", tmp_path / "last.pt", "--data", "shapes", match="lacks ['config'")
    (tmp_path / "truncated.pt").write_bytes((trained / "best.pt").read_bytes()[:100])
    fails("eval", tmp_path / "truncated.pt", "--data", "shapes", match="truncated or corrupt")
    (tmp_path / "program.json").write_text(json.dumps({"guide": "auto_normal"}))
    fails("inspect", tmp_path, match="expected an object with the key 'model'")
    (tmp_path / "program.json").write_text("{")
    fails("inspect", tmp_path, match="not valid JSON")


def test_download_offline(monkeypatch, tmp_path):
    from pgm.data import paths

    def offline(remote, dest):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(paths, "fetch", offline)
    fails("data", "download", "binarized-mnist", "--data-dir", tmp_path,
          match="Temporary failure in name resolution")


MODEL = """
import pyro, pyro.distributions as dist, torch

def normal(y):
    scale = pyro.param("scale", torch.tensor(1.0))
    with pyro.plate("data", len(y)) as i:
        pyro.sample("y", dist.Normal(0.0, scale), obs=y[i])

def noplate(y):
    mu = pyro.sample("mu", dist.Normal(0.0, 1.0))
    pyro.sample("y", dist.Normal(mu, 1.0).expand([len(y)]).to_event(1), obs=y)
"""


def test_fit_errors(tmp_path):
    (tmp_path / "m.py").write_text(MODEL)
    y = 0.01 * torch.randn(100, generator=torch.Generator().manual_seed(0))
    (tmp_path / "y.csv").write_text("y\n" + "\n".join(f"{v:.6f}" for v in y.tolist()))
    src, data = tmp_path / "m.py", tmp_path / "y.csv"
    line = fails("fit", f"{src}:normal", "--guide", "none", "--data", data, "--lr", "0.05",
                 "--out", tmp_path / "a", "--no-progress",
                 match="training diverged")
    assert "Normal's scale violates GreaterThan" in line and "parameter 'scale'" in line
    fails("fit", f"{src}:noplate", "--data", data, "--batch-size", "10",
          "--out", tmp_path / "b", match="--batch-size: the model has no plate 'data'")
    fails("fit", f"{src}:noplate", "--data", data, "--plate", "rows",
          "--out", tmp_path / "b", match="--plate: the model has no plate 'rows'")
    assert run("fit", f"{src}:noplate", "--data", data, "--epochs", "5", "--out", tmp_path / "c",
               "--no-progress")[0] == 0
    fails("fit", f"{src}:noplate", "--data", data, "--epochs", "5", "--out", tmp_path / "c",
          match="already holds a run")
    fails("fit", f"{src}:noplate", "--data", data, "--guide", "auto_delta", "--epochs", "6",
          "--out", tmp_path / "c", "--resume", match="guide 'auto_delta'")


def test_more_inputs_found_by_attacking_the_cli(tmp_path, trained):
    fails(*TRAIN, "--out", "", match="argument --out: expected a folder name, got an empty")
    fails(*TRAIN, "--out", trained, "--resume", "--batch-size", "7",
          match="--batch-size 7: the run in")
    fails(*TRAIN, "--out", tmp_path / "r", "--set", "components=2", "--set", "components=3",
          match="--set components: given twice")
    fails("sample", trained, "-n", "4", "--out", tmp_path / "s.png", "--which", "last.pt",
          "--seed", "-2", match="argument --seed")
    # an explicit --which is strict; the default falls back to last.pt
    (tmp_path / "only-last").mkdir()
    (tmp_path / "only-last" / "last.pt").write_bytes((trained / "last.pt").read_bytes())
    fails("eval", tmp_path / "only-last", "--which", "best.pt", match="no best.pt in")
    assert run("eval", tmp_path / "only-last", "--limit", "50")[0] == 0
    (tmp_path / "exits.py").write_text("import sys\nsys.exit(3)\n")
    (tmp_path / "y.csv").write_text("y\n1.0\n2.0\n")
    fails("fit", f"{tmp_path / 'exits.py'}:model", "--data", tmp_path / "y.csv",
          "--out", tmp_path / "f", match="importing")
    fails("fit", f"{tmp_path}:model", "--data", tmp_path / "y.csv", "--out", tmp_path / "f",
          match="expected a Python file FILE.py, got the folder")
    (tmp_path / "m.py").write_text(MODEL)
    fails("fit", f"{tmp_path / 'm.py'}:noplate", "--data", tmp_path, "--out", tmp_path / "f",
          match="expected a .csv or .npz file, got the folder")
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfey\n\x00")
    fails("fit", f"{tmp_path / 'm.py'}:noplate", "--data", tmp_path / "bin.csv",
          "--out", tmp_path / "f", match="is not a UTF-8 text CSV file")
    fails("fit", f"{tmp_path / 'm.py'}:noplate", "--data", tmp_path / "y.csv",
          "--set", "y=[1.0]", "--out", tmp_path / "f", match="'y' is already a column")
    fails("fit", f"{tmp_path / 'm.py'}:noplate", "--data", tmp_path / "y.csv", "--guide",
          "noplate", "--out", tmp_path / "f", match="has no parameters to fit")


def test_inspect_options_are_checked_before_any_work(tmp_path):
    (tmp_path / "m.py").write_text(MODEL)
    (tmp_path / "y.csv").write_text("y\n1.0\n2.0\n3.0\n")
    run_dir = tmp_path / "fit"
    assert run("fit", f"{tmp_path / 'm.py'}:noplate", "--data", tmp_path / "y.csv",
               "--epochs", "3", "--out", run_dir, "--no-progress")[0] == 0
    fails("inspect", run_dir, "--num-samples", "1", "--chains", "1",
          match="--num-samples: expected a multiple of --chains (1) with at least 4 draws")
    fails("inspect", run_dir, "--num-samples", "10", "--chains", "4", match="--num-samples")
    (tmp_path / "afile").write_text("x")
    fails("inspect", run_dir, "--out", tmp_path / "afile", match="is a file")
    fails("inspect", tmp_path / "nowhere", match="does not exist")
