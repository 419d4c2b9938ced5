"""Atomic file writes: a crash leaves the old file or the new one, never a partial one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

#: the suffix of the temporary files :func:`atomic_write` writes beside their target
TMP_SUFFIX = ".tmp"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(path: str | Path) -> Iterator[BinaryIO]:
    """Open a temporary file beside ``path`` for writing; rename it over ``path`` on success.

    If the body raises, the temporary file is removed and ``path`` is untouched. The file
    gets the permissions a plain ``open(path, "w")`` would give (``0o666`` less the
    process's umask), not the ``0o600`` of :func:`tempfile.mkstemp`. A process killed
    mid-write leaves ``<name>.<random>.tmp`` behind; :func:`remove_stale_tmp` cleans
    those up.

    :raises OSError: ``path``'s folder cannot be made or written (``path`` under a file, a
        read-only folder, ...).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=TMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def file_in_the_way(folder: str | Path) -> Path | None:
    """The file, if any, that ``folder`` or one of its parents is instead of a folder (so
    that nothing can be written under it)."""
    folder = Path(folder)
    for parent in (folder, *folder.parents):
        if parent.exists() and not parent.is_dir():
            return parent
    return None


def remove_stale_tmp(folder: str | Path, names: tuple[str, ...]) -> list[Path]:
    """Delete temporary files that an interrupted :func:`atomic_write` of one of ``names``
    left in ``folder``; returns the paths removed.

    Call it only while no other process writes ``folder`` (pgm holds the run's lock).
    """
    folder = Path(folder)
    removed = []
    for name in names:
        for p in folder.glob(f"{name}.*{TMP_SUFFIX}"):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
                removed.append(p)
    return removed
