"""Where data is looked for, in order, and what a missing file says."""

from pathlib import Path

import pytest

from pgm.data import paths
from pgm.errors import MissingDataError


def test_search_order(monkeypatch, tmp_path):
    monkeypatch.setenv("PGM_DATA_DIR", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    # a folder the user names is the only one searched
    assert paths.search_dirs(tmp_path / "given") == [tmp_path / "given"]
    dirs = paths.search_dirs()
    assert dirs[:2] == [tmp_path / "env", tmp_path / "cache" / "pgm"]
    # last: shared/data beside the checkout (this file lives in <checkout>/tests/data)
    assert dirs[2] == Path(__file__).resolve().parents[3] / "shared" / "data"
    monkeypatch.delenv("PGM_DATA_DIR")
    assert paths.search_dirs()[0] == tmp_path / "cache" / "pgm"


def test_find_takes_the_first_directory_that_has_the_file(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("PGM_DATA_DIR", raising=False)
    monkeypatch.setenv("PGM_DATA_DIR", str(tmp_path / "env"))
    for d in ("env", "cache/pgm"):
        (tmp_path / d).mkdir(parents=True)
        (tmp_path / d / "b.npz").write_bytes(b"x")
    (tmp_path / "cache/pgm/a.npz").write_bytes(b"x")
    # every candidate in one directory before the next directory, in search order
    assert paths.find(["a.npz", "b.npz"], None, dataset="d",
                      remote=False) == tmp_path / "env" / "b.npz"
    assert paths.find(["a.npz"], None, dataset="d", remote=False) == tmp_path / "cache/pgm/a.npz"


@pytest.mark.parametrize("remote,advice", [(True, "pgm data download d"),
                                           (False, "place the file there")])
def test_a_missing_file_says_where_it_looked_and_what_to_do(monkeypatch, tmp_path, remote,
                                                            advice):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(MissingDataError, match="none of \\['z.npz'\\] found in") as e:
        paths.find(["z.npz"], tmp_path / "given", dataset="d", remote=remote)
    assert str(tmp_path / "given") in str(e.value) and advice in str(e.value)
