"""On-disk embedding cache: the expensive audio pass is paid once per model and preprocessing.

SQLite in WAL mode gives what the harness needs without a server: each batch is one atomic
transaction (a crash or Ctrl-C loses at most the batch in flight, and the next run resumes
from what was committed), and several processes may write the same cache at once.

Layout: ``<root>/<fingerprint>.sqlite`` per adapter fingerprint (delete one file to forget a
model), and ``<root>/files.sqlite`` memoising file content hashes by (path, size, mtime).

Audio embeddings are stored as float32 by default (2 KiB per clip for a 512-d model) because
float16 does not keep metrics identical: with the demo model, float16 rows left the 400 real
ESC-50 clips' accuracy unchanged but flipped one of 360 sound-world clips (accuracy 0.6472 ->
0.6444) and moved the retrieval demo's R@1 (tests/test_cache.py, benchmarks/README.md). A run
may choose float16 (``cache_dtype``, half the size) where that is acceptable; the dtype is part
of the row's namespace (``prep`` key), so a run never reads the other precision's rows, and a run
scores the values as stored, so a first run and its cached re-run are bit-identical. Text
embeddings are few and always float32.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

SCHEMA = """
CREATE TABLE IF NOT EXISTS audio (prep TEXT, clip TEXT, dim INTEGER, vec BLOB, PRIMARY KEY (prep, clip));
CREATE TABLE IF NOT EXISTS text (text TEXT PRIMARY KEY, dim INTEGER, vec BLOB);
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, digest TEXT);
"""


STORE_DTYPES = {"float32": np.float32, "float16": np.float16}


class CacheUnavailable(RuntimeError):
    pass


def as_stored(vec: np.ndarray, dtype: str = "float32") -> np.ndarray:
    """``vec`` as it reads back from the cache (float32 holding the stored precision)."""
    vec = np.asarray(vec, dtype=np.float32)
    return vec if dtype == "float32" else vec.astype(STORE_DTYPES[dtype]).astype(np.float32)


def namespace(prep_key: str, dtype: str) -> str:
    """The ``prep`` column of audio rows: preprocessing plus storage dtype (float32 rows keep
    the bare key, as before float16 existed)."""
    return prep_key if dtype == "float32" else f"{prep_key}|{dtype}"


def _decode(blob: bytes, dim: int) -> np.ndarray:
    """A stored vector as float32; the dtype follows from the blob's length."""
    if len(blob) == 2 * dim:
        return np.frombuffer(blob, dtype=np.float16).astype(np.float32)
    if len(blob) == 4 * dim:
        return np.frombuffer(blob, dtype=np.float32).reshape(dim)
    raise sqlite3.DatabaseError(f"embedding row of {len(blob)} bytes does not hold {dim} values")


def _connect(path: Path, attempts: int = 40) -> sqlite3.Connection:
    """Open (creating if needed) in WAL mode. Switching a new file to WAL takes an exclusive lock
    for which SQLite may answer "database is locked" at once, without its busy timeout, when
    another process (a second --shard rank, a parallel run) opens the same new file at the same
    moment: retry that for a while instead of failing the run."""
    attempt = 0
    while True:
        con = sqlite3.connect(str(path), timeout=60.0, isolation_level=None)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            con.executescript(SCHEMA)
            return con
        except sqlite3.OperationalError as exc:
            con.close()
            attempt += 1
            if "locked" not in str(exc) or attempt == attempts:
                raise
            time.sleep(0.05 * attempt)


def cache_name(fingerprint: str, precision: str = "fp32", compile_backend: str | None = None) -> str:
    """The one rule naming an adapter's cache file: its fingerprint, then what the run's precision
    and compilation add (nothing for fp32 eager)."""
    from zsbench.runtime.compiling import cache_suffix as compiled
    from zsbench.runtime.precision import cache_suffix as at_precision

    return fingerprint + at_precision(precision) + compiled(compile_backend)


def content_key(path: Path) -> str:
    """A clip's cache key: a short hash of its bytes, so a moved or renamed file keeps its
    embeddings (download.file_digest is the checksum of downloads)."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class EmbeddingCache:
    """Audio and text embeddings of one adapter fingerprint.

    A cache that cannot be written (read-only folder, full disk) is reported once and then
    behaves as empty: the run still completes and says in its record that nothing was cached.
    """

    def __init__(self, root: Path | str | None, fingerprint: str):
        self.root = Path(root) if root is not None else None
        self.fingerprint = fingerprint
        self.disabled_reason: str | None = None if root is not None else "disabled (--no-cache)"
        self._con: sqlite3.Connection | None = None
        self._files: sqlite3.Connection | None = None
        if self.root is not None:
            try:
                self.root.mkdir(parents=True, exist_ok=True)
                self._con = _connect(self.root / f"{fingerprint}.sqlite")
                self._files = _connect(self.root / "files.sqlite")
                self._con.execute("BEGIN IMMEDIATE")  # proves we can write, now rather than mid-run
                self._con.execute("COMMIT")
            except (OSError, sqlite3.Error) as exc:
                self._disable(f"cache folder {self.root} is not writable ({exc}); running without a cache. "
                              "Point --cache-dir or ZSBENCH_CACHE at a writable folder to keep embeddings")

    def _disable(self, reason: str) -> None:
        self.disabled_reason = reason
        warnings.warn(reason, RuntimeWarning, stacklevel=3)
        for con in (self._con, self._files):
            if con is not None:
                try:
                    con.close()
                except sqlite3.Error:
                    pass
        self._con = self._files = None

    @property
    def enabled(self) -> bool:
        return self._con is not None

    # -- clip identity -------------------------------------------------------------------
    def clip_keys(self, paths: Sequence[Path], threads: int = 4) -> list[str]:
        """Content hash of each file, so moved or copied datasets still hit the cache.

        Hashes are memoised by (path, size, mtime_ns): a re-run only stats the files.
        """
        stats = [p.stat() for p in paths]
        known: dict[str, tuple[int, int, str]] = {}
        if self._files is not None:
            names = [str(p.resolve()) for p in paths]
            for chunk in _chunks(names, 900):
                q = f"SELECT path, size, mtime_ns, digest FROM files WHERE path IN ({','.join('?' * len(chunk))})"
                known.update({r[0]: (r[1], r[2], r[3]) for r in self._files.execute(q, chunk)})
        else:
            names = [str(p) for p in paths]
        out: list[str | None] = []
        todo = []
        for i, (name, st) in enumerate(zip(names, stats)):
            hit = known.get(name)
            if hit and hit[0] == st.st_size and hit[1] == st.st_mtime_ns:
                out.append(hit[2])
            else:
                out.append(None)
                todo.append(i)
        with ThreadPoolExecutor(max(1, threads)) as pool:
            for i, digest in zip(todo, pool.map(content_key, [paths[i] for i in todo])):
                out[i] = digest
        if todo and self._files is not None:
            rows = [(names[i], stats[i].st_size, stats[i].st_mtime_ns, out[i]) for i in todo]
            self._write(self._files, "INSERT OR REPLACE INTO files VALUES (?,?,?,?)", rows)
        return out  # type: ignore[return-value]

    # -- embeddings ----------------------------------------------------------------------
    def get_audio(self, prep: str, clips: Sequence[str]) -> dict[str, np.ndarray]:
        return self._get("SELECT clip, dim, vec FROM audio WHERE prep = ? AND clip IN ({})", [prep], clips)

    def put_audio(self, prep: str, items: dict[str, np.ndarray], dtype: str = "float32") -> None:
        """Store under ``namespace(preprocessing key, dtype)``: callers pass that as ``prep``."""
        self._put("INSERT OR REPLACE INTO audio VALUES (?,?,?,?)", [prep], items, STORE_DTYPES[dtype])

    def get_text(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        return self._get("SELECT text, dim, vec FROM text WHERE text IN ({})", [], texts)

    def put_text(self, items: dict[str, np.ndarray]) -> None:
        self._put("INSERT OR REPLACE INTO text VALUES (?,?,?)", [], items, np.float32)

    def _get(self, query: str, head: list, keys: Sequence[str]) -> dict[str, np.ndarray]:
        if self._con is None:
            return {}
        found: dict[str, np.ndarray] = {}
        for chunk in _chunks(list(dict.fromkeys(keys)), 900):
            sql = query.format(",".join("?" * len(chunk)))
            for key, dim, blob in self._con.execute(sql, head + chunk):
                found[key] = _decode(blob, dim)
        return found

    def _put(self, sql: str, head: list, items: dict[str, np.ndarray], dtype) -> None:
        if self._con is None or not items:
            return
        rows = [tuple(head) + (k, int(v.shape[-1]), np.ascontiguousarray(v, dtype=dtype).tobytes())
                for k, v in items.items()]
        self._write(self._con, sql, rows)

    def _write(self, con: sqlite3.Connection, sql: str, rows: Iterable[tuple]) -> None:
        try:
            con.execute("BEGIN IMMEDIATE")
            con.executemany(sql, rows)
            con.execute("COMMIT")
        except sqlite3.Error as exc:
            try:
                con.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            self._disable(f"could not write the embedding cache in {self.root} ({exc}); continuing without it")

    def size_report(self) -> dict[str, float]:
        """Audio rows, bytes on disk of this fingerprint's file, and bytes per stored clip."""
        if self._con is None or self.root is None:
            return {"audio_rows": 0, "file_bytes": 0, "bytes_per_clip": 0.0}
        self._con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        rows = self._con.execute("SELECT COUNT(*) FROM audio").fetchone()[0]
        size = (self.root / f"{self.fingerprint}.sqlite").stat().st_size
        return {"audio_rows": rows, "file_bytes": size, "bytes_per_clip": size / rows if rows else 0.0}

    def close(self) -> None:
        for con in (self._con, self._files):
            if con is not None:
                con.close()
        self._con = self._files = None


def _chunks(seq: list, size: int) -> Iterable[list]:
    for i in range(0, len(seq), size):
        yield seq[i:i + size]
