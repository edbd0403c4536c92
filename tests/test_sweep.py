"""Sweeps: grid parsing, stable order and id, one model load, audio embedded once, resume after
an interruption, and the Table IV leaderboard of the result. Small sizes (2 clips per class,
in-process decoding) keep the end-to-end tests to seconds once the demo model is fitted."""

from __future__ import annotations

import subprocess
import sys

import pytest

from zsbench.evaluation import sweep as sweep_mod
from zsbench.leaderboard.render import render
from zsbench.evaluation.results import ResultsStore
from zsbench.evaluation.runner import RunConfig
from zsbench.evaluation.sweep import Sweep, SweepError, parse_axis, run_sweep

SMALL = dict(task="synthworld", task_options={"n_per_class": 2}, workers=0, progress=False)


def test_grid_ranges_lists_and_types():
    assert parse_axis("N=1..5").values == (1, 2, 3, 4, 5) and parse_axis("N=1..5").name == "n"
    assert parse_axis("seed=0..6..3").values == (0, 3, 6)
    assert parse_axis("seed=0,1,2").values == (0, 1, 2)
    assert parse_axis("model=laion-clap,reclap").values == ("laion-clap", "reclap")
    assert parse_axis("prompts=template,description,augmented").values == ("template", "description", "augmented")
    assert parse_axis("bootstrap=0,100").values == (0, 100)
    assert parse_axis("task_options.n_per_class=2,4").values == (2, 4)
    assert parse_axis("checkpoint=none,a.pt").values == (None, "a.pt")


@pytest.mark.parametrize("spec,message", [
    ("N", "expected NAME=VALUES"), ("N=a,b", "'a' is not an integer"), ("N=5..1", "START <= END"),
    ("seed=1,1", "listed twice"), ("colour=red", "'colour' is not a run parameter"),
    ("workers=0,2", "'workers' is not a run parameter"), ("task_options=2", "'task_options' is not a run parameter"),
    ("seed.x=1", "not a dict field"), ("N=1,,2", "empty value")])
def test_grid_errors_are_clear(spec, message):
    with pytest.raises(SweepError, match=message):
        parse_axis(spec)


def test_order_is_the_product_regrouped_by_model_and_the_id_is_stable():
    base = RunConfig(prompts="augmented")
    plan = Sweep.plan(base, ["N=1,2", "model=demo,laion-clap"])
    # first axis outermost, then regrouped so each model's points run together, order kept inside
    assert [plan.label(p) for p in plan.points] == ["N=1 model=demo", "N=2 model=demo", "N=1 model=laion-clap",
                                                    "N=2 model=laion-clap"]
    again = Sweep.plan(RunConfig(prompts="augmented", workers=2, progress=True, results_dir="/elsewhere"),
                       ["N=1,2", "model=demo,laion-clap"])
    assert again.sweep_id == plan.sweep_id  # where and how verbosely it runs does not change the sweep
    assert Sweep.plan(base, ["N=1,2,3", "model=demo,laion-clap"]).sweep_id != plan.sweep_id
    assert Sweep.plan(RunConfig(prompts="augmented", seed=1), ["N=1,2", "model=demo,laion-clap"]).sweep_id != plan.sweep_id
    assert Sweep.plan(base, ["N=1"], sweep_id="mine").sweep_id == "mine"
    with pytest.raises(SweepError, match="grid axis n given more than once"):
        Sweep.plan(base, ["N=1", "n=2"])
    # what would fail mid-sweep fails before the first point
    with pytest.raises(SweepError, match="sweep point crop=sideways: --crop 'sideways'"):
        Sweep.plan(base, ["crop=seeded,sideways"])
    with pytest.raises(SweepError, match="sweep point N=1 prompts=template: prompt strategy 'template' does not take --n"):
        Sweep.plan(base, ["N=1,2", "prompts=augmented,template"])
    with pytest.raises(SweepError, match="sweep point model=nope: Unknown model 'nope'"):
        Sweep.plan(base, ["model=demo,nope"])


@pytest.mark.slow
def test_sweep_loads_once_embeds_audio_once_and_resumes(isolated, monkeypatch):
    loads = []
    real_load = sweep_mod.load_model
    monkeypatch.setattr(sweep_mod, "load_model", lambda config: loads.append(config.model) or real_load(config))
    plan = Sweep.plan(RunConfig(prompts="augmented", **SMALL), ["N=1..3", "seed=0,1"])

    # interrupted while running the fourth point
    real_run, calls = sweep_mod.run, []

    def flaky(config, model=None):
        calls.append(config.n)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real_run(config, model=model)

    monkeypatch.setattr(sweep_mod, "run", flaky)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(plan)
    stored = [r for r in ResultsStore().records() if r.sweep_id == plan.sweep_id]
    assert sorted((r.extra["sweep"]["point"]["n"], r.seed) for r in stored) == [(1, 0), (1, 1), (2, 0)]
    assert loads == ["demo"]
    by_point = {(r.extra["sweep"]["point"]["n"], r.seed): r for r in stored}
    assert by_point[(1, 0)].cache["audio_computed"] == 36  # the first point embeds every clip ...
    assert by_point[(2, 0)].cache["audio_computed"] == 0 and by_point[(2, 0)].cache["audio_hits"] == 36  # ... once
    assert by_point[(1, 1)].cache["audio_computed"] == 0  # seeds vary prompts, not crops (that is crop_seed)
    assert by_point[(2, 0)].prompts["params"]["n"] == 2 and by_point[(2, 0)].prompts["n_prompts"] == 36

    # the same sweep again runs only what is missing, with the model loaded once more
    monkeypatch.setattr(sweep_mod, "run", real_run)
    report = run_sweep(Sweep.plan(RunConfig(prompts="augmented", **SMALL), ["N=1..3", "seed=0,1"]))
    assert [(o.point["n"], o.point["seed"], o.reused) for o in report.outcomes] == [
        (1, 0, True), (1, 1, True), (2, 0, True), (2, 1, False), (3, 0, False), (3, 1, False)]
    assert loads == ["demo", "demo"] and report.loads == 1
    assert report.audio_embedded == 0 and report.audio_reused == 3 * 36
    assert "6 points (3 run now, 3 already stored)" in report.summary()
    assert "0 clip embeddings computed, 108 reused" in report.summary()
    assert len([r for r in ResultsStore().records() if r.sweep_id == plan.sweep_id]) == 6
    # and a third time nothing runs
    assert not run_sweep(Sweep.plan(RunConfig(prompts="augmented", **SMALL), ["N=1..3", "seed=0,1"])).ran

    table = render(ResultsStore().records(), table="sweep").splitlines()
    assert table[0] == "| N | synthworld | average |"
    assert [line.split(" | ")[0] for line in table[2:5]] == ["| 1", "| 2", "| 3"]
    assert all(line.count(" ± ") == 2 for line in table[2:5])  # two seeds: mean ± std in both columns


@pytest.mark.slow
def test_cli_sweep_then_leaderboard(isolated):
    def zsb(*args):
        return subprocess.run([sys.executable, "-m", "zsbench.cli", *args], capture_output=True, text=True,
                              check=False, timeout=300)

    dry = zsb("sweep", "seed=0,1", "prompts=augmented,description", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == ["[1/4] seed=0 prompts=augmented", "[2/4] seed=0 prompts=description",
                                       "[3/4] seed=1 prompts=augmented", "[4/4] seed=1 prompts=description"]
    proc = zsb("sweep", "N=1,2", "--prompts", "augmented", "--task-option", "n_per_class=2", "--workers", "0", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "[1/2] N=1: synthworld accuracy" in proc.stdout and "audio 36 embedded, 0 reused" in proc.stdout
    assert "audio 0 embedded, 36 reused" in proc.stdout and "1 model load(s)" in proc.stdout
    board = zsb("leaderboard", "--table", "sweep")
    assert board.returncode == 0 and board.stdout.splitlines()[0] == "| N | synthworld | average |"
    page, curve = isolated / "board.html", isolated / "curve.svg"
    shared = zsb("leaderboard", "--table", "sweep", "--format", "html", "-o", str(page), "--plot", str(curve))
    assert shared.returncode == 0, shared.stderr
    assert page.read_text().count("<svg") == 1 and "<svg" in curve.read_text()
    bad = zsb("sweep", "N=x")
    assert bad.returncode == 2 and "grid N=x: 'x' is not an integer" in " ".join(bad.stderr.split())


def test_what_does_not_identify_a_run_is_read_off_the_config():
    """The config marks each field experiment or execution; what a sweep's id leaves out is the
    execution settings that change no number (the device and cache dtype can, so they count)."""
    from zsbench.config import EXECUTION_FIELDS, NOT_IDENTITY, experiment, execution

    assert sweep_mod.NOT_IDENTITY == NOT_IDENTITY == {
        "progress", "results_dir", "store", "output", "save_predictions", "workers", "batch_size", "cache_dir",
        "use_cache", "shard"}  # the hand-kept list this replaced: sweep ids stay as they were
    assert EXECUTION_FIELDS - NOT_IDENTITY == {"device", "cache_dtype"}
    assert sweep_mod.NOT_AXES == NOT_IDENTITY | {"templates"}
    config = RunConfig(workers=3, seed=4)
    assert execution(config)["workers"] == 3 and experiment(config)["seed"] == 4
    assert set(execution(config)) | set(experiment(config)) == set(RunConfig.__dataclass_fields__)


# Sweep ids computed before issue #17 moved the translation of a config into zsbench/config.py:
# the same command still names the same sweep, so re-running it resumes its stored points.
PINNED_IDS = [
    (["seed=0,1"], "sw-e8c6f00ca491"),
    (["N=1..3", "seed=0,1", "--prompts", "augmented", "--task-option", "n_per_class=2"], "sw-8613d9b4f9f7"),
    (["N=1..3", "seed=0,1", "--prompts", "augmented", "--bank", "esc50", "--crop", "centre", "--precision", "bf16",
      "--model-option", "x=1", "--workers", "0", "--batch-size", "8", "--quiet"], "sw-b4ba01f51564"),
    (["seed=0,1", "--compile"], "sw-1a71299ffa9d"),
]


@pytest.mark.parametrize("args,sweep_id", PINNED_IDS)
def test_the_sweep_id_of_a_command_is_unchanged(monkeypatch, args, sweep_id):
    from typer.testing import CliRunner

    from zsbench.cli.main import app

    seen = {}

    class Stop(Exception):
        pass

    def fake_run_sweep(plan, on_point=None):
        seen["plan"] = plan
        raise Stop

    monkeypatch.setattr(sweep_mod, "run_sweep", fake_run_sweep)
    assert isinstance(CliRunner().invoke(app, ["sweep", *args]).exception, Stop)
    assert seen["plan"].sweep_id == sweep_id
    if args[:2] == ["N=1..3", "seed=0,1"] and len(args) == 6:
        assert Sweep.plan(RunConfig(prompts="augmented", **SMALL), ["N=1..3", "seed=0,1"]).sweep_id == sweep_id


def test_prompt_options_are_axes_and_are_checked_before_the_first_point():
    plan = Sweep.plan(RunConfig(prompts="augmented"), ["prompt_options.n=1,2"])
    assert [p["prompt_options.n"] for p in plan.points] == [1, 2]
    with pytest.raises(SweepError, match=r"sweep point seed=0: prompt strategy 'augmented' does not take "
                                         r"--prompt-option colour; it takes: bank \(str, or --bank\), n"):
        Sweep.plan(RunConfig(prompts="augmented", prompt_options={"colour": "red"}), ["seed=0,1"])
    with pytest.raises(SweepError, match=r"sweep point seed=0: task 'synthworld' does not take option\(s\) colour"):
        Sweep.plan(RunConfig(task_options={"colour": "red"}), ["seed=0,1"])
