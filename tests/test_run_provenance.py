"""What a run record says about itself (issue #16): the weights file's sha256, the prompt source,
the task protocol, the resampler and the packages that touch numbers; and what every adapter
declares about its training data."""

from __future__ import annotations

import hashlib

import pytest

import zsbench
from zsbench.adapters.demo import WEIGHTS
from zsbench.registry import MODELS


def test_record_holds_checkpoint_sha256_prompt_source_protocol_and_versions():
    rec = zsbench.evaluate(model="demo", task="synthworld", prompts="template", store=False, workers=0).record
    assert rec.model["checkpoint"] == {"file": WEIGHTS.name, "path": str(WEIGHTS), "default": True,
                                       "sha256": hashlib.sha256(WEIGHTS.read_bytes()).hexdigest()}
    assert rec.prompts["source"] == {"kind": "template", "templates": ["This is a sound of {label}."]}
    assert rec.task["protocol"] == {"classes": 18, "clips": 360, "listed": 360, "metric": "accuracy",
                                    "params": rec.task["params"]}
    assert rec.preprocessing["resampler"]["name"] == "soxr-hq" and rec.preprocessing["resampler"]["version"]
    assert {"torchvision", "soxr", "librosa", "torchaudio"} <= set(rec.packages)
    assert rec.model["training"]["overlaps"]["synthworld"] and rec.model["template_source"]


def test_bank_strategies_record_the_bank_and_who_wrote_it(tmp_path):
    rec = zsbench.evaluate(model="demo", task="synthworld", prompts="augmented", n=2, store=False, workers=0).record
    source = rec.prompts["source"]
    assert source["kind"] == "bank" and source["bank_sha256"] == rec.prompts["params"]["bank_sha256"]
    assert "Claude" in source["provenance"]["generator"]


def test_a_user_checkpoint_is_recorded_as_not_the_default(tmp_path):
    import shutil

    mine = tmp_path / "mine.safetensors"
    shutil.copy(WEIGHTS, mine)
    rec = zsbench.evaluate(model="demo", checkpoint=str(mine), task="synthworld", store=False, workers=0).record
    assert rec.model["checkpoint"]["default"] is False and rec.model["checkpoint"]["file"] == "mine.safetensors"


@pytest.mark.parametrize("name", [n for n in MODELS.names()])
def test_every_adapter_says_what_it_was_trained_and_selected_on_with_a_source(name):
    meta = MODELS.get(name).meta
    training = meta.training
    assert training.trained_on and training.selected_on and training.sources, name
    assert meta.template_source and meta.template_source != "unknown", name
    assert "training" not in meta.to_dict() and "template_source" not in meta.to_dict()  # not in fingerprints


def test_laion_non_fusion_checkpoints_flag_esc50_selection():
    meta = MODELS.get("laion-clap-630k-audioset-best").meta
    assert "selected by ESC-50" in meta.training.overlaps["esc50"]
    assert "#75" in " ".join(meta.training.sources)
