"""The folder of a training run: claimed by one process, never overwritten by accident.

A run folder holds ``last.pt`` (to resume from), ``best.pt`` (to use) and what the
trainer draws. :func:`claim` is held for as long as a trainer writes there:

* a folder that already holds a run is refused unless the caller resumes it
  (``resume=True``, ``--resume``) or means to replace it (``overwrite=True``,
  ``--overwrite``; the old run's files are then deleted first);
* an exclusive lock (``.lock``, ``fcntl.flock``) keeps a second process out while the
  first writes; the operating system releases it when the process ends, however it ends
  (a ``.lock`` file left by a killed process holds no lock and is taken over);
* temporary files left by a write that was killed midway (:func:`pgm.io.atomic_write`)
  are removed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from pgm.errors import PGMError
from pgm.io import file_in_the_way, remove_stale_tmp

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock, the other checks still apply
    fcntl = None

LOCK = ".lock"
#: what a run writes; ``overwrite=True`` deletes these
RUN_FILES = ("last.pt", "best.pt", "samples.png", "run.json", "program.json")
RUN_FOLDERS = ("samples",)

# folders this process holds, with how many nested claims hold each
_held: dict[Path, list] = {}


class RunDirError(PGMError, OSError):
    """A run folder that cannot be used: a file in the way, not writable, in use, or
    holding another run."""


def holds_run(out: Path) -> bool:
    """Whether ``out`` holds a run's checkpoint."""
    return any((out / name).is_file() for name in ("last.pt", "best.pt"))


def _prepare(out: Path, flag: str) -> None:
    blocker = file_in_the_way(out)
    if blocker is not None:
        what = "is" if blocker == out else f"lies under {blocker}, which is"
        raise RunDirError(f"{flag}: expected a folder for the run, but {out} {what} a file")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RunDirError(f"{flag}: cannot make the run folder {out}: {e.strerror or e}") from e
    if not os.access(out, os.W_OK | os.X_OK):
        raise RunDirError(f"{flag}: the run folder {out} is not writable")


def _lock(out: Path, flag: str):
    """Open and lock ``out/.lock``; the lock file is removed again by :func:`_unlock`.

    A lock taken on a file that its holder removed meanwhile is worthless, so the file
    locked must still be the one at the path (the usual check of lock files that are
    deleted on release); otherwise try again.
    """
    for _ in range(100):
        try:
            f = open(out / LOCK, "a+")  # noqa: SIM115 - held until release
        except OSError as e:
            raise RunDirError(f"{flag}: cannot write in the run folder {out}: "
                              f"{e.strerror or e}") from e
        if fcntl is None:
            break
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.seek(0)
            pid = f.read().strip() or "unknown"
            f.close()
            raise RunDirError(f"{flag}: {out} is in use by another pgm process (pid {pid}); "
                              "wait for it to finish, or choose another folder") from None
        try:
            if os.stat(out / LOCK).st_ino == os.fstat(f.fileno()).st_ino:
                break
        except FileNotFoundError:
            pass
        f.close()
    f.seek(0)
    f.truncate()
    f.write(str(os.getpid()))
    f.flush()
    return f


def _unlock(out: Path, f) -> None:
    with contextlib.suppress(FileNotFoundError):
        (out / LOCK).unlink()  # while still held: a waiting process then sees a new file
    f.close()


def _clear(out: Path) -> None:
    for name in RUN_FILES:
        with contextlib.suppress(FileNotFoundError):
            (out / name).unlink()
    for name in RUN_FOLDERS:
        shutil.rmtree(out / name, ignore_errors=True)


@contextlib.contextmanager
def claim(out: str | Path | None, *, resume: bool = False, overwrite: bool = False,
          flag: str = "out") -> Iterator[Path | None]:
    """Hold the run folder ``out`` for the body: made if missing, locked, checked.

    Nested claims of one folder by one process (the CLI, then the trainer it calls) share
    the lock; only the outermost checks for an existing run.

    :param out: the folder, or ``None`` (nothing is written; nothing to claim).
    :param resume: the body continues the run already there.
    :param overwrite: delete an existing run's files (:data:`RUN_FILES`) first.
    :param flag: how the caller names ``out`` in messages (``"out"``, ``"--out"``).
    :raises RunDirError: ``out`` is a file or lies under one, cannot be made or written,
        is held by another process, or holds a run and neither ``resume`` nor
        ``overwrite`` is set.
    :raises ValueError: both ``resume`` and ``overwrite``.
    """
    if out is None:
        yield None
        return
    if resume and overwrite:
        raise ValueError("resume, overwrite: expected at most one of them, got both")
    out = Path(out)
    key = out.resolve()
    if key in _held:
        _held[key][1] += 1
        try:
            yield out
        finally:
            _held[key][1] -= 1
        return
    _prepare(out, flag)
    f = _lock(out, flag)
    _held[key] = [f, 1]
    try:
        remove_stale_tmp(out, RUN_FILES)
        if not resume and holds_run(out):
            if not overwrite:
                raise RunDirError(
                    f"{flag}: {out} already holds a run; continue it with --resume "
                    "(resume=True), replace it with --overwrite (overwrite=True), or choose "
                    "another folder")
            _clear(out)
        yield out
    finally:
        del _held[key]
        _unlock(out, f)
