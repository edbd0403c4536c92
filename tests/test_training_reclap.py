"""The ``reclap-base`` path (HTSAT + T5 through laion-clap) on CPU, shrunk: HTSAT-tiny and a
two-layer T5 of the same code. Its checkpoints load in the ``t5-clap`` adapter with the config
inside, and its periodic evaluation runs through ``zsbench.evaluate`` on that adapter."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from zsbench.adapters.base import LoadOptions

from zsbench.training.config import get_config
from zsbench.training.train import RunOptions, train

pytestmark = pytest.mark.slow

SMALL_T5 = {"vocab_size": 128, "d_model": 32, "d_kv": 8, "d_ff": 64, "num_layers": 2, "num_heads": 4}
SENTENCES = ("a dial tone humming steadily", "wind blowing in gusts", "a steady tone in a quiet room",
             "rushing wind outdoors", "This is a sound of wind.", "a telephone tone on a busy street")


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory):
    """A tiny T5-style tokenizer (flan-t5-large's is not available offline)."""
    from zsbench.testing.models import save_tiny_t5_tokenizer

    return save_tiny_t5_tokenizer(tmp_path_factory.mktemp("t5-tokenizer"), SENTENCES, SMALL_T5["vocab_size"])


def small(tokenizer=None):
    model = {"amodel": "HTSAT-tiny", "fusion": True, "pooling": "mean", "t5_config": SMALL_T5, "tokenizer": tokenizer}
    return get_config("reclap-base").replace(model=model, batch_size=2, max_steps=1, warmup_steps=1,
                                             checkpoint_every=1, log_every=1, loggers=("csv",), eval=())


def test_synthetic_steps_and_the_checkpoint_loads_in_t5_clap(tmp_path, tokenizer_dir):
    from zsbench.adapters.reclap import T5ClapRecipe

    result = train(small(), RunOptions(tmp_path / "run", synthetic=True, progress=False, threads=2))
    assert result["step"] == 1 and result["samples_per_s"] > 0
    state = torch.load(result["checkpoint"], map_location="cpu", weights_only=True)
    assert state["config"]["amodel"] == "HTSAT-tiny" and state["config"]["t5_config"]["d_model"] == 32
    assert state["train_config"]["keep_original_p"] == 0.4 and state["train_config"]["n_rewrites"] == 4
    adapter = T5ClapRecipe(LoadOptions(checkpoint=str(result["export"]), extra={"tokenizer": str(tokenizer_dir)}))
    assert adapter.config.amodel == "HTSAT-tiny" and adapter.config.fusion
    assert adapter.embed_text(["wind blowing"]).shape == (1, 512)
    for name, value in adapter.clap.model.state_dict().items():
        assert torch.equal(value, state["state_dict"][name]), name
    exported = torch.load(result["export"], map_location="cpu", weights_only=True)
    assert set(exported) == {"config", "state_dict"}
    # a new run can start its audio tower from this one (the paper starts from a pretrained HTSAT)
    from zsbench.training.arch_t5 import T5Arch

    cfg = small().with_overrides([f"model.audio_init={result['export']}"])
    arch = T5Arch(cfg, tmp_path, "cpu", 0, 1, synthetic=True, progress=False)
    for name, value in arch.model.audio_branch.state_dict().items():
        assert torch.equal(value, exported["state_dict"][f"audio_branch.{name}"]), name
    with pytest.raises(ValueError, match="no audio_branch"):
        torch.save({"state_dict": {"x": torch.zeros(1)}}, tmp_path / "bad.pt")
        T5Arch(small().with_overrides([f"model.audio_init={tmp_path / 'bad.pt'}"]), tmp_path, "cpu", 0, 1,
               synthetic=True, progress=False)


def test_real_data_path_with_augmentation_and_evaluation(tmp_path, tokenizer_dir):
    """CSV -> 48 kHz int16 -> laion-clap fusion features; the end-of-run evaluation goes through
    the t5-clap adapter on the checkpoint just written."""
    from zsbench.synthworld.corpus import write_corpus

    csv_path = write_corpus(tmp_path / "corpus", 2, seed=3, classes=("dial tone", "wind"), progress=False)
    spec = {"task": "synthworld", "prompts": "template", "workers": 0,
            "task_options": {"classes": "dial tone,wind", "n_per_class": 1}}
    cfg = dataclasses.replace(small(str(tokenizer_dir)), train_csv=str(csv_path), eval=(spec,))
    result = train(cfg, RunOptions(tmp_path / "run", progress=False, threads=2))
    (name, metrics), = result["evals"].items()
    assert name.startswith("synthworld[") and 0.0 <= metrics["accuracy"] <= 1.0
    lines = (tmp_path / "run" / "eval.jsonl").read_text().splitlines()
    assert json.loads(lines[-1])["step"] == 1
