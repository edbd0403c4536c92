"""The ``laion-clap`` architecture (HTSAT + RoBERTa, LAION-CLAP's own layout): two real training
steps on ESC-50 clips, then the exported checkpoint loads in the registered ``laion-clap-630k-best``
adapter with ``--checkpoint`` and embeds exactly as the trained module does."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from zsbench.adapters.base import LoadOptions
from zsbench.training import train as train_module
from zsbench.training.arch_laion import LaionArch, LaionConfig, adapter_class
from zsbench.training.config import get_config
from zsbench.training.train import RunOptions, train


def test_laion_base_is_htsat_base_fusion_roberta_at_laions_learning_rate():
    cfg = get_config("laion-base")
    assert cfg.architecture == "laion-clap" and cfg.lr == 1e-4 and cfg.batch_size == 256
    assert LaionConfig.from_model(cfg.model) == LaionConfig("HTSAT-base", True)
    with pytest.raises(ValueError, match="unknown option.*t5_config"):
        LaionConfig.from_model({"amodel": "HTSAT-tiny", "t5_config": {}})
    with pytest.raises(ValueError, match="choose HTSAT-tiny, HTSAT-base"):
        LaionConfig.from_model({"amodel": "PANN-14"})
    assert adapter_class(LaionConfig("HTSAT-tiny", False)).meta.name == "laion-clap-630k-best"


@pytest.fixture
def esc50_csv(tmp_path, esc50_clips):
    """Four real ESC-50 clips with captions and rewrites, in the recipe's CSV format."""
    path = tmp_path / "train.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "caption", "rewritten_captions"])
        for i, clip in enumerate(esc50_clips[:4]):
            writer.writerow([str(clip), f"a recorded sound, number {i}",
                             json.dumps([f"sound number {i} recorded outdoors", f"a short clip {i}"])])
    return path


@pytest.mark.slow
def test_two_steps_on_esc50_and_the_export_loads_in_laion_clap_630k(tmp_path, esc50_csv, esc50_clips, hf_cache,
                                                                    monkeypatch):
    import soundfile as sf

    from zsbench.adapters.laion import VARIANTS
    from zsbench.data.audio import int16_roundtrip, resample

    made: list[LaionArch] = []

    class Recorded(LaionArch):  # keeps the trained module to compare the adapter's numbers with
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.initial = self.model.audio_projection[0].weight.detach().clone()
            made.append(self)

    monkeypatch.setattr(train_module, "_arch", lambda cfg: Recorded)
    cfg = get_config("laion-base").replace(
        train_csv=str(esc50_csv), model={"amodel": "HTSAT-tiny", "fusion": False}, batch_size=2, max_steps=2,
        warmup_steps=1, checkpoint_every=2, log_every=1, loggers=("csv",), eval=(), num_workers=0)
    result = train(cfg, RunOptions(tmp_path / "run", progress=False, threads=2))
    (arch,) = made
    assert result["step"] == 2
    assert not torch.equal(arch.model.audio_projection[0].weight, arch.initial)  # the steps did train

    exported = torch.load(result["export"], map_location="cpu", weights_only=True)
    assert exported["config"] == {"amodel": "HTSAT-tiny", "fusion": False}
    assert exported["train_config"]["architecture"] == "laion-clap" and exported["train_config"]["lr"] == 1e-4

    adapter = VARIANTS["laion-clap-630k-best"](LoadOptions(checkpoint=str(result["export"])))
    trained = arch.model.eval()
    for name, value in trained.state_dict().items():
        assert torch.equal(adapter.clap.model.state_dict()[name], value), name

    clip = esc50_clips[0]
    wav, rate = sf.read(clip, dtype="float32", always_2d=True)
    window = int16_roundtrip(resample(wav[:, 0], rate, 48000))
    with torch.no_grad():
        own_audio = trained.get_audio_embedding([arch._audio(str(clip), seed=0)]).numpy()
        own_text = trained.get_text_embedding(arch.tokenize(["a dog barks twice"])).numpy()
    np.testing.assert_allclose(adapter.embed_audio([window]), own_audio, rtol=0, atol=1e-6)
    # the recipe tokenises as the package's text branch does (RoBERTa, padded to 77)
    np.testing.assert_allclose(adapter.embed_text(["a dog barks twice"]), own_text, rtol=0, atol=1e-6)
    assert arch.tokenize(["a dog barks twice"])["input_ids"].shape == (1, 77)
    # the end-of-run evaluation goes through that adapter on the exported file (the `zsbench run` path)
    spec = {"task": "synthworld", "prompts": "template", "workers": 0,
            "task_options": {"classes": "dial tone,wind", "n_per_class": 1}}
    assert 0.0 <= arch.evaluate(spec, Path(result["export"]))["accuracy"] <= 1.0


def test_synthetic_fusion_batch_has_the_real_shapes_and_trains_the_projected_embeddings(tmp_path, hf_cache):
    """``--synthetic`` (throughput runs): fused mels and RoBERTa ids below its vocabulary, through
    the same forward as the real data; the unused MLP heads and ``logit_scale_t`` stay frozen."""
    cfg = get_config("laion-base").replace(model={"amodel": "HTSAT-tiny", "fusion": True}, batch_size=2)
    arch = LaionArch(cfg, tmp_path, "cpu", 0, 1, synthetic=True, progress=False)
    audio, text = arch.batch(0)
    assert audio["mel_fusion"].shape == (2, 4, 1001, 64) and "waveform" not in audio
    assert text["input_ids"].shape == (2, 77) and int(text["input_ids"].max()) < 50265
    a, t, scale = arch.wrap()(audio, text)
    assert a.shape == t.shape == (2, 512) and scale is arch.model.logit_scale_a
    assert not arch.model.logit_scale_t.requires_grad
    assert not any(p.requires_grad for p in arch.model.text_transform.parameters())
