"""Atomic writes: the old file or the new one, never half of one."""

import os
import stat

import pytest

from pgm.io import atomic_write, file_in_the_way, remove_stale_tmp


def test_writes_the_new_file_and_leaves_nothing_else(tmp_path):
    path = tmp_path / "sub" / "f.bin"  # folders are made
    with atomic_write(path) as f:
        f.write(b"new")
    assert path.read_bytes() == b"new" and os.listdir(path.parent) == ["f.bin"]


def test_a_failing_body_leaves_the_old_file(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_write(path) as f:
        f.write(b"half")
        raise RuntimeError("crash")
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["f.bin"]


@pytest.mark.parametrize("mask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_permissions_follow_the_umask(tmp_path, mask, mode):
    old = os.umask(mask)
    try:
        with atomic_write(tmp_path / "f") as f:
            f.write(b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f").stat().st_mode) == mode


def test_stale_temporaries_of_named_files_only(tmp_path):
    for name in ("last.pt.x1.tmp", "best.pt.y2.tmp", "other.z3.tmp", "last.pt"):
        (tmp_path / name).write_bytes(b"")
    removed = remove_stale_tmp(tmp_path, ("last.pt", "best.pt"))
    assert sorted(p.name for p in removed) == ["best.pt.y2.tmp", "last.pt.x1.tmp"]
    assert sorted(os.listdir(tmp_path)) == ["last.pt", "other.z3.tmp"]


def test_file_in_the_way(tmp_path):
    (tmp_path / "f").write_text("x")
    assert file_in_the_way(tmp_path / "f" / "a" / "b") == tmp_path / "f"
    assert file_in_the_way(tmp_path / "d" / "e") is None
