"""Every benchmark runs as written in its --smoke mode, and a smoke run records nothing."""

import hashlib
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
