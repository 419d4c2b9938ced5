"""Readers for the standard public formats of image data sets.

* IDX (LeCun et al.): ``*-idx3-ubyte`` images and ``*-idx1-ubyte`` labels, gzipped or not;
* ``.amat`` text (Larochelle & Murray, 2011): one image a line, space-separated 0/1;
* ``.npz``: NumPy archives with one array per split.
"""

from __future__ import annotations

import gzip
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from pgm.errors import DataError

_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped) into an array of its declared shape."""
    path = Path(path)
    try:
        with _open(path) as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise DataError(f"{path}: cannot read IDX file ({e}); the file may be truncated") from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise DataError(f"{path}: not an IDX file (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    body = raw[4 + 4 * ndim :]
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(body) != expected:
        raise DataError(
            f"{path}: IDX header declares shape {shape} ({expected} bytes) but the file holds "
            f"{len(body)} bytes; the file is truncated or corrupt"
        )
    return np.frombuffer(body, dtype=dtype).reshape(shape).copy()


def read_amat(path: str | Path) -> np.ndarray:
    """Read a binarized-MNIST ``.amat`` text file into a ``uint8`` array (n, 784)."""
    path = Path(path)
    try:
        arr = np.loadtxt(path, dtype=np.uint8, ndmin=2)
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: cannot parse as .amat (rows of 0/1 values): {e}") from e
    if arr.size == 0:
        raise DataError(f"{path}: the .amat file holds no rows")
    if arr.max() > 1:
        raise DataError(f"{path}: expected binary 0/1 entries, found value {int(arr.max())}")
    return arr


def read_npz(path: str | Path, key: str) -> np.ndarray:
    """Read one array ``key`` from an ``.npz`` archive."""
    path = Path(path)
    try:
        with np.load(path) as archive:
            if key not in archive.files:
                raise DataError(f"{path}: no array {key!r}; the archive has {archive.files}")
            return archive[key]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise DataError(f"{path}: cannot read .npz archive ({e}); it may be truncated") from e


def read_table(path: str | Path) -> dict[str, np.ndarray]:
    """Read a user's data file into named arrays: the keyword arguments of a model.

    * ``.csv``: a header row of column names, then one row per record; each column
      becomes a 1-D float array (a model indexes with ``column.long()``);
    * ``.npz``: every array of the archive, under its own name.

    :raises DataError: the file is missing, of another format or unparsable; a CSV
        with an empty cell or a non-numeric entry (named by column and row).
    """
    path = Path(path)
    if path.is_dir():
        raise DataError(f"data: expected a .csv or .npz file, got the folder {path}")
    if not path.is_file():
        raise DataError(f"data: {path} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        try:
            with np.load(path) as archive:
                return {k: archive[k] for k in archive.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
            raise DataError(f"data: cannot read {path} as .npz ({e})") from e
    if suffix != ".csv":
        raise DataError(f"data: expected a .csv or .npz file, got {path.name!r}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise DataError(f"data: {path} is not a UTF-8 text CSV file ({e.reason} at byte "
                        f"{e.start})") from e
    lines = [ln.rstrip("\r\n") for ln in text.splitlines() if ln.strip()]
    if len(lines) < 2:
        raise DataError(f"data: {path} needs a header row and at least one record")
    names = [c.strip() for c in lines[0].split(",")]
    if len(set(names)) != len(names) or not all(n.isidentifier() for n in names):
        raise DataError(f"data: {path}: expected distinct column names that are Python "
                        f"identifiers, got {names}")
    cols: list[list[str]] = [[] for _ in names]
    for row, line in enumerate(lines[1:], start=2):
        cells = [c.strip() for c in line.split(",")]
        if len(cells) != len(names):
            raise DataError(f"data: {path} line {row}: expected {len(names)} values, "
                            f"got {len(cells)}")
        for col, cell in zip(cols, cells, strict=True):
            col.append(cell)
    out = {}
    for name, col in zip(names, cols, strict=True):
        bad = next((i for i, c in enumerate(col) if not _is_float(c)), None)
        if bad is not None:
            raise DataError(f"data: {path} column {name!r} line {bad + 2}: expected a "
                            f"number, got {col[bad]!r}")
        out[name] = np.array([float(c) for c in col])
    return out


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def with_extras(table: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """A data file's columns and further keyword arguments (``--set``) as one dict.

    :raises DataError: an extra argument would replace a column of the file.
    """
    both = sorted(set(table) & set(extra))
    if both:
        raise DataError(f"set: {both[0]!r} is already a column of the data file; leave one "
                        "of them out")
    return {**table, **extra}
