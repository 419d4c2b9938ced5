"""Every benchmark runs as written in its --smoke mode, and a smoke run records nothing."""

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(p for p in (ROOT / "benchmarks").glob("*.py")
                 if "--smoke" in p.read_text())


def snapshot() -> dict[str, str]:
    """Hashes of the recorded results and the figures the docs show."""
    files = [*(ROOT / "benchmarks" / "results").glob("*.json"),
             *(ROOT / "docs" / "figures").glob("*.png")]
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_benchmark_smoke(script, tmp_path, data_dir, classifier_cache):
    usage = subprocess.run([sys.executable, str(script), "--help"], capture_output=True,
                           text=True, timeout=120, cwd=tmp_path).stdout
    options = set(re.findall(r"(--[a-z-]+)", usage))
    args = [sys.executable, str(script), "--smoke", "--data-dir", str(data_dir)]
    if "--out" in options:
        args += ["--out", str(tmp_path / "out")]
    if "--classifier-cache" in options:
        args += ["--classifier-cache", str(classifier_cache)]
    before = snapshot()
    r = subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert snapshot() == before, "a smoke run changed recorded results or figures"


def test_there_are_benchmarks_with_a_smoke_mode():
    assert len(SCRIPTS) >= 10


def run_script(name: str, *args: str, cwd: Path, ok: bool = True
               ) -> subprocess.CompletedProcess:
    """``benchmarks/name --smoke args``; asserts that it succeeded (or failed, ``ok=False``)."""
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / name), "--smoke", *args],
                       capture_output=True, text=True, timeout=300, cwd=cwd)
    assert (r.returncode == 0) == ok, r.stderr[-3000:]
    return r


@pytest.mark.slow
def test_vae_warm_start_is_recorded_with_the_run(tmp_path, data_dir):
    # a k=50 IWAE started from a k=5 one: the run keeps where it started, and for how long
    # that run trained, so that a resumed run still records both
    net = ["--latent", "8", "4", "--hidden", "16", "--hidden2", "8", "--objective", "iwae",
           "--data-dir", str(data_dir), "--out", str(tmp_path)]
    run_script("vae.py", *net, "--particles", "2", "--test-samples", "0", cwd=tmp_path)
    first = tmp_path / "vae-iwae2-normal-16-z8-4"
    run_script("vae.py", *net, "--particles", "5", "--init-from", str(first), cwd=tmp_path)
    warm = json.loads((tmp_path / "vae-iwae5-normal-16-z8-4" / "warm_start.json").read_text())
    assert warm["warm_start"] == "vae-iwae2-normal-16-z8-4, 1 epochs"
    assert warm["seconds"] > 0
    assert warm["commands"] == (first / "commands.txt").read_text().splitlines()
    # another network's weights are refused by name
    r = run_script("vae.py", "--latent", "8", "--hidden", "16", "--init-from", str(first),
                   "--data-dir", str(data_dir), "--out", str(tmp_path), cwd=tmp_path, ok=False)
    assert "--init-from: " in r.stderr and "another network" in r.stderr


def test_progressive_gan_benchmark_runs(tmp_path, data_dir, classifier_cache):
    r = run_script("gan.py", "--model", "progan", "--data-dir", str(data_dir), "--out",
                   str(tmp_path), "--classifier-cache", str(classifier_cache), cwd=tmp_path)
    assert "progan {" in r.stdout and "'phase': 100" in r.stdout


def test_infogan_screening_reads_no_test_images(tmp_path, data_dir):
    r = run_script("infogan.py", "--screen", "--data-dir", str(data_dir), "--out",
                   str(tmp_path), cwd=tmp_path)
    assert "valid error" in r.stdout
    assert "test" not in r.stdout


def test_the_targets_table_picks_a_run_by_its_validation_figure():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import report
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))

    def rec(cmd, split, value, model="infogan"):
        return {"model": model, "config": {"seed": cmd}, "data": "d", "split": split,
                "metric": "unsupervised_error", "value": value, "unit": "fraction",
                "command": f"run {cmd}"}

    row = next(line for line in report._targets([
        rec(1, "valid", 0.20), rec(1, "test", 0.04),  # lucky on test, worse on valid
        rec(2, "valid", 0.10), rec(2, "test", 0.07)]) if line.startswith("| InfoGAN"))
    assert "| 0.07 fraction |" in row and "`run 2`" in row
    # runs without a validation figure: the best measured one
    row = next(line for line in report._targets([rec(1, "test", 0.04), rec(2, "test", 0.07)])
               if line.startswith("| InfoGAN"))
    assert "| 0.04 fraction |" in row


def test_stargan_translation_benchmark_runs(tmp_path, data_dir):
    r = run_script("translation.py", "--model", "stargan", "--data-dir", str(data_dir),
                   "--out", str(tmp_path), cwd=tmp_path)
    assert "l1_plain_to_inverted" in r.stdout and "l1_unchanged_mean" in r.stdout
