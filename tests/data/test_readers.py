import gzip
import struct

import numpy as np
import pytest

from pgm.data import readers
from pgm.errors import DataError


def write_idx(path, arr: np.ndarray, gz: bool):
    header = bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    opener = gzip.open if gz else open
    with opener(path, "wb") as f:
        f.write(header + arr.astype(np.uint8).tobytes())


@pytest.mark.parametrize("gz", [True, False])
def test_idx_round_trip(tmp_path, gz):
    arr = np.random.default_rng(0).integers(0, 256, size=(5, 4, 3), dtype=np.uint8)
    path = tmp_path / ("a.idx.gz" if gz else "a.idx")
    write_idx(path, arr, gz)
    np.testing.assert_array_equal(readers.read_idx(path), arr)


def test_idx_truncated_is_a_clear_error(tmp_path):
    arr = np.zeros((5, 4, 3), dtype=np.uint8)
    write_idx(tmp_path / "a.idx", arr, gz=False)
    raw = (tmp_path / "a.idx").read_bytes()
    (tmp_path / "a.idx").write_bytes(raw[:-7])
    with pytest.raises(DataError, match="truncated"):
        readers.read_idx(tmp_path / "a.idx")


def test_idx_bad_magic(tmp_path):
    (tmp_path / "x").write_bytes(b"hello world")
    with pytest.raises(DataError, match="not an IDX file"):
        readers.read_idx(tmp_path / "x")


def test_amat(tmp_path):
    rows = np.random.default_rng(1).integers(0, 2, size=(3, 784))
    (tmp_path / "a.amat").write_text("\n".join(" ".join(map(str, r)) for r in rows) + "\n")
    np.testing.assert_array_equal(readers.read_amat(tmp_path / "a.amat"), rows)


def test_amat_non_binary(tmp_path):
    (tmp_path / "a.amat").write_text("0 1 2\n")
    with pytest.raises(DataError, match="binary"):
        readers.read_amat(tmp_path / "a.amat")


def test_npz_missing_key_and_corrupt(tmp_path):
    np.savez(tmp_path / "d.npz", train=np.zeros((2, 3)))
    np.testing.assert_array_equal(readers.read_npz(tmp_path / "d.npz", "train"), 0)
    with pytest.raises(DataError, match="no array 'test'"):
        readers.read_npz(tmp_path / "d.npz", "test")
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(DataError, match="cannot read"):
        readers.read_npz(tmp_path / "bad.npz", "train")


def test_read_table_csv_and_npz(tmp_path):
    from pgm.data.readers import read_table

    (tmp_path / "t.csv").write_text("x,y\n1,0.5\n2,-1e3\n")
    t = read_table(tmp_path / "t.csv")
    assert list(t) == ["x", "y"] and t["x"].tolist() == [1.0, 2.0]
    assert t["y"].tolist() == [0.5, -1000.0]
    np.savez(tmp_path / "t.npz", a=np.arange(3), b=np.ones((2, 2)))
    t = read_table(tmp_path / "t.npz")
    assert t["a"].dtype.kind == "i" and t["b"].shape == (2, 2)
    for text, match in (("x,x\n1,2\n", "distinct column names"), ("x\n", "at least one"),
                        ("x,y\n1\n", "line 2: expected 2 values, got 1"),
                        ("x\n1\n\n \n,\n", "expected 1 values, got 2")):
        (tmp_path / "b.csv").write_text(text)
        with pytest.raises(DataError, match=match):
            read_table(tmp_path / "b.csv")
    (tmp_path / "t.txt").write_text("x\n1\n")
    with pytest.raises(DataError, match="expected a .csv or .npz file, got 't.txt'"):
        read_table(tmp_path / "t.txt")
    with pytest.raises(DataError, match="does not exist"):
        read_table(tmp_path / "missing.csv")
