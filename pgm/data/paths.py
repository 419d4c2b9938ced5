"""Where pgm looks for data files, and how it fetches them.

A data directory is resolved in this order:

1. the ``data_dir`` argument (``--data-dir`` on the command line);
2. the environment variable ``PGM_DATA_DIR``;
3. the user cache directory, ``$XDG_CACHE_HOME/pgm`` (default ``~/.cache/pgm``),
   where :func:`download` puts files;
4. ``shared/data`` beside a source checkout of pgm (``<checkout>/../shared/data``).

A missing file raises :class:`~pgm.errors.MissingDataError` naming the file,
every directory searched and how to obtain it.
"""

from __future__ import annotations

import hashlib
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from pgm.errors import DataError, MissingDataError
from pgm.io import atomic_write


def cache_dir() -> Path:
    """The per-user directory where downloaded data sets are kept."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pgm"


def search_dirs(data_dir: str | Path | None = None) -> list[Path]:
    """The directories searched for data files, in order of precedence."""
    if data_dir is not None:
        return [Path(data_dir)]
    dirs = []
    if os.environ.get("PGM_DATA_DIR"):
        dirs.append(Path(os.environ["PGM_DATA_DIR"]))
    dirs.append(cache_dir())
    dirs.append(Path(__file__).resolve().parents[3] / "shared" / "data")
    return dirs


@dataclass(frozen=True)
class Remote:
    """A file's canonical public address and its SHA-256 (``None`` if unpublished)."""

    url: str
    sha256: str | None = None


def find(
    candidates: list[str], data_dir: str | Path | None, *, dataset: str, remote: bool
) -> Path:
    """Return the first existing ``dir/candidate`` over :func:`search_dirs`.

    :param candidates: relative paths to try in each directory, in order.
    :param dataset: the data set's name, for the error message.
    :param remote: whether ``pgm data download`` can fetch this data set.
    """
    dirs = search_dirs(data_dir)
    for d in dirs:
        for c in candidates:
            if (d / c).is_file():
                return d / c
    how = (
        f"run `pgm data download {dataset}` (needs a network), or "
        if remote
        else "place the file there, or "
    )
    raise MissingDataError(
        f"data set {dataset!r}: none of {candidates} found in "
        f"{[str(d) for d in dirs]}; {how}point --data-dir or PGM_DATA_DIR at a directory "
        "that holds it"
    )


def fetch(remote: Remote, dest: Path) -> Path:
    """Download ``remote`` to ``dest`` atomically, checking its SHA-256 when published.

    The file is written beside ``dest`` under a temporary name and renamed only
    once complete and verified, so an interrupted download leaves nothing behind.
    """
    h = hashlib.sha256()
    with atomic_write(dest) as out, urllib.request.urlopen(remote.url) as src:
        for block in iter(lambda: src.read(1 << 20), b""):
            h.update(block)
            out.write(block)
        if remote.sha256 is not None and h.hexdigest() != remote.sha256:
            raise DataError(f"{remote.url}: checksum mismatch, expected sha256 "
                            f"{remote.sha256}, got {h.hexdigest()}")
    return dest
