"""The embedding cache: hits, resume after a crash, concurrent writers, read-only folders."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from zsbench.cache import EmbeddingCache


def vecs(keys, dim=8, seed=0):
    rng = np.random.default_rng(seed)
    return {k: rng.standard_normal(dim).astype(np.float32) for k in keys}


def test_roundtrip_and_namespaces(tmp_path):
    cache = EmbeddingCache(tmp_path, "fp1")
    items = vecs(["a", "b"])
    cache.put_audio("prepA", items)
    got = cache.get_audio("prepA", ["a", "b", "c"])
    assert set(got) == {"a", "b"}
    np.testing.assert_array_equal(got["a"], items["a"])
    assert cache.get_audio("prepB", ["a"]) == {}  # other preprocessing: miss
    assert EmbeddingCache(tmp_path, "fp2").get_audio("prepA", ["a"]) == {}  # other model: miss
    cache.put_text({"a dog": items["a"]})
    np.testing.assert_array_equal(cache.get_text(["a dog"])["a dog"], items["a"])


def test_clip_keys_follow_content_not_path(tmp_path):
    a = tmp_path / "a.wav"
    a.write_bytes(b"same bytes")
    b = tmp_path / "sub" / "b.wav"
    b.parent.mkdir()
    shutil.copy(a, b)
    c = tmp_path / "c.wav"
    c.write_bytes(b"other bytes")
    cache = EmbeddingCache(tmp_path / "cache", "fp")
    ka, kb, kc = cache.clip_keys([a, b, c])
    assert ka == kb != kc
    a.write_bytes(b"changed!!!")  # new content (and size): a new key, not a stale hit
    assert cache.clip_keys([a])[0] != ka


def test_uncommitted_batch_is_lost_committed_ones_survive(tmp_path):
    """A crash between batches loses only the batch in flight."""
    cache = EmbeddingCache(tmp_path, "fp")
    cache.put_audio("p", vecs(["a", "b"]))
    con = cache._con
    con.execute("BEGIN IMMEDIATE")
    con.execute("INSERT INTO audio VALUES ('p', 'c', 8, ?)", (np.zeros(8, np.float32).tobytes(),))
    # the process dies here: never committed
    con.close()
    cache._con = None
    again = EmbeddingCache(tmp_path, "fp")
    assert set(again.get_audio("p", ["a", "b", "c"])) == {"a", "b"}


WRITER = """
import sys, numpy as np
from zsbench.cache import EmbeddingCache
root, worker = sys.argv[1], int(sys.argv[2])
cache = EmbeddingCache(root, "fp")
for i in range(40):
    shared = np.random.default_rng(0).standard_normal(8).astype(np.float32)
    cache.put_audio("p", {f"w{worker}-{i}": np.full(8, worker, np.float32), "shared": shared})
"""


def test_concurrent_writers_corrupt_nothing(tmp_path):
    import subprocess
    import sys

    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), str(w)]) for w in range(4)]
    assert [p.wait(120) for p in procs] == [0, 0, 0, 0]
    cache = EmbeddingCache(tmp_path, "fp")
    keys = [f"w{w}-{i}" for w in range(4) for i in range(40)] + ["shared"]
    got = cache.get_audio("p", keys)
    assert len(got) == len(keys)
    assert all((got[f"w{w}-{i}"] == w).all() for w in range(4) for i in range(40))
    np.testing.assert_array_equal(got["shared"], np.random.default_rng(0).standard_normal(8).astype(np.float32))
    assert cache._con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_read_only_folder_warns_and_runs_without_cache(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        if os.access(ro, os.W_OK):  # root ignores permission bits: make the folder unusable instead
            ro.chmod(0o755)
            (ro / "fp.sqlite").mkdir()
        with pytest.warns(RuntimeWarning, match="not writable.*--cache-dir or ZSBENCH_CACHE"):
            cache = EmbeddingCache(ro, "fp")
        assert not cache.enabled and str(ro) in cache.disabled_reason
        cache.put_audio("p", vecs(["a"]))  # a no-op, not a crash
        assert cache.get_audio("p", ["a"]) == {}
    finally:
        ro.chmod(0o755)


def test_damaged_cache_file_is_reported_not_fatal(tmp_path):
    (tmp_path / "fp.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.warns(RuntimeWarning, match="running without a cache"):
        cache = EmbeddingCache(tmp_path, "fp")
    assert not cache.enabled


def test_no_cache(tmp_path):
    cache = EmbeddingCache(None, "fp")
    assert not cache.enabled and cache.disabled_reason
    assert cache.get_audio("p", ["a"]) == {}

