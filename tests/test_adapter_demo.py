"""The shipped demo model: the tiny CLAP our recipe trained, loaded from package data.

The one accuracy assertion is deliberately loose (clearly above chance on classes it never heard
in training): it proves the whole pipeline (sound world -> recipe -> weights -> adapter ->
harness) works, not any particular number; the measured numbers are in the README."""

from __future__ import annotations

import pytest

import zsbench
from zsbench.adapters.base import LoadOptions
from zsbench.adapters.demo import WEIGHTS, DemoModel
from zsbench.conformance import validate
from zsbench.synthworld import HELD_OUT, SEEN


@pytest.fixture(scope="module")
def demo():
    return DemoModel(LoadOptions())


def test_shipped_weights_carry_their_recipe(demo):
    assert WEIGHTS.is_file() and WEIGHTS.stat().st_size < 5_000_000
    cfg = demo.info["train_config"]
    assert cfg["name"] == "tiny-cpu" and cfg["architecture"] == "tiny"
    assert cfg["keep_original_p"] == 0.4 and cfg["n_rewrites"] == 4
    assert cfg["synthworld_corpus"] and not cfg["train_csv"]  # the seen-class corpus, nothing else
    assert "reproduce" in demo.info and "zsbench train tiny-cpu" in demo.info["reproduce"]
    assert (WEIGHTS.parent / "demo-tiny-clap-log.csv").is_file()
    validate(demo)
    assert demo.fingerprint() == DemoModel(LoadOptions()).fingerprint()


def test_bad_checkpoints_are_refused_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="zsbench train tiny-cpu"):
        DemoModel(LoadOptions(checkpoint=str(tmp_path / "missing.safetensors")))
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="junk.safetensors: not a safetensors file"):
        DemoModel(LoadOptions(checkpoint=str(junk)))
    with pytest.raises(ValueError, match="takes no model options"):
        DemoModel(LoadOptions(extra={"x": 1}))


@pytest.mark.slow
def test_shipped_model_is_clearly_above_chance_on_held_out_classes(demo):
    result = zsbench.evaluate(demo, task="synthworld", prompts="description", store=False, workers=0,
                              task_options={"classes": "held-out", "n_per_class": 40})
    assert result.task.labels == list(HELD_OUT) and len(result.scored) == 200
    chance = 1 / len(HELD_OUT)  # binomial sd of the accuracy at chance over 200 clips: 2.8 points
    assert result.report.values["accuracy"] > chance + 0.08, result.report.values
    seen = zsbench.evaluate(demo, task="synthworld", prompts="template", store=False, workers=0,
                            task_options={"classes": "seen", "n_per_class": 6})
    assert seen.task.labels == list(SEEN) and seen.report.values["accuracy"] > 0.5
