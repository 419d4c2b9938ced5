"""A seed fixes everything, across fresh processes (this torch seeds each process anew).

Each check runs the same script in two new Python processes and compares what they print
(digests of weights, figures, file bytes) bit for bit; the test suite's own seeding
(conftest) cannot hide anything there.
"""

import subprocess
import sys
import textwrap

import pytest

from pgm.core.program import AUTOGUIDES

HEADER = """
import hashlib, io, json, sys, warnings
warnings.simplefilter("ignore")
import torch, pyro, pyro.distributions as dist
import pgm

def digest(state):
    h = hashlib.sha256()
    for k in sorted(state):
        h.update(k.encode()); h.update(state[k].detach().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]
"""


def twice(script: str, *args: str, cwd=None) -> str:
    """Run ``script`` in two fresh processes; both must print the same, which is returned."""
    outs = []
    for _ in range(2):
        p = subprocess.run([sys.executable, "-c", HEADER + textwrap.dedent(script), *args],
                           capture_output=True, text=True, cwd=cwd, timeout=300)
        assert p.returncode == 0, p.stderr
        outs.append(p.stdout)
    assert outs[0] == outs[1], f"first process:\n{outs[0]}\nsecond process:\n{outs[1]}"
    assert outs[0].strip(), "the script printed nothing to compare"
    return outs[0]


@pytest.mark.slow
def test_api_build_fit_evaluate_sample_and_every_autoguide():
    out = twice(f"""
    train = pgm.data.load("shapes", "train", limit=200)
    m = pgm.build("vae", shape=train.shape, latent=2, hidden=[8], eval_samples=5)
    print("built", digest(m.state_dict()))
    pgm.fit(m, train.x, epochs=2, progress=False, log_every=0)
    print("fitted", digest(m.state_dict()))
    print("nll", pgm.evaluate(m, train.x[:50])["nll_nats"])
    print("nll again", pgm.evaluate(m, train.x[:50])["nll_nats"])
    torch.manual_seed(0)
    print("sample", hashlib.sha256(m.sample(8).numpy().tobytes()).hexdigest()[:16])

    def model(y):
        mu = pyro.sample("mu", dist.Normal(0.0, 10.0))
        s = pyro.sample("s", dist.LogNormal(0.0, 1.0))
        with pyro.plate("data", len(y)) as i:
            pyro.sample("y", dist.Normal(mu, s), obs=y[i])

    y = torch.linspace(-1, 3, 20)
    for guide in {sorted(AUTOGUIDES)!r}:
        fit = pgm.fit(model, guide=guide, data={{"y": y}}, epochs=5, seed=3, progress=False,
                      log_every=0)
        print(guide, digest(fit["model"].state_dict()))
    """)
    lines = dict(line.rsplit(" ", 1) for line in out.strip().splitlines())
    assert lines["nll"] == lines["nll again"]  # importance samples are seeded too
    assert lines["built"] != lines["fitted"]
    assert set(AUTOGUIDES) <= set(lines)


@pytest.mark.slow
def test_cli_train_eval_sample(tmp_path):
    """``pgm train`` twice into two folders: the same weights; eval and sample agree too."""
    out = twice("""
    import os, pathlib, contextlib
    from pgm.cli import main
    from pgm.infer import checkpoint
    run = pathlib.Path(sys.argv[1]) / f"run{os.getpid()}"
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        assert main(["train", "vae", "--data", "shapes", "--limit", "200", "--epochs", "2",
                     "--seed", "0", "--out", str(run), "--no-progress",
                     "--set", "latent=2", "--set", "hidden=[8]", "--set", "eval_samples=5"]) == 0
    for which in ("best.pt", "last.pt"):
        print(which, digest(checkpoint.load(run / which)["state_dict"]))
    for _ in range(2):
        with contextlib.redirect_stdout(io.StringIO()) as f:
            assert main(["eval", str(run), "--split", "valid", "--limit", "100", "--json"]) == 0
        print("eval", json.loads(f.getvalue())["nll_nats"])
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["sample", str(run), "-n", "16", "--out", str(run / "s.png")]) == 0
    print("sample", hashlib.sha256((run / "s.png").read_bytes()).hexdigest()[:16])
    print("grid", hashlib.sha256((run / "samples.png").read_bytes()).hexdigest()[:16])
    """, str(tmp_path))
    evals = [line for line in out.splitlines() if line.startswith("eval")]
    assert len(evals) == 2 and evals[0] == evals[1]


@pytest.mark.parametrize("seed", [-1, 2**32, 2**70, 1.5, True])
def test_bad_seeds_are_refused(seed):
    with pytest.raises(ValueError, match=r"seed: expected an integer in \[0, 2\*\*32\)"):
        pgm_build("bernoulli", seed=seed)


def pgm_build(name, **kw):
    import pgm

    return pgm.build(name, shape=(1, 2, 2), **kw)
