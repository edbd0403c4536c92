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
    assert scripts == {"zsbench": "zsbench.cli:main"}


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
