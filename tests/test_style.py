"""The code passes ruff (the linter named in the test extra)."""

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_clean():
    # a failure, not a skip: the test extra installs ruff, so its absence is a broken setup
    assert importlib.util.find_spec("ruff") is not None, \
        "ruff is not installed: pip install -e '.[test]'"
    cmd = [sys.executable, "-m", "ruff", "check", "pgm", "tests", "examples", "benchmarks"]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
