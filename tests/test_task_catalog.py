"""Self-contained tasks: a task is its module and its label file. Everything else (``zsbench
tasks``, ``zsbench data download``, the Hub import, the leaderboard's column order) reads the
task registry, so a task module written outside the repository, imported or loaded through the
``zsbench.tasks`` entry-point group, shows up in all of them with no other file touched."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from zsbench import registry as reg
from zsbench.registry import TASKS
from zsbench.tasks import catalog

REPO = Path(__file__).resolve().parents[1]
PACKAGE_FOLDERS = ("zsbench", "tasks", "leaderboard", "prompt_strategies", "adapters")

# A complete dataset task as a plug-in author writes it: the module (metadata, download source,
# Hub layout, leaderboard place, loader) and, beside it, labels/<id>.json.
PLUGIN = '''"""Birdsong (a test plug-in): two bird species, accuracy.

Expected layout:
  <root>/meta.csv          filename,label
  <root>/audio/<filename>
"""

from pathlib import Path

from zsbench.data.datasets import Archive, DatasetSource
from zsbench.data.hub import HubLayout
from zsbench.tasks import metadata
from zsbench.tasks.base import TaskMeta, register_task

TASK_ID = "{task_id}"
META = TaskMeta(
    id=TASK_ID, version="1", metric="accuracy", description="Birdsong test plug-in, 2 species, accuracy",
    citation="@misc{{birdsong, title={{Birdsong}}}}", license="CC0", homepage="https://example.org/birdsong",
    splits="test", leaderboard_order=15,  # between ESC-50 (10) and US8K (20)
    source=DatasetSource(archives=(Archive("https://example.org/birdsong.zip", md5="0" * 32),)),
    hub=HubLayout("meta.csv", ("filename", "label"), "audio/{{filename}}"),
)


def label_names(task_id=TASK_ID):
    return list(metadata.load_sidecar(TASK_ID, __file__)["labels"])


@register_task(META, "Birdsong test plug-in: 2 species, accuracy", register={register})
def load_birdsong(data_root=None, allow_missing=None):
    root = Path(metadata.resolve_root(TASK_ID, data_root))
    hint = metadata.download_hint(TASK_ID)
    (path,) = metadata.require(TASK_ID, root, ["meta.csv"], hint)
    labels = label_names()
    index = {{name: i for i, name in enumerate(labels)}}
    rows = metadata.read_table(path, ["filename", "label"])
    entries = [metadata.Entry(id=r["filename"], paths=(root / "audio" / r["filename"],),
                           targets=(metadata.label_index(path, r.line, r["label"], index, "labels"),), line=r.line)
               for r in rows]
    md = metadata.Metadata(TASK_ID, root, path, labels, labels, entries, hint, audio_dirs=(root / "audio",))
    return metadata.build_task(META, md, allow_missing=allow_missing)
'''


@pytest.fixture
def scratch_registry(monkeypatch):
    """The task registry as it is now, restored after the test (plug-ins registered in it go)."""
    TASKS.names()  # the built-ins and installed plug-ins are in
    monkeypatch.setattr(TASKS, "_entries", dict(TASKS._entries))
    added = set(sys.modules)
    yield
    for name in set(sys.modules) - added:
        if name.startswith("zsbtest_"):
            del sys.modules[name]


def write_plugin(folder: Path, module: str, task_id: str, *, register: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{module}.py").write_text(PLUGIN.format(task_id=task_id, register=register), encoding="utf-8")
    (folder / "labels").mkdir(exist_ok=True)
    (folder / "labels" / f"{task_id}.json").write_text(json.dumps({"labels": ["blackbird", "robin"]}))


def fake_record(task_id: str, run_id: str):
    from zsbench.evaluation.results import RunRecord

    return RunRecord(
        run_id=run_id, created="2026-01-01T00:00:00Z", config={},
        model={"name": "m1", "fingerprint": "f1", "meta": {"templates": []}, "checkpoint": None, "training": {}},
        task={"id": task_id, "version": "1", "params": {}, "metric": "accuracy", "protocol": {}},
        prompts={"strategy": "template", "params": {"pooling": "embedding-mean"}, "bank_hash": "b1", "source": {}},
        preprocessing={"sample_rate": 16000, "clip": {"seconds": 10.0}, "crop": "seeded", "seed": 0, "key": "k"},
        metrics={"headline": "accuracy", "values": {"accuracy": 0.5}, "ci": None, "per_class": {}},
        timings={}, cache={}, packages={})


def assert_seen_everywhere(task_id: str, records: list) -> None:
    """In `zsbench tasks`, among the tasks `zsbench data download --help` fetches and takes from
    the Hub, and as the leaderboard column its leaderboard_order puts between esc50 and us8k."""
    from zsbench.cli.main import app
    from zsbench.evaluation.results import ResultsStore
    from zsbench.tasks.downloads import SOURCES

    runner = CliRunner()
    listing = runner.invoke(app, ["tasks"])
    assert listing.exit_code == 0 and re.search(rf"^{task_id}\s", listing.output, re.M), listing.output

    help_text = runner.invoke(app, ["data", "download", "--help"])
    assert help_text.exit_code == 0, help_text.output
    text = " ".join(help_text.output.replace("│", " ").split())
    fetched = re.search(r"Tasks it downloads: ([^.]*)\.", text).group(1).split(", ")
    hub = re.search(r"--source hf:OWNER/NAME\): ([^.]*)\.", text).group(1).split(", ")
    assert task_id in fetched and "esc50" in fetched and "audioset" not in fetched
    assert task_id in hub and "esc50" in hub
    assert task_id in SOURCES and SOURCES[task_id] is catalog.meta(task_id).source  # what `data download` reads

    store = ResultsStore()
    stored = {r.run_id for r in store.records()}
    for rec in [fake_record("us8k", "u"), fake_record("esc50", "e"), *records]:
        if rec.run_id not in stored:
            store.append(rec)
    board = runner.invoke(app, ["leaderboard"])
    assert board.exit_code == 0, board.output
    header = board.output.splitlines()[0]
    assert [c.strip() for c in header.strip("|").split("|")][1:] == ["esc50", task_id, "us8k"]


def written_nowhere(word: str) -> None:
    """No file of the packages names the task: nothing but its own module and labels was added."""
    for folder in PACKAGE_FOLDERS:
        for path in (REPO / folder).rglob("*"):
            if path.suffix in (".py", ".json", ".toml", ".cfg") and path.is_file():
                assert word not in path.read_text(encoding="utf-8", errors="replace"), path


def test_a_task_module_alone_reaches_the_cli_downloads_hub_and_leaderboard(scratch_registry, monkeypatch, tmp_path):
    import soundfile as sf

    import zsbench
    from zsbench.tasks.catalog import download_from_hub

    task_id = "zsbtestbirdsong"
    write_plugin(tmp_path / "plugins", "zsbtest_birdsong", task_id)
    monkeypatch.syspath_prepend(str(tmp_path / "plugins"))
    assert task_id not in TASKS
    importlib.import_module("zsbtest_birdsong")
    written_nowhere(task_id)

    # its labels come from its own sidecar, its data loads and scores like any task
    from zsbench.tasks.metadata import label_names

    assert label_names(task_id) == ["blackbird", "robin"]
    data = tmp_path / "data"
    (data / "audio").mkdir(parents=True)
    (data / "meta.csv").write_text("filename,label\na.wav,blackbird\nb.wav,robin\n")
    for k, name in enumerate(["a.wav", "b.wav"]):
        sf.write(data / "audio" / name, np.random.default_rng(k).normal(0, 0.1, 16000).astype(np.float32), 16000)
    rec = zsbench.evaluate(model="demo", task=task_id, data_root=str(data), workers=0).record
    assert rec.task["id"] == task_id and rec.task["n_scored"] == 2

    assert_seen_everywhere(task_id, [rec])
    with pytest.raises(ValueError, match=rf"--source hf: is known for .*{task_id}.*not 'audioset'"):
        download_from_hub("audioset", "hf:a/b", tmp_path / "x")


def test_an_entry_point_plugin_declares_its_meta_and_is_seen_everywhere(scratch_registry, monkeypatch, tmp_path):
    from zsbench.registry import MODELS, PROMPTS

    MODELS.names(), PROMPTS.names()  # loaded before entry_points is replaced below
    task_id = "zsbtestentrypoint"
    write_plugin(tmp_path / "plugins", "zsbtest_entrypoint", task_id, register=False)  # the entry point registers it
    monkeypatch.syspath_prepend(str(tmp_path / "plugins"))
    eps = [EntryPoint(name=task_id, value="zsbtest_entrypoint:load_birdsong", group="zsbench.tasks")]
    monkeypatch.setattr(reg, "entry_points", lambda group: eps if group == "zsbench.tasks" else [])
    monkeypatch.setattr(TASKS, "_plugins_loaded", False)
    assert task_id in TASKS.names()
    written_nowhere(task_id)
    assert catalog.meta(task_id).leaderboard_order == 15
    assert_seen_everywhere(task_id, [fake_record(task_id, "p")])


# ---------------------------------------------------------------------------------------------
# The registry itself
# ---------------------------------------------------------------------------------------------

def test_every_module_of_the_tasks_package_is_discovered_and_every_task_declares_its_meta():
    import zsbench.tasks

    found = sorted(m.name for m in pkgutil.iter_modules(zsbench.tasks.__path__) if not m.name.startswith("_"))
    assert zsbench.tasks.MODULES == found and all(f"zsbench.tasks.{m}" in sys.modules for m in found)
    builtin = [e.name for e in TASKS.entries() if not isinstance(e.target, str)]
    assert builtin and set(builtin) <= set(catalog.metas())
    for name, meta in catalog.metas().items():
        assert meta.id == name and TASKS.get(name).meta is meta
        assert TASKS.get(name).__module__.startswith("zsbench.tasks."), name  # registered by its own module


def test_leaderboard_places_are_unique_and_follow_the_papers_table_ii():
    placed = {t: m.leaderboard_order for t, m in catalog.metas().items() if m.leaderboard_order is not None}
    assert len(set(placed.values())) == len(placed)
    ordered = catalog.leaderboard_order(catalog.metas())
    assert ordered[:len(placed)] == ["esc50", "us8k", "vggsound", "fsd50k", "tut2018", "audioset", "nsynth",
                                     "audiocaps", "clotho"]  # Table II's columns
    assert ordered[len(placed):] == sorted(set(catalog.metas()) - set(placed))  # the rest alphabetically
    assert catalog.leaderboard_order(["zz-unregistered", "clotho", "a-unregistered"]) == [
        "clotho", "a-unregistered", "zz-unregistered"]  # records of tasks no longer registered: at the end


def test_main_score_is_the_headline_its_metric_reports():
    from zsbench.registry import METRICS
    from zsbench.tasks.base import MAIN_SCORES

    scores, labels = np.array([[0.9, 0.1], [0.2, 0.8]]), ["a", "b"]
    reports = {"accuracy": METRICS.get("accuracy")(scores, np.array([0, 1]), labels),
               "map": METRICS.get("map")(scores, np.eye(2, dtype=int), labels),
               "retrieval": METRICS.get("retrieval")(scores, np.array([0, 1]))}
    assert {kind: r.headline for kind, r in reports.items()} == MAIN_SCORES
    for name, meta in catalog.metas().items():
        assert meta.headline == reports[meta.metric].headline, name


def test_sources_and_hub_layouts_come_from_the_registry():
    from zsbench.tasks.downloads import SOURCES

    metas = catalog.metas()
    assert dict(SOURCES) == {t: m.source for t, m in metas.items() if m.source is not None}
    assert catalog.downloadable() == [t for t, s in SOURCES.items() if not s.manual]
    assert catalog.by_hand() == [t for t, s in SOURCES.items() if s.manual]
    assert catalog.hub_tasks() == ["clotho", "esc50", "us8k"]
    for task_id in catalog.hub_tasks():
        layout = catalog.hub_layout(task_id)
        assert catalog.source(task_id) is not None  # a Hub copy stands in for a release zsbench knows
        module = sys.modules[TASKS.get(task_id).__module__]
        assert layout.metadata in module.__doc__  # the official file the loader reads
    assert catalog.hub_layout("not-a-task") is None and SOURCES.get("not-a-task") is None


def test_every_fixed_label_list_comes_from_the_tasks_own_sidecar():
    from zsbench.tasks.metadata import label_names

    for name in catalog.metas():
        module = sys.modules[TASKS.get(name).__module__]
        if not hasattr(module, "label_names"):
            continue
        labels = label_names(name)
        assert labels and len(set(labels)) == len(labels), name
