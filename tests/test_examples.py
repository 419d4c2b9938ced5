"""Every example runs as written, in its --smoke mode."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import real_data_dir

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_smoke(script, tmp_path):
    if "NEEDS_DATA = True" in script.read_text() and real_data_dir() is None:
        pytest.skip(f"{script.name} reads real data: set PGM_DATA_DIR")
    r = subprocess.run([sys.executable, str(script), "--smoke", "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert any(tmp_path.rglob("*.png")), "an example writes at least one figure"


def test_there_are_examples():
    assert EXAMPLES
