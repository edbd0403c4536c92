"""--compile: a compiled run records it, is cached apart from eager runs (whose cache file keeps
its name), gives the eager metric and embeddings within 1e-5; models without the hook, and
fusion towers, are refused with the fix; the flag reaches the config from `run` and `sweep`.

Most tests compile with the aot_eager backend (ZSBENCH_COMPILE_BACKEND): it traces the same
graph as inductor but skips code generation. One test uses the real default, inductor."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from zsbench.evaluation.cache import cache_name
from zsbench.runtime.compiling import BACKEND_ENV, CompileUnsupported, apply_compile, compiled_with
from zsbench.evaluation.runner import RunConfig, run

# 36 clips in one batch: one input shape, so one compile.
SMALL = dict(task="synthworld", task_options={"n_per_class": 2}, workers=0, progress=False, store=False,
             batch_size=64)


def _graphs() -> int:
    from torch._dynamo.utils import counters

    return counters["stats"]["unique_graphs"]


def _windows(result, model) -> np.ndarray:
    from zsbench.data.audio import Preprocessing, prepare_clip

    prep = Preprocessing(model.meta.sample_rate, model.meta.clip, "seeded", 0)
    return np.concatenate([prepare_clip(it.path, prep, str(it.path)) for it in result.task.items])


def _compare(tmp_path, backend_name: str, suffix: str):
    from zsbench.adapters.demo import DemoModel

    cache = tmp_path / "cache"
    eager_model, compiled_model = DemoModel(), DemoModel()
    eager = run(RunConfig(**SMALL, cache_dir=str(cache)), model=eager_model)
    graphs = _graphs()
    compiled = run(RunConfig(**SMALL, cache_dir=str(cache), compile=True), model=compiled_model)
    n = len(compiled.task.items)
    fp = eager.record.model["fingerprint"]

    assert compiled.record.model["fingerprint"] == fp  # compiling changes no weight
    assert eager.record.config["compile"] is False and compiled.record.config["compile"] is True
    assert compiled.record.extra["compile"] == {"backend": backend_name, "targets": ["encode_audio"]}
    assert "compile" not in eager.record.extra
    assert _graphs() > graphs  # torch.compile really traced the audio path (not a silent no-op)
    assert compiled.record.cache["audio_computed"] == n  # never served eager embeddings
    assert {p.name for p in cache.glob("*.sqlite")} >= {f"{fp}.sqlite", f"{fp}{suffix}.sqlite"}
    assert compiled.record.metrics["values"] == eager.record.metrics["values"]
    assert np.abs(compiled.scores - eager.scores).max() <= 1e-5

    windows = _windows(eager, eager_model)
    change = np.abs(compiled_model.embed_audio(windows) - eager_model.embed_audio(windows)).max()
    assert change <= 1e-5
    again = run(RunConfig(**SMALL, cache_dir=str(cache), compile=True), model=compiled_model)
    assert again.record.cache["audio_hits"] == n  # its own cache serves the next compiled run
    print(f"\n{backend_name}: max audio embedding change {change:.1e}; "
          f"accuracy {eager.report.values['accuracy']:.4f} both")


def test_compiled_run_is_recorded_cached_apart_and_matches_eager(tmp_path, monkeypatch):
    monkeypatch.setenv(BACKEND_ENV, "aot_eager")
    _compare(tmp_path, "aot_eager", "-compiled-aot_eager")


@pytest.mark.slow
def test_inductor_compile_of_the_demo_matches_eager(tmp_path, monkeypatch):
    monkeypatch.delenv(BACKEND_ENV, raising=False)
    _compare(tmp_path, "inductor", "-compiled")


def test_cache_names_eager_unchanged():
    assert cache_name("abc") == "abc"
    assert cache_name("abc", compile_backend="inductor") == "abc-compiled"
    assert cache_name("abc", "bf16", "aot_eager") == "abc-bf16-compiled-aot_eager"


def test_model_without_hook_is_refused_with_the_fix(tmp_path):
    from zsbench.testing.models import NearFreeModel

    with pytest.raises(CompileUnsupported, match="model 'near-free' has no torch modules to compile .*"
                                                 "run without --compile"):
        run(RunConfig(model="near-free", compile=True, use_cache=False, **{**SMALL, "task_options": {"n_per_class": 1}}),
            model=NearFreeModel())
    with pytest.raises(CompileUnsupported, match="'near-free' has no torch modules"):
        apply_compile(NearFreeModel())


def test_fusion_towers_are_refused():
    from zsbench.adapters.laion import LaionClap

    fused = SimpleNamespace(fusion=True, meta=SimpleNamespace(name="laion-clap-630k-fusion-best"))
    with pytest.raises(CompileUnsupported, match="fusion-best'.*run without --compile"):
        LaionClap.compile_towers(fused, lambda fn: fn)


def test_compiled_model_in_an_eager_run_is_refused(monkeypatch):
    from zsbench.adapters.demo import DemoModel

    monkeypatch.setenv(BACKEND_ENV, "aot_eager")
    model = DemoModel()
    info = apply_compile(model)
    assert compiled_with(model) is info and apply_compile(model) is info  # compiled once
    with pytest.raises(ValueError, match="was compiled .* pass --compile"):
        run(RunConfig(**SMALL, use_cache=False), model=model)


def test_flag_reaches_the_config(monkeypatch):
    from typer.testing import CliRunner

    import zsbench.api
    import zsbench.evaluation.sweep
    from zsbench.cli.main import app

    seen = {}

    class Stop(Exception):
        pass

    def fake_evaluate(**params):
        seen["run"] = params["compile"]
        raise Stop

    def fake_run_sweep(plan, on_point=None):
        seen["sweep"] = plan.base.compile
        seen["points"] = [zsbench.evaluation.sweep.apply_point(plan.base, p).compile for p in plan.points]
        raise Stop

    monkeypatch.setattr(zsbench.api, "evaluate", fake_evaluate)
    monkeypatch.setattr(zsbench.evaluation.sweep, "run_sweep", fake_run_sweep)
    cli = CliRunner()
    for args, expected in ((["run", "--compile"], True), (["run"], False)):
        assert isinstance(cli.invoke(app, args).exception, Stop)
        assert seen.pop("run") is expected
    assert isinstance(cli.invoke(app, ["sweep", "seed=0,1", "--compile"]).exception, Stop)
    assert seen["sweep"] is True and seen["points"] == [True, True]
    assert isinstance(cli.invoke(app, ["sweep", "compile=false,true"]).exception, Stop)
    assert seen["points"] == [False, True]


def test_sweep_keeps_eager_ids_and_loads_compiled_apart():
    from dataclasses import replace

    from zsbench.evaluation.sweep import Sweep, load_key

    base = RunConfig(**SMALL)
    assert load_key(base) != load_key(replace(base, compile=True))
    eager, compiled = Sweep.plan(base, ["seed=0,1"]), Sweep.plan(replace(base, compile=True), ["seed=0,1"])
    assert eager.sweep_id != compiled.sweep_id


def test_a_compiled_sweep_compiles_each_model_once(tmp_path, monkeypatch):
    """Points that share a loaded model share its compiled tower: one compile for the sweep, and
    every point records it; eager points of the same sweep get a model of their own."""
    import torch

    from zsbench.evaluation.results import ResultsStore
    from zsbench.evaluation.sweep import Sweep, run_sweep

    monkeypatch.setenv(BACKEND_ENV, "aot_eager")
    calls = []
    real = torch.compile
    monkeypatch.setattr(torch, "compile", lambda fn, **kw: calls.append(fn) or real(fn, **kw))
    base = RunConfig(**{**SMALL, "store": True}, cache_dir=str(tmp_path / "cache"), results_dir=str(tmp_path / "res"))
    report = run_sweep(Sweep.plan(base, ["seed=0,1", "compile=false,true"]))
    assert len(calls) == 1 and report.loads == 2
    records = list(ResultsStore(tmp_path / "res").records())
    assert sorted((r.config["seed"], r.config["compile"]) for r in records) == [(0, False), (0, True), (1, False),
                                                                                  (1, True)]
    assert all(("compile" in r.extra) == r.config["compile"] for r in records)
