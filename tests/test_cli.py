"""The CLI through its installed entry point, as a user types it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ZSBENCH = Path(sys.executable).parent / "zsbench"


def zsb(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.run([str(ZSBENCH), *args], capture_output=True, text=True, env=env, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"zsbench {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def test_entry_point_is_installed():
    assert ZSBENCH.exists(), "the console script `zsbench` is not installed in this environment"


def test_listings():
    models = zsb("models").stdout
    assert "demo" in models and "16 kHz" in models and "10 s" in models and "This is a sound of {label}." in models
    assert "synthworld" in zsb("tasks").stdout
    prompts = zsb("prompts").stdout
    assert "template" in prompts and "{label: [prompts]}" in prompts


def test_bare_run_twice_reuses_audio_then_leaderboard(isolated, demo_fitted):
    first = zsb("run", "--task-option", "n_per_class=2", "--quiet")
    assert "36 clips embedded, 0 from cache" in first.stdout
    assert "tiny CLAP" in first.stdout  # the demo says plainly what model it is
    second = zsb("run", "--model", "demo", "--task", "synthworld", "--prompts", "template",
                 "--task-option", "n_per_class=2", "--quiet", "--output", str(isolated / "rec.json"))
    assert "0 clips embedded, 36 from cache" in second.stdout
    assert json.loads((isolated / "rec.json").read_text())["cache"]["audio_computed"] == 0
    board = zsb("leaderboard").stdout
    assert board.splitlines()[0] == "| model · prompts | synthworld |"
    assert board.splitlines()[2].startswith("| demo · template | **")
    assert "±" in zsb("leaderboard", "--aggregate", "mean").stdout
    assert "inference" not in first.stdout + second.stdout  # fp32 eager says nothing
    third = zsb("run", "--task-option", "n_per_class=2", "--quiet", "--precision", "bf16")
    assert "inference bf16: embeddings differ from fp32 eager" in third.stdout
    mixed = zsb("leaderboard", "--aggregate", "mean", check=False)  # a bf16 run is not averaged with fp32 ones
    assert mixed.returncode != 0 and "differ in inference precision / compile" in mixed.stdout + mixed.stderr


@pytest.mark.parametrize("args,message", [
    (["run", "--model", "nope"], "Unknown model 'nope'. Valid models: compa-clap, demo, hf-clap"),
    (["run", "--task", "folder"], "Pass --data-root"),
    (["run", "--on-bad-audio", "ignore"], "--on-bad-audio 'ignore'"),
    (["run", "--task-option", "n_per_class"], "expected KEY=VALUE"),
    (["leaderboard", "--aggregate", "median"], "choose latest or mean"),
])
def test_user_errors_are_one_clear_line(args, message):
    proc = zsb(*args, check=False)
    assert proc.returncode == 2
    assert message in " ".join(proc.stderr.split())
    assert "Traceback" not in proc.stderr


def test_empty_leaderboard_says_how_to_fill_it():
    assert "zsbench run" in zsb("leaderboard").stdout
