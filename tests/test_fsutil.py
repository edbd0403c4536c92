"""zsbench.runtime.fsutil.atomic_write: files get the permissions the user's umask gives (a colleague
sharing a results folder can read them), not the temporary file's private 0600."""

from __future__ import annotations

import os
import stat
import sys
from contextlib import contextmanager

import pytest

from zsbench.runtime import fsutil
from zsbench.runtime.fsutil import atomic_write, current_umask

pytestmark = pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX permission bits")


@contextmanager
def umask(mask: int):
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask,expected", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_new_file_gets_the_umask_permissions(tmp_path, mask, expected):
    with umask(mask):
        with atomic_write(tmp_path / "record.json") as f:
            f.write("{}")
        with atomic_write(tmp_path / "preds.parquet", "wb") as f:
            f.write(b"\0")
    assert mode_of(tmp_path / "record.json") == expected
    assert mode_of(tmp_path / "preds.parquet") == expected


@pytest.mark.parametrize("mask,expected", [(0o022, 0o644), (0o027, 0o640)])
def test_replaced_file_gets_the_umask_permissions(tmp_path, mask, expected):
    path = tmp_path / "board.html"
    path.write_text("old")
    path.chmod(0o600)  # as atomic_write used to leave it
    with umask(mask):
        with atomic_write(path) as f:
            f.write("new")
    assert path.read_text() == "new" and mode_of(path) == expected
    assert [p.name for p in tmp_path.iterdir()] == ["board.html"]  # no temporary file left


@pytest.mark.parametrize("proc", [True, False], ids=["proc-status", "umask-round-trip"])
def test_reading_the_umask_leaves_it_as_it_was(monkeypatch, proc):
    if not proc:  # no /proc (macOS, BSD): the os.umask round trip under the lock
        def no_proc(*args, **kwargs):
            raise FileNotFoundError(args[0])
        monkeypatch.setattr(fsutil, "open", no_proc, raising=False)
    elif not os.path.exists("/proc/self/status"):
        pytest.skip("no /proc/self/status here")
    with umask(0o027):
        assert current_umask() == 0o027
        assert current_umask() == 0o027
        assert os.umask(0o027) == 0o027  # unchanged by the reads


def test_atomic_alias_links_and_falls_back_to_a_copy(tmp_path, monkeypatch):
    """A training run's last.pt names its newest checkpoint without a second copy of it; on a
    filesystem without hard links it is a whole copy, never a half-written one."""
    first, second, alias = tmp_path / "step-1.pt", tmp_path / "step-2.pt", tmp_path / "last.pt"
    first.write_bytes(b"one")
    second.write_bytes(b"two")
    fsutil.atomic_alias(first, alias)
    assert os.path.samefile(alias, first)
    fsutil.atomic_alias(second, alias)
    assert os.path.samefile(alias, second) and first.read_bytes() == b"one"

    def no_links(*args, **kwargs):
        raise OSError("hard links not supported")

    monkeypatch.setattr(fsutil.os, "link", no_links)
    fsutil.atomic_alias(first, alias)
    assert alias.read_bytes() == b"one" and not os.path.samefile(alias, first)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt", "step-1.pt", "step-2.pt"]
