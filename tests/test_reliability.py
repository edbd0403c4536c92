"""Reliability: SIGKILL at random points of a run and of a sweep, four runs at once on one cache
and one results store, a full disk. Every case runs the real ``zsbench`` command in a
subprocess on real ESC-50 clips, with a tiny transformers CLAP (seeded random weights,
``zsbench.testing.models``) so that a run takes seconds. What must hold each time: the next run
completes with exactly the metrics of an uninterrupted run, every stored record is valid and
right, and the cache's SQLite files pass their integrity check.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from zsbench.evaluation.results import ResultsStore

N_CLIPS = 40
KILLS = 4


@pytest.fixture(scope="module")
def setup(hf_cache, clip_set, tmp_path_factory):
    """(tiny CLAP folder, folder-task CSV, reference metrics of an uninterrupted run without a cache)."""
    import zsbench
    from zsbench.testing.models import esc50_table, save_tiny_clap

    base = tmp_path_factory.mktemp("reliability")
    folder = save_tiny_clap(base / "clap")
    table = esc50_table(clip_set.spread(N_CLIPS), base / "esc.csv")
    ref = zsbench.evaluate(model="hf-clap", checkpoint=str(folder), task="folder", data_root=table, store=False,
                           use_cache=False, workers=0)
    return folder, table, ref.record.metrics


def _cmd(setup, tmp_path: Path, *extra: str) -> list[str]:
    folder, table, _ = setup
    return [sys.executable, "-m", "zsbench.cli", *extra, "--model", "hf-clap", "--checkpoint", str(folder),
            "--task", "folder", "--data-root", table, "--batch-size", "4", "--workers", "0", "--quiet",
            "--cache-dir", str(tmp_path / "cache"), "--results", str(tmp_path / "results")]


def _check_cache(root: Path) -> None:
    for db in root.glob("*.sqlite"):
        con = sqlite3.connect(db)
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok", db
        con.close()


def _valid_records(root: Path) -> list:
    """Every record file parses (ResultsStore raises on a damaged one); no stray files."""
    if not root.exists():
        return []
    records = list(ResultsStore(root).records())
    strays = [p.name for p in root.iterdir() if not p.name.endswith(".json") and not p.name.endswith(".tmp")]
    assert not strays, strays
    return records


def _kill_after(cmd: list[str], delay: float, cache: Path, from_embedding: bool) -> int | None:
    """Start ``cmd`` and SIGKILL it ``delay`` s after its start, or after it opened the cache
    (``from_embedding``: start-up takes seconds, and the point is to land mid-work).
    None: it finished first; else its exit status."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while from_embedding and not list(cache.glob("*.sqlite-wal")) and time.monotonic() < deadline:
        if proc.poll() is not None:
            return None
        time.sleep(0.05)
    try:
        proc.wait(delay)
        return None
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        return proc.wait(30)


@pytest.mark.slow
def test_sigkill_at_random_points_of_a_run_then_resume(setup, tmp_path):
    rng = random.Random(9)
    cmd = _cmd(setup, tmp_path, "run")
    killed = 0
    for k in range(KILLS):
        status = _kill_after(cmd, rng.uniform(0.0, 2.0), tmp_path / "cache", from_embedding=k % 2 == 0)
        killed += status == -signal.SIGKILL
        _check_cache(tmp_path / "cache")
        for record in _valid_records(tmp_path / "results"):  # any record that made it is complete and right
            assert record.metrics == setup[2]
    assert killed >= 2, "the delays should interrupt most runs"
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    records = _valid_records(tmp_path / "results")
    assert records and all(r.metrics == setup[2] for r in records)
    last = max(records, key=lambda r: r.created)
    assert last.cache["audio_hits"] + last.cache["audio_computed"] == N_CLIPS
    print(f"\nkilled {killed} of {KILLS} runs; the final run reused {last.cache['audio_hits']} of {N_CLIPS} clips")
    _check_cache(tmp_path / "cache")


@pytest.mark.slow
def test_sigkill_at_random_points_of_a_sweep_then_resume(setup, tmp_path):
    rng = random.Random(10)
    cmd = _cmd(setup, tmp_path, "sweep", "seed=0,1", "pooling=embedding-mean,score-mean")
    for k in range(KILLS):
        _kill_after(cmd, rng.uniform(0.0, 4.0), tmp_path / "cache", from_embedding=k % 2 == 0)
        _check_cache(tmp_path / "cache")
        _valid_records(tmp_path / "results")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    records = _valid_records(tmp_path / "results")
    points = [(r.config["seed"], r.config["pooling"]) for r in records if r.sweep_id]
    assert sorted(points) == sorted({(s, p) for s in (0, 1) for p in ("embedding-mean", "score-mean")})  # once each
    fresh = tmp_path / "fresh"  # the same sweep, never interrupted, no cache
    clean = subprocess.run(_cmd(setup, fresh, "sweep", "seed=0,1", "pooling=embedding-mean,score-mean"),
                           capture_output=True, text=True, timeout=300)
    assert clean.returncode == 0, clean.stderr
    want = {(r.config["seed"], r.config["pooling"]): r.metrics for r in _valid_records(fresh / "results")}
    assert {(r.config["seed"], r.config["pooling"]): r.metrics for r in records} == want
    assert want[(0, "embedding-mean")] == setup[2]


@pytest.mark.slow
def test_four_parallel_runs_share_one_cache_and_store(setup, tmp_path):
    cmd = _cmd(setup, tmp_path, "run")
    procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outs = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, outs
    records = _valid_records(tmp_path / "results")
    assert len(records) == 4 and len({r.run_id for r in records}) == 4
    assert all(r.metrics == setup[2] for r in records)
    assert all(r.cache["enabled"] for r in records)
    _check_cache(tmp_path / "cache")


def _limit_file_size(limit: int):
    def apply() -> None:
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_FSIZE stands in for a full disk on Linux")
def test_full_disk_mid_run_completes_without_the_cache_and_says_so(setup, tmp_path):
    """Files may not grow past 48 KiB: the cache's write-ahead log fills up a few batches in; the
    run carries on without caching, says so, and still stores its (smaller) record."""
    done = subprocess.run(_cmd(setup, tmp_path, "run"), capture_output=True, text=True, timeout=300,
                          preexec_fn=_limit_file_size(48 << 10))
    assert done.returncode == 0, done.stderr
    assert "could not write the embedding cache" in done.stderr and "continuing without it" in done.stderr
    assert "RuntimeWarning" not in done.stderr and ".py:" not in done.stderr  # the CLI's one-line warning format
    [record] = _valid_records(tmp_path / "results")
    assert record.metrics == setup[2]
    assert not record.cache["enabled"] and "could not write" in record.cache["disabled_reason"]
    assert 0 < record.cache["audio_computed"]


def test_unusable_cache_folder_runs_without_it_and_says_so(setup, tmp_path):
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "files.sqlite").mkdir()  # no database can live here (as root, chmod would not stop us)
    done = subprocess.run(_cmd(setup, tmp_path, "run"), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "running without a cache" in done.stderr and "--cache-dir or ZSBENCH_CACHE" in done.stderr
    assert "warning: " in done.stderr and "RuntimeWarning" not in done.stderr and ".py:" not in done.stderr  # one clean line
    [record] = _valid_records(tmp_path / "results")
    assert record.metrics == setup[2] and record.cache["disabled_reason"]


def _children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the process tree from /proc")
def test_sigkill_with_decode_workers_leaves_no_worker_behind_and_resumes(setup, tmp_path):
    """Decode workers share slots with the main process (zsbench/runtime/batch_slots.py): killed mid-run,
    the workers exit by themselves (no orphan left decoding or waiting for a slot, no shared
    memory left behind), and a run with workers resumes to the uninterrupted run's metrics."""
    cmd = _cmd(setup, tmp_path, "run")
    cmd[cmd.index("--workers") + 1] = "2"
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    workers: list[int] = []
    while len(workers) < 2 and proc.poll() is None and time.monotonic() < deadline:
        workers = _children(proc.pid)
        time.sleep(0.05)
    assert len(workers) >= 2, "the run should have started its decode workers"
    time.sleep(0.3)  # into the first batches
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    deadline = time.monotonic() + 30  # DataLoader workers check on their parent every 5 s
    while any(_running(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_running(w) for w in workers), "decode workers outlived the killed run"
    assert not list(Path("/dev/shm").glob(f"*{proc.pid}*")), "shared memory left behind"
    _check_cache(tmp_path / "cache")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    [record] = _valid_records(tmp_path / "results")
    assert record.metrics == setup[2] and record.config["workers"] == 2
