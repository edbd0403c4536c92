"""Your own model (issue #18): a ``package.module:Class`` adapter is loaded wherever a model name
goes, ``zsbench check-model`` runs every conformance check and says which fail and why, and the
README's example adapter is the tested file ``examples/my_clap.py``."""

from __future__ import annotations

import json
import re
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from zsbench.cli.main import app
from zsbench.conformance import failures, run_checks

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "my_clap.py"

# Toy adapters in plain NumPy (fast, no weights): one that keeps the contract, and the two broken
# ways the issue names. Written to a temporary module so the CLI imports them by module:Class.
TOYS = textwrap.dedent('''
    import zlib

    import numpy as np

    from zsbench.adapters.base import ModelMeta, fingerprint_of, l2_normalize
    from zsbench.data.audio import ClipPolicy


    class Good:
        meta = ModelMeta(name="toy", sample_rate=8000, clip=ClipPolicy(seconds=1.0), embed_dim=16,
                         templates=("{label}",), description="toy")

        def __init__(self, options=None):
            self.w = np.random.default_rng(0).standard_normal((8000, 16)).astype(np.float32) / 100

        def fingerprint(self):
            return fingerprint_of("toy")

        def embed_audio(self, windows, seeds=None):
            return l2_normalize(np.abs(np.asarray(windows, np.float32)) @ self.w + 0.1)

        def embed_text(self, texts):
            return l2_normalize(np.stack([np.random.default_rng(zlib.crc32(t.encode())).standard_normal(16)
                                          for t in texts]))


    class NotNormalised(Good):
        def embed_audio(self, windows, seeds=None):
            return 3 * super().embed_audio(windows, seeds)


    class BatchDependent(Good):
        def embed_audio(self, windows, seeds=None):
            x = np.asarray(windows, np.float32)
            return l2_normalize(np.abs(x - x.mean(axis=0)) @ self.w + 0.1)  # batch statistics leak in


    class NoText:
        meta = Good.meta

        def fingerprint(self):
            return "toy-no-text"

        def embed_audio(self, windows, seeds=None):
            return np.zeros((len(windows), 16), np.float32)
''')


def cli(*args: str):
    """``zsbench ARGS`` in this process (wide, so no reason wraps), as the console script runs it."""
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})


@pytest.fixture
def importable(tmp_path, monkeypatch) -> str:
    """The repository root and a module of toy adapters on sys.path, as ``PYTHONPATH=.`` puts them."""
    (tmp_path / "zsb_toy_adapters.py").write_text(TOYS)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(REPO))
    yield "zsb_toy_adapters"
    sys.modules.pop("zsb_toy_adapters", None)


def readme_example() -> str:
    """The python block of the README's "Evaluate your own model" section."""
    text = (REPO / "README.md").read_text()
    section = text.split("## Evaluate your own model", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the section should hold exactly one python block: the example adapter"
    return blocks[0]


def test_readme_example_is_the_tested_file():
    assert readme_example() == EXAMPLE.read_text()


def test_example_passes_check_model(importable):
    result = cli("check-model", "examples.my_clap:MyClap")
    assert result.exit_code == 0, result.output
    assert "all 16 checks passed" in result.output
    assert "FAIL" not in result.output
    assert re.search(r"speed: audio\s+info\s+[\d.]+ clips/s", result.output)


def test_example_runs_a_task_and_the_record_names_it(importable, tmp_path):
    out = tmp_path / "record.json"
    result = cli("run", "--model", "examples.my_clap:MyClap", "--task", "synthworld", "--task-option",
                 "n_per_class=1", "--quiet", "--output", str(out))
    assert result.exit_code == 0, result.output
    record = json.loads(out.read_text())
    assert record["model"]["name"] == "examples.my_clap:MyClap"
    assert record["model"]["meta"]["name"] == "my-clap"
    assert record["task"]["id"] == "synthworld" and record["task"]["n_scored"] == record["task"]["n_items"] > 0


def test_sweep_accepts_an_import_path(importable):
    result = cli("sweep", "seed=0,1", "--model", f"{importable}:Good", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "[2/2]" in result.output


def test_a_conforming_toy_passes(importable):
    result = cli("check-model", f"{importable}:Good")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("cls,failing,reason", [
    ("NotNormalised", {"audio: unit norm", "audio: short clip", "audio: long clip"}, "must be L2-normalised"),
    ("BatchDependent", {"audio: batch invariance"}, "depends on the rest of its batch"),
])
def test_broken_adapters_fail_check_model_with_the_reason(importable, cls, failing, reason):
    from zsbench.registry import MODELS

    results = run_checks(MODELS.get(f"{importable}:{cls}")(), speed=False)
    assert {r.name for r in failures(results)} == failing
    assert all(reason in r.reason for r in failures(results))
    result = cli("check-model", f"{importable}:{cls}")
    assert result.exit_code == 1, result.output
    assert reason in result.output and f"{len(failing)} of 16 checks failed" in result.output
    for name in failing:
        assert re.search(rf"{re.escape(name)}\s+FAIL", result.output), result.output


def test_an_unimportable_module_is_one_line_naming_it_and_the_fix():
    result = cli("run", "--model", "no_such_pkg_zsb.adapter:Model")
    assert result.exit_code == 2
    assert "no module named 'no_such_pkg_zsb.adapter'" in result.output and "PYTHONPATH=." in result.output


def test_a_missing_class_lists_what_the_module_defines(importable):
    result = cli("check-model", f"{importable}:Goood")
    assert result.exit_code == 2
    assert "has no attribute 'Goood'" in result.output and "BatchDependent, Good" in result.output


def test_a_class_breaking_the_protocol_is_refused_by_the_registry_check(importable):
    result = cli("run", "--model", f"{importable}:NoText")
    assert result.exit_code == 2
    assert "is not a AudioTextModel: it lacks embed_text" in result.output
    assert "zsb_toy_adapters.py" in result.output  # names the file to fix


def test_import_paths_are_not_listed_as_registered():
    from zsbench.registry import MODELS

    assert not any(":" in name for name in MODELS.names())
