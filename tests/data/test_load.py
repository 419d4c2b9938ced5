import hashlib

import numpy as np
import pytest
import torch

from pgm import data
from pgm.data import paths, shapes
from pgm.errors import DataError, MissingDataError, UnknownNameError


def test_shapes_is_deterministic_binary_and_labelled():
    a, b = data.load("shapes", "valid"), data.load("shapes", "valid")
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert a.x.shape == (shapes.SIZES["valid"], 784) and a.shape == (1, 28, 28)
    assert set(a.x.unique().tolist()) == {0.0, 1.0}
    assert set(a.y.unique().tolist()) == set(range(len(shapes.CLASSES)))
    assert (a.x.sum(1) > 0).all()  # no blank image
    assert not torch.equal(data.load("shapes", "test").x, a.x)


def test_unknown_names():
    with pytest.raises(UnknownNameError, match="unknown data set 'mnist'.*shapes"):
        data.load("mnist")
    with pytest.raises(ValueError, match="split: expected one of"):
        data.load("shapes", "dev")


def test_binarize_is_seeded():
    g = torch.rand(50, 10)
    assert torch.equal(data.binarize(g, 3), data.binarize(g, 3))
    assert not torch.equal(data.binarize(g, 3), data.binarize(g, 4))
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        data.binarize(g * 255)


def test_missing_file_says_what_where_and_how(tmp_path):
    with pytest.raises(MissingDataError) as e:
        data.load("binarized-mnist", "test", data_dir=tmp_path)
    msg = str(e.value)
    assert "binarized_mnist_test.amat" in msg and str(tmp_path) in msg
    assert "pgm data download binarized-mnist" in msg


def test_search_order(monkeypatch, tmp_path):
    monkeypatch.setenv("PGM_DATA_DIR", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    dirs = paths.search_dirs()
    assert dirs[0] == tmp_path / "env" and dirs[1] == tmp_path / "cache" / "pgm"
    assert paths.search_dirs(tmp_path / "x") == [tmp_path / "x"]


def test_amat_files_are_read(tmp_path):
    rng = np.random.default_rng(0)
    for split, n in (("train", 50_000), ("test", 10_000)):
        rows = rng.integers(0, 2, size=(n, 784)) if split == "test" else np.zeros((3, 784), int)
        np.savetxt(tmp_path / f"binarized_mnist_{split}.amat", rows, fmt="%d")
    ds = data.load("binarized-mnist", "test", data_dir=tmp_path)
    assert ds.x.shape == (10_000, 784) and ds.binary
    with pytest.raises(DataError, match="should hold 50000 images, found 3"):
        data.load("binarized-mnist", "train", data_dir=tmp_path)


def test_download_checks_sha256(tmp_path, monkeypatch):
    src = tmp_path / "src.bin"
    src.write_bytes(b"some bytes")
    good = hashlib.sha256(b"some bytes").hexdigest()
    dest = tmp_path / "out" / "f.bin"
    paths.fetch(paths.Remote(src.as_uri(), good), dest)
    assert dest.read_bytes() == b"some bytes"
    with pytest.raises(DataError, match="checksum mismatch"):
        paths.fetch(paths.Remote(src.as_uri(), "0" * 64), tmp_path / "out" / "g.bin")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["f.bin"]  # nothing partial


# ---- the real data sets (skipped with a reason when absent) ----


def test_binarized_mnist(data_dir):
    for split, n in (("train", 50_000), ("valid", 10_000), ("test", 10_000)):
        ds = data.load("binarized-mnist", split, data_dir)
        assert ds.x.shape == (n, 784) and ds.y is None and ds.binary
        assert set(ds.x[:100].unique().tolist()) == {0.0, 1.0}


@pytest.mark.parametrize("name,sizes", [("mnist-test", (8000, 1000, 1000)),
                                        ("fashion-mnist", (50_000, 10_000, 10_000))])
def test_grey_labelled(data_dir, name, sizes):
    for split, n in zip(("train", "valid", "test"), sizes, strict=True):
        ds = data.load(name, split, data_dir)
        assert ds.x.shape == (n, 784) and ds.y.shape == (n,) and not ds.binary
        assert 0 <= ds.x.min() and ds.x.max() <= 1 and set(ds.y.unique().tolist()) == set(range(10))
    b = data.load(name, "test", data_dir, binarize=True)
    assert b.binary and set(b.x.unique().tolist()) == {0.0, 1.0}
    # Bernoulli(grey) keeps the mean grey level
    assert abs(b.x.mean() - ds.x.mean()) < 0.01
