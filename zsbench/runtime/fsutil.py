"""Atomic file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows.

    Linux shows it in ``/proc/self/status``. Elsewhere the only way is ``os.umask``, which sets
    it while reading it; that round trip is process-global, so it runs under a lock and sets the
    most restrictive mask (077) for its instant: a file another thread creates meanwhile gets
    fewer permissions, never more."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


@contextmanager
def atomic_write(path: Path | str, mode: str = "w") -> Iterator[IO]:
    """Write to a temporary file beside ``path``, fsync, then rename over ``path``.

    The file gets the permissions a plain ``open(path, "w")`` would (0666 less the umask, e.g.
    0644 under umask 022), not the temporary file's private 0600, so a colleague sharing a
    results folder can read it; a replaced file gets them too."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": ""})) as f:
            yield f
            f.flush()
            if hasattr(os, "fchmod"):  # POSIX; Windows has no such permission bits
                os.fchmod(f.fileno(), 0o666 & ~current_umask())
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_alias(source: Path | str, alias: Path | str) -> None:
    """Make ``alias`` name the same file as ``source``, replacing any old ``alias`` atomically.

    A hard link, so a training run's ``last.pt`` costs no second copy of a checkpoint that can
    be gigabytes (optimizer state included); where the filesystem has no hard links it falls
    back to a full atomic copy."""
    source, alias = Path(source), Path(alias)
    tmp = alias.with_name(f".{alias.name}.{os.getpid()}.link")
    try:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        try:
            os.link(source, tmp)
        except OSError:
            with open(source, "rb") as src, atomic_write(alias, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 24)
            return
        os.replace(tmp, alias)
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass
