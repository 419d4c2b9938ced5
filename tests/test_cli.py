import json
import math
import re

import pytest

from pgm.cli import main
from pgm.core import get, names
from pgm.infer import checkpoint
from tests.small import GREY, SMALL


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list(capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0 and "mixture" in out and "bernoulli" in out


def test_train_eval_sample_resume(capsys, tmp_path):
    d = str(tmp_path / "run")
    code, out, _ = run(capsys, "train", "mixture", "--data", "shapes", "--limit", "1000",
                       "--out", d, "--epochs", "2", "--set", "components=4", "--no-progress")
    assert code == 0 and "best valid NLL" in out
    assert (tmp_path / "run" / "samples.png").stat().st_size > 0
    code, out, _ = run(capsys, "eval", d, "--data", "shapes", "--split", "test", "--json")
    r = json.loads(out)
    assert code == 0 and r["model"] == "mixture" and r["config"]["components"] == 4
    assert 0 < r["nll_nats"] < 784 * 0.7 and r["n"] == 2000
    assert abs(r["bits_per_dim"] - r["nll_nats"] / (784 * 0.6931471805599453)) < 1e-9
    code, out, _ = run(capsys, "sample", d, "-n", "16", "--out", str(tmp_path / "g.png"))
    assert code == 0 and (tmp_path / "g.png").stat().st_size > 0
    code, out, _ = run(capsys, "train", "mixture", "--data", "shapes", "--limit", "1000",
                       "--out", d, "--epochs", "3", "--resume", "--no-progress")
    assert code == 0
    code, out, _ = run(capsys, "eval", d, "--data", "shapes", "--json", "--which", "last.pt")
    assert code == 0


@pytest.mark.parametrize("argv,match", [
    (["train", "nope", "--data", "shapes", "--out", "x"], "unknown model 'nope'"),
    (["train", "mixture", "--data", "shapes", "--out", "x", "--epochs", "0"],
     "epochs: expected a positive integer, got 0"),
    (["train", "mixture", "--data", "shapes", "--out", "x", "--set", "components=-2"],
     "components: expected a positive integer, got -2"),
    (["eval", "no/such/dir", "--data", "shapes"], "no/such/dir does not exist"),
])
def test_errors_are_one_clear_line(capsys, argv, match):
    code, _, err = run(capsys, *argv)
    assert code == 2 and err.startswith("pgm: error:") and match in err, err
    assert "Traceback" not in err


def test_unknown_data_name_is_refused(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "mixture", "--data", "mnist", "--out", "x"])
    assert e.value.code == 2 and "invalid choice: 'mnist'" in capsys.readouterr().err


def test_resume_of_another_model_is_refused(capsys, tmp_path):
    d = str(tmp_path / "run")
    assert run(capsys, "train", "bernoulli", "--data", "shapes", "--limit", "300", "--out", d,
               "--epochs", "1", "--no-progress")[0] == 0
    code, _, err = run(capsys, "train", "mixture", "--data", "shapes", "--out", d, "--resume")
    assert code == 2 and "holds a 'bernoulli' run, not 'mixture'" in err


def test_demo_smoke(capsys, tmp_path):
    code, out, _ = run(capsys, "demo", "--out", str(tmp_path), "--epochs", "1",
                       "--components", "5", "--no-progress")
    assert code == 0 and "mixture" in out and "test NLL" in out
    assert (tmp_path / "mixture" / "samples.png").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in names() if n != "joint"])
def test_every_model_goes_through_train_eval_sample(capsys, tmp_path, name, classifier_cache,
                                                    request):
    d = str(tmp_path / name)
    data = "shapes"
    if name in GREY:
        request.getfixturevalue("data_dir")  # skips, saying why, without the real data
        data = "mnist-test"
    sets = [a for s in SMALL.get(name, []) for a in ("--set", s)]
    code, out, err = run(capsys, "train", name, "--data", data, "--limit", "200", "--out", d,
                         "--epochs", "1", "--no-progress", *sets)
    assert code == 0, err
    # --data defaults to the run's own
    code, out, err = run(capsys, "eval", d, "--limit", "200", "--json",
                         "--classifier-cache", str(classifier_cache))
    assert code == 0, err
    r = json.loads(out)
    if get(name).evaluation == "scores":  # its outputs checked against the split
        errors = [v for k, v in r.items() if k.startswith("l1_")]
        assert r["n"] == 200 and len(errors) >= 4 and all(0 <= e <= 1 for e in errors), r
        # its samples are made from the run's own data set (test split)
        code, out, err = run(capsys, "sample", d, "-n", "4", "--out", str(tmp_path / "s.png"))
        assert code == 0 and (tmp_path / "s.png").is_file(), err
        return
    if get(name).evaluation == "samples":  # no likelihood: sample-quality metrics instead
        assert "nll_nats" not in r and r["frechet_distance"] >= 0 and r["n"] == 200
        assert abs(sum(r["class_coverage"]) - 1) < 1e-9 and "not the Inception FID" in r["note"]
    elif name in GREY:  # a density: an NLL below 0 is possible
        assert r["data"] == "mnist-test" and math.isfinite(r["nll_nats"])
    else:
        assert r["nll_nats"] > 0
    code, out, err = run(capsys, "sample", d, "-n", "4", "--out", str(tmp_path / "s.png"))
    assert code == 0 and (tmp_path / "s.png").is_file(), err


def test_joint_on_images_is_refused_politely(capsys, tmp_path):
    code, _, err = run(capsys, "train", "joint", "--data", "shapes", "--out", str(tmp_path))
    assert code == 2 and "2^784 - 1 parameters" in err


# ---- pgm fit / pgm inspect on a user's model file -------------------------------------

MODEL_FILE = '''
import pyro
import pyro.distributions as dist


def model(flips):
    p = pyro.sample("p", dist.Beta(2.0, 2.0))
    with pyro.plate("data", len(flips)) as i:
        pyro.sample("flip", dist.Bernoulli(p), obs=flips[i])


def guide(flips):
    a = pyro.param("a", lambda: flips.new_tensor(1.0), constraint=dist.constraints.positive)
    b = pyro.param("b", lambda: flips.new_tensor(1.0), constraint=dist.constraints.positive)
    pyro.sample("p", dist.Beta(a, b))
'''


@pytest.fixture
def user_files(tmp_path):
    (tmp_path / "coin.py").write_text(MODEL_FILE)
    flips = [1] * 70 + [0] * 30
    (tmp_path / "flips.csv").write_text("flips\n" + "\n".join(map(str, flips)) + "\n")
    return tmp_path


@pytest.mark.slow
def test_fit_then_inspect_a_user_model(capsys, user_files):
    d = user_files / "run"
    code, out, err = run(capsys, "fit", f"{user_files / 'coin.py'}:model", "--data",
                         str(user_files / "flips.csv"), "--out", str(d), "--epochs", "1500",
                         "--lr", "0.05", "--lr-decay", "0.998", "--no-progress")
    assert code == 0, err
    spec = json.loads((d / "program.json").read_text())
    assert spec["guide"] == "guide"  # the file's own guide by default
    assert (d / "best.pt").is_file() and "pgm inspect" in out
    code, out, err = run(capsys, "inspect", str(d), "--num-samples", "400")
    assert code == 0, err
    row = next(line.split() for line in out.splitlines() if line.startswith("p "))
    assert abs(float(row[1]) - 72 / 104) < 0.03  # Beta(72, 32): mean 0.692
    assert "loo (flip): elpd" in out
    # the fitted Beta guide is the exact family: its importance weights are light-tailed
    assert "guide Pareto k-hat" in out and "good: the guide is close" in out, out
    for name in ("summary.csv", "trace.png", "posterior.png", "ppc.png"):
        assert (d / "inspect" / name).stat().st_size > 0
    # an automatic guide by name, and mini-batches, from the same file
    code, _, err = run(capsys, "fit", f"{user_files / 'coin.py'}:model", "--data",
                       str(user_files / "flips.csv"), "--out", str(user_files / "auto"),
                       "--guide", "auto_delta", "--batch-size", "25", "--epochs", "3",
                       "--no-progress")
    assert code == 0, err
    assert json.loads((user_files / "auto" / "program.json").read_text())["guide"] == \
        "auto_delta"


@pytest.mark.parametrize("edit,match", [
    (lambda d: (d / "coin.py").write_text("import nosuchmodule\n"),
     "importing .*coin.py raised ModuleNotFoundError"),
    (lambda d: (d / "flips.csv").write_text("flips,other\n1,2\n0,3\n"),
     r"accepts the keyword arguments \['flips'\], got also \['other'\]"),
    (lambda d: (d / "flips.csv").write_text("flips\n1\nnan\n"), "1 NaN"),
    (lambda d: (d / "flips.csv").write_text("flips\n1\nyes\n"), "line 3: expected a number"),
    (lambda d: (d / "flips.csv").write_text("flips\n1\n3\n"), "site 'flip'"),
])
def test_fit_errors_are_clear_and_write_nothing(capsys, user_files, edit, match):
    edit(user_files)
    d = user_files / "run"
    code, _, err = run(capsys, "fit", f"{user_files / 'coin.py'}:model", "--data",
                       str(user_files / "flips.csv"), "--out", str(d), "--no-progress")
    assert code == 2 and re.search(match, err), err
    assert not d.exists()


def test_fit_with_a_guide_that_does_not_match(capsys, user_files):
    with open(user_files / "coin.py", "a") as f:
        f.write("\n\ndef other(flips):\n    pyro.sample('q', dist.Beta(1.0, 1.0))\n")
    code, _, err = run(capsys, "fit", f"{user_files / 'coin.py'}:model", "--data",
                       str(user_files / "flips.csv"), "--out", str(user_files / "r"),
                       "--guide", "other")
    assert code == 2 and "missing ['p']; not in the model ['q']" in err
    assert not (user_files / "r").exists()


def test_inspect_of_a_directory_that_is_no_fit_run(capsys, tmp_path):
    code, _, err = run(capsys, "inspect", str(tmp_path))
    assert code == 2 and "no program.json" in err


# ---- GANs: adversarial training from the command line -----------------------------------


def test_gan_train_resume_eval_sample(capsys, tmp_path, classifier_cache):
    d = str(tmp_path / "gan")
    args = ["train", "gan", "--data", "shapes", "--limit", "256", "--out", d, "--batch-size",
            "32", "--set", "hidden=[16]", "--set", "latent=4", "--lr-d", "1e-3", "--d-steps",
            "2", "--sample-every", "2", "--no-progress"]
    code, out, err = run(capsys, *args, "--epochs", "1")
    assert code == 0 and "adversarial training" in err and "after 4 generator steps" in out, err
    assert (tmp_path / "gan" / "samples" / "step_000004.png").is_file()
    code, out, err = run(capsys, *args, "--epochs", "2", "--resume")
    assert code == 0 and "after 8 generator steps" in out, err
    ck = checkpoint.load(d, checkpoint.LAST)
    assert ck["train_config"]["lr_d"] == 1e-3 and ck["train_config"]["d_steps"] == 2
    code, out, err = run(capsys, "eval", d, "--data", "shapes", "--limit", "100",
                         "--classifier-cache", str(classifier_cache))
    assert code == 0 and "no likelihood" in out and "not Inception FID" in out, err
    assert re.search(r"classes covered \d/4", out)
    code, _, err = run(capsys, "sample", d, "-n", "9", "--out", str(tmp_path / "g.png"))
    assert code == 0 and (tmp_path / "g.png").is_file(), err


@pytest.mark.parametrize("argv,match", [
    (["train", "gan", "--patience", "3"], "patience: adversarial training has no validation"),
    (["train", "dcgan", "--d-steps", "0"], "d_steps: expected a positive integer, got 0"),
    (["train", "gan", "--set", "loss=wgan"], "loss: expected one of ['ns', 'minimax']"),
    (["train", "vae", "--lr-d", "0.1"], "--lr-d: not a setting of svi training"),
])
def test_gan_errors_are_one_clear_line(capsys, tmp_path, argv, match):
    code, _, err = run(capsys, *argv, "--data", "shapes", "--limit", "64", "--out",
                       str(tmp_path / "r"), "--no-progress")
    assert code == 2 and err.startswith("pgm: error:") and match in err, err


def test_gans_take_binary_pixels_and_captions_from_their_data(capsys, tmp_path):
    d = str(tmp_path / "t2i")
    code, _, err = run(capsys, "train", "text2image", "--data", "shapes", "--limit", "64",
                       "--out", d, "--epochs", "1", "--no-progress", "--set", "width=4",
                       "--set", "latent=4")
    assert code == 0, err
    model, _ = checkpoint.load_model(d)
    assert model.config["pixels"] == "bernoulli" and model.config["captions"] == "shapes"
    assert set(model.sample(8).unique().tolist()) <= {0.0, 1.0}
    code, _, err = run(capsys, "train", "dcgan", "--data", "fashion-mnist", "--limit", "64",
                       "--out", str(tmp_path / "grey"), "--epochs", "1", "--no-progress",
                       "--set", "width=4")
    assert code == 0, err
    assert "pixels" not in checkpoint.load_model(tmp_path / "grey")[0].config  # grey data: x = G(z)


def test_list_a_model_and_the_version(capsys):
    code, out, _ = run(capsys, "list", "vae")
    assert code == 0 and "latent = 50" in out and "hidden = (200, 200)" in out
    assert "training defaults: --lr 0.001" in out
    code, out, _ = run(capsys, "list")
    # one sentence a model, never cut mid-sentence
    assert all(line.rstrip().endswith(".") for line in out.splitlines()), out
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.startswith("pgm ")


def test_out_defaults_to_a_new_run_folder_and_a_grid_beside_the_run(capsys, tmp_path,
                                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "train", "bernoulli", "--data", "shapes", "--limit", "100",
                       "--epochs", "1", "--no-progress")
    assert code == 0, err
    (folder,) = (tmp_path / "runs").iterdir()
    assert folder.name.startswith("bernoulli-") and f"run folder: runs/{folder.name}" in err
    assert (folder / "best.pt").is_file()
    code, out, err = run(capsys, "sample", str(folder), "-n", "4")
    assert code == 0 and (folder / "sample-4-seed0.png").is_file(), err
    code, _, err = run(capsys, "train", "bernoulli", "--resume")
    assert code == 2 and "--resume: expected --out" in err
