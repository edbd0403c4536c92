"""Registries: decorator and lazy registration, duplicates, unknown names, entry points, packaging."""

from __future__ import annotations

from importlib.metadata import EntryPoint, distribution

import pytest

from zsbench import registry as reg
from zsbench.registry import MODELS, PROMPTS, TASKS, Registry, UnknownNameError


def test_builtins_are_registered():
    assert "demo" in MODELS.names()
    assert {"synthworld", "folder"} <= set(TASKS.names())
    assert {"template", "file"} <= set(PROMPTS.names())


def test_unknown_name_lists_valid_ones_and_suggests():
    with pytest.raises(UnknownNameError) as err:
        TASKS.get("synthwrld")
    text = str(err.value)
    assert "Unknown task 'synthwrld'" in text and "Did you mean 'synthworld'" in text and "folder" in text


def test_duplicate_registration_is_an_error():
    r = Registry("thing")
    r.register("a", "first", target=object())
    with pytest.raises(ValueError, match="registered twice"):
        r.register("a", "second", target=object())


def test_lazy_target_is_imported_on_first_use_and_base_checked():
    r = Registry("thing", base=int)
    r.register("od", "ordered dict", target="collections:OrderedDict")
    with pytest.raises(TypeError, match="not a int"):
        r.get("od")
    ok = Registry("thing", base=dict)
    ok.register("od", "ordered dict", target="collections:OrderedDict")
    from collections import OrderedDict

    assert ok.get("od") is OrderedDict


def test_entry_point_plugins(monkeypatch):
    eps = [EntryPoint(name="thirdparty", value="collections:Counter", group="zsbench.tests")]
    monkeypatch.setattr(reg, "entry_points", lambda group: eps if group == "zsbench.tests" else [])
    r = Registry("thing", "zsbench.tests")
    from collections import Counter

    assert "thirdparty" in r.names() and r.get("thirdparty") is Counter


class _Complete:
    meta = None

    def fingerprint(self):
        return "x" * 8

    def embed_audio(self, windows, seeds=None):
        return windows

    def embed_text(self, texts):
        return texts


class _NoText:
    meta = None

    def fingerprint(self):
        return "x" * 8

    def embed_audio(self, windows, seeds=None):
        return windows


def test_registration_is_checked_against_the_base_class_or_protocol():
    from collections.abc import Callable

    from zsbench.adapters.base import AudioTextModel

    models = Registry("model", base=AudioTextModel)
    models.register("complete", target=_Complete)
    with pytest.raises(TypeError, match=r"model 'no-text' \(.*test_registry.*\) is not a AudioTextModel: it lacks "
                                        r"embed_text"):
        models.register("no-text", target=_NoText)
    assert models.names() == ["complete"]  # a refused target is not registered
    with pytest.raises(TypeError, match="it lacks embed_text"):  # the decorator form too
        models.register("decorated")(_NoText)
    lazy = Registry("model", base="zsbench.adapters.base:AudioTextModel")  # the base imported at the first check
    lazy.register("no-text", target=f"{__name__}:_NoText")
    with pytest.raises(TypeError, match=rf"'no-text' \({__name__}:_NoText\) is not a AudioTextModel"):
        lazy.get("no-text")
    metrics = Registry("metric", base=Callable)
    metrics.register("fn", target=len)
    with pytest.raises(TypeError, match="metric 'number' is not a Callable: it is not callable"):
        metrics.register("number", target=3)


def test_the_real_registries_check_what_they_hold():
    from zsbench.adapters.base import AudioTextModel
    from zsbench.prompt_strategies.base import PromptStrategy

    for registry in (MODELS, TASKS, PROMPTS, reg.METRICS):
        assert registry.base is not None and registry.names()
    assert MODELS._resolved_base() is AudioTextModel and PROMPTS._resolved_base() is PromptStrategy
    with pytest.raises(TypeError, match="lacks embed_text"):
        MODELS._check("no-text", _NoText, "tests")


def test_a_plugin_named_like_a_builtin_is_an_error_naming_both(monkeypatch):
    r = Registry("model", "zsbench.tests")
    r.register("builtin", "a built-in", target=_Complete)
    eps = [EntryPoint(name="builtin", value="thirdparty.models:Clash", group="zsbench.tests")]
    monkeypatch.setattr(reg, "entry_points", lambda group: eps if group == "zsbench.tests" else [])
    for ask in (r.names, lambda: r.get("builtin"), lambda: "builtin" in r):  # every time, not only the first
        with pytest.raises(ValueError) as err:
            ask()
        message = str(err.value)
        assert "model 'builtin' is defined twice" in message
        assert "builtin = thirdparty.models:Clash (group zsbench.tests)" in message  # the plug-in's entry point
        assert f"module {__name__}" in message  # the built-in's module


def test_two_plugins_with_one_name_are_an_error_and_one_entry_point_seen_again_is_not(monkeypatch):
    r = Registry("thing", "zsbench.tests")
    eps = [EntryPoint(name="dup", value="collections:Counter", group="zsbench.tests"),
           EntryPoint(name="dup", value="collections:OrderedDict", group="zsbench.tests")]
    monkeypatch.setattr(reg, "entry_points", lambda group: eps if group == "zsbench.tests" else [])
    with pytest.raises(ValueError, match=r"entry-point plug-ins dup = collections:Counter .* and "
                                         r"dup = collections:OrderedDict"):
        r.names()
    eps.pop()
    assert r.names() == ["dup"]
    r._plugins_loaded = False  # loading the plug-ins again (as tests do) finds the same entry point: no clash
    from collections import Counter

    assert r.names() == ["dup"] and r.get("dup") is Counter


def test_plugin_folders_install_under_the_zsbench_namespace():
    """PyPI owns top-level `adapters`, `tasks` and `leaderboard`: we must never install them."""
    import zsbench.adapters
    import zsbench.leaderboard
    import zsbench.prompt_strategies
    import zsbench.tasks

    assert zsbench.adapters.__name__ == "zsbench.adapters"
    dist = distribution("zsbench")
    assert (dist.read_text("top_level.txt") or "").split() == ["zsbench"]
    scripts = {ep.name: ep.value for ep in dist.entry_points if ep.group == "console_scripts"}
    assert scripts == {"zsbench": "zsbench.cli.main:main"}


def test_built_wheel_holds_only_the_zsbench_package(tmp_path):
    import subprocess
    import sys
    import zipfile
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(repo)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("zsbench-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"zsbench", wheel.name.split("-py3")[0] + ".dist-info"}
    for sub in ("adapters", "tasks", "prompt_strategies", "leaderboard"):
        assert f"zsbench/{sub}/__init__.py" in names
