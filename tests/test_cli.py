"""The CLI through its installed entry point, as a user types it."""

from __future__ import annotations

import json
import os
import re
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


def test_bare_run_twice_reuses_audio_then_leaderboard(isolated):
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
    (["run", "--task-option", "x[/y]"], "--task-option 'x[/y]': expected KEY=VALUE"),  # not taken for markup
    (["leaderboard", "--aggregate", "median"], "choose one of latest, mean"),
    (["sweep", "seed=0,1", "--prompts", "augmented", "--prompt-option", "colour=red", "--dry-run"],
     "sweep point seed=0: prompt strategy 'augmented' does not take --prompt-option colour; "
     "it takes: bank (str, or --bank), n (int, or --n)"),
    (["sweep", "seed=0,1", "--prompt-option", "n"], "--prompt-option 'n': expected KEY=VALUE"),
])
def test_user_errors_are_one_clear_line(args, message):
    proc = zsb(*args, check=False)
    assert proc.returncode == 2
    assert message in " ".join(proc.stderr.split())
    assert "Traceback" not in proc.stderr


def test_empty_leaderboard_says_how_to_fill_it():
    assert "zsbench run" in zsb("leaderboard").stdout


@pytest.fixture
def partial_esc50(clip_set, tmp_path) -> Path:
    """ESC-50 in its official layout with 8 of its 2000 listed clips present."""
    import soundfile as sf

    from zsbench.tasks.esc50 import label_names
    from zsbench.testing import write_esc50_metadata

    root = tmp_path / "ESC-50"
    (root / "audio").mkdir(parents=True)
    clips = clip_set.spread(8)
    write_esc50_metadata(root / "meta" / "esc50.csv", clips, label_names())
    for clip in clips:
        audio, rate = sf.read(clip, dtype="int16")
        sf.write(root / "audio" / f"{clip.stem}.wav", audio, rate, subtype="PCM_16")
    return root


def assert_clean_warning(stderr: str, text: str) -> None:
    """One ``warning: ...`` line; no category, no file:line prefix, no source line under it."""
    lines = [line for line in stderr.splitlines() if text in line]
    assert lines and all(line.startswith("warning: ") for line in lines), stderr
    assert "UserWarning" not in stderr and "DataWarning" not in stderr and ".py:" not in stderr, stderr
    assert "warnings.warn(" not in stderr, stderr


def test_partial_task_run_shows_coverage_and_one_clean_warning_line(partial_esc50):
    proc = zsb("run", "--task", "esc50", "--data-root", str(partial_esc50), "--task-option", "allow_missing=true",
               "--quiet")
    assert_clean_warning(proc.stderr, "task 'esc50': 8 of 2000 listed clips found (1992 missing")
    assert "coverage recorded" in proc.stderr
    assert "esc50 v1: 8 of 2,000 listed clips scored (1,992 missing on disk)" in proc.stdout


def test_data_verify_prints_one_clean_warning_line(partial_esc50):
    proc = zsb("data", "verify", "esc50", "--data-root", str(partial_esc50), check=False)
    assert proc.returncode == 1  # clips are missing
    assert_clean_warning(proc.stderr, "task 'esc50': 8 of 2000 listed clips found")
    assert "8 of 2000 listed clips present" in proc.stdout


def test_warning_format_keeps_hint_lines_and_is_for_the_cli_only(capsys):
    """The CLI's format: the message and its own hint lines, nothing else; the library's
    warnings (zsbench.evaluate) keep Python's own display once a command has ended."""
    import warnings

    from typer.testing import CliRunner

    from zsbench.cli.main import app
    from zsbench.cli.common import install_warning_format

    before = warnings.showwarning
    restore = install_warning_format()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("3 of 10 clips found\nPass allow_missing=true to score them", UserWarning)
    finally:
        restore()
    assert capsys.readouterr().err == "warning: 3 of 10 clips found\nPass allow_missing=true to score them\n"
    assert warnings.showwarning is before
    assert CliRunner().invoke(app, ["tasks"]).exit_code == 0
    assert warnings.showwarning is before


def test_run_files_get_the_users_umask_permissions(isolated):
    """Records, --output and predictions are readable by the group under umask 027 (0640), not
    the temporary file's private 0600: a results folder can be shared."""
    import stat

    out, preds = isolated / "rec.json", isolated / "preds.csv"
    proc = subprocess.run([str(ZSBENCH), "run", "--task-option", "n_per_class=1", "--quiet", "--output", str(out),
                           "--save-predictions", str(preds)], capture_output=True, text=True, timeout=600,
                          preexec_fn=lambda: os.umask(0o027))
    assert proc.returncode == 0, proc.stderr
    [record] = list((isolated / "results").rglob("*.json"))
    for path in (record, out, preds):
        assert stat.S_IMODE(path.stat().st_mode) == 0o640, path


def test_scored_line_shows_coverage_only_when_clips_are_missing():
    from zsbench.evaluation.report import scored_text

    full = {"n_scored": 36, "n_skipped": 0, "coverage": {}}
    assert scored_text(full) == "36 clips scored"
    assert scored_text({"n_scored": 36, "n_skipped": 0}) == "36 clips scored"  # records from before coverage
    vgg = {"n_scored": 1, "n_skipped": 0, "coverage": {"listed": 15446, "found": 1, "missing": 15445}}
    assert scored_text(vgg) == "1 of 15,446 listed clips scored (15,445 missing on disk)"
    bad = {"n_scored": 8, "n_skipped": 2, "coverage": {"listed": 10, "found": 10, "missing": 0}}
    assert scored_text(bad) == "8 of 10 listed clips scored, 2 skipped as bad audio"


def _options_in_help(command: str) -> list[str]:
    from typer.testing import CliRunner

    from zsbench.cli.main import app

    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"}, terminal_width=200)
    assert result.exit_code == 0, result.output
    return re.findall(r"^[│|]\s+(--[a-z][a-z-]*)", result.output, flags=re.MULTILINE)


def test_run_and_sweep_list_the_same_shared_options():
    """The options are declared once (zsbench/cli/main.py) and both commands take them all."""
    from zsbench.cli.main import _shared_options

    run, sweep = _options_in_help("run"), _options_in_help("sweep")
    shared = [option.param_decls[0] for _, _, option in _shared_options()]
    assert [o for o in run if o in shared] == [o for o in sweep if o in shared] == shared
    assert set(run) - set(shared) == {"--shard", "--output", "--save-predictions", "--help"}
    assert set(sweep) - set(shared) == {"--sweep-id", "--dry-run", "--help"}
    # those `sweep` lacked before the options were shared
    assert {"--crop-seed", "--template", "--prompt-file", "--no-cache", "--prompt-option", "--folds"} <= set(sweep)


def test_sweep_options_reach_its_base_config(monkeypatch):
    from typer.testing import CliRunner

    import zsbench.evaluation.sweep
    from zsbench.cli.main import app

    seen = {}

    class Stop(Exception):
        pass

    def fake_run_sweep(plan, on_point=None):
        seen["base"] = plan.base
        raise Stop

    monkeypatch.setattr(zsbench.evaluation.sweep, "run_sweep", fake_run_sweep)
    result = CliRunner().invoke(app, ["sweep", "seed=0,1", "--crop-seed", "3", "--template", "a {label}", "--template",
                                      "{label} nearby", "--no-cache", "--prompt-option", "templates=x"])
    assert "given twice (--template and --prompt-option templates)" in " ".join(result.output.split())
    result = CliRunner().invoke(app, ["sweep", "seed=0,1", "--crop-seed", "3", "--template", "a {label}", "--template",
                                      "{label} nearby", "--no-cache", "--task", "esc50", "--folds", "1"])
    assert isinstance(result.exception, Stop), result.output
    base = seen["base"]
    assert (base.crop_seed, base.templates, base.use_cache, base.task_options) == (
        3, ["a {label}", "{label} nearby"], False, {"folds": "1"})


def test_prompt_option_n_equals_n_through_the_command_line(isolated):
    from typer.testing import CliRunner

    from zsbench.cli.main import app

    records = {}
    for name, args in (("short", ["--n", "3"]), ("option", ["--prompt-option", "n=3"])):
        out = isolated / f"{name}.json"
        result = CliRunner().invoke(app, ["run", "--prompts", "augmented", "--task-option", "n_per_class=1", "--quiet",
                                          "--workers", "0", "--output", str(out), *args])
        assert result.exit_code == 0, result.output
        records[name] = json.loads(out.read_text())
    short, option = records["short"], records["option"]
    assert option["prompts"]["params"] == short["prompts"]["params"] and short["prompts"]["params"]["n"] == 3
    assert option["prompts"]["bank_hash"] == short["prompts"]["bank_hash"]
    assert option["config"]["prompt_options"] == {"n": 3} and short["config"]["n"] == 3
    refused = CliRunner().invoke(app, ["run", "--prompts", "augmented", "--task-option", "n_per_class=1", "--quiet",
                                       "--workers", "0", "--prompt-option", "colour=red"])
    assert refused.exit_code == 2
    assert ("prompt strategy 'augmented' does not take --prompt-option colour; it takes: bank (str, or --bank), "
            "n (int, or --n)") in " ".join(refused.output.split())
