"""hf-clap against transformers itself, on tiny seeded ClapModels saved the save_pretrained way.

The reference side is what a transformers user writes: soundfile + librosa.resample (soxr_hq)
to 48 kHz, ClapProcessor, ClapModel.get_audio_features / get_text_features, and the
zero-shot-audio-classification pipeline. Our side goes through the harness (decode, soxr,
clip policy, per-clip seeds) into the adapter.
"""

from __future__ import annotations

import inspect
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from zsbench.adapters import hf_clap
from zsbench.adapters.base import LoadOptions

from zsbench.data.audio import Preprocessing, clip_seed, prepare_clip
from zsbench.evaluation.cache import EmbeddingCache
from zsbench.data.checkpoints import CheckpointUnavailable
from zsbench.conformance import validate
from zsbench.evaluation.embed import embed_audio
from zsbench.registry import MODELS
from zsbench.testing.models import save_tiny_clap

SR = 48000
TOL = 1e-4
LABELS = ["dog", "rain", "crying baby", "clock tick", "helicopter", "church bells"]
VARIANTS = {  # registered name -> (default Hub repo, long-clip rule)
    "hf-clap": ("laion/clap-htsat-unfused", "random"),
    "hf-clap-htsat-unfused": ("laion/clap-htsat-unfused", "random"),
    "hf-clap-htsat-fused": ("laion/clap-htsat-fused", "fusion"),
    "hf-larger-clap-general": ("laion/larger_clap_general", "random"),
    "hf-larger-clap-music-and-speech": ("laion/larger_clap_music_and_speech", "random"),
    "hf-larger-clap-music": ("laion/larger_clap_music", "random"),
}


@pytest.fixture(scope="module")
def checkpoints(hf_cache, tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("hf-clap")
    return {"unfused": save_tiny_clap(base / "unfused"), "fused": save_tiny_clap(base / "fused", fusion=True)}


@pytest.fixture(scope="module")
def adapters(checkpoints) -> dict[str, hf_clap.HFClap]:
    return {kind: hf_clap.HFClap(LoadOptions(checkpoint=str(folder))) for kind, folder in checkpoints.items()}


@pytest.fixture(scope="module")
def reference(checkpoints):
    """kind -> (ClapModel, ClapProcessor) loaded by transformers alone."""
    from transformers import ClapModel, ClapProcessor

    return {kind: (ClapModel.from_pretrained(folder).eval(), ClapProcessor.from_pretrained(folder))
            for kind, folder in checkpoints.items()}


@pytest.fixture(scope="module")
def clips(clip_set) -> list[Path]:
    """5 ESC-shaped clips of different classes, the 48 kHz stereo clip and the edge cases
    within the 10 s window (odd rate, lengths one sample over, a third of a second)."""
    return [*clip_set.spread(5), clip_set.stereo48k, *clip_set.edge]


def _load_like_transformers_users(path: Path) -> np.ndarray:
    """soundfile, mono mean, librosa.resample with its defaults (soxr_hq, then the length fixed
    to ceil(n * 48000 / 44100) in floating point: 240001 samples for a 5 s ESC-50 clip)."""
    import librosa
    import soundfile as sf

    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    return librosa.resample(data.mean(axis=1), orig_sr=sr, target_sr=SR)


def _reference_audio(model, processor, audios: list[np.ndarray], seeds: list[int] | None, batched: bool) -> np.ndarray:
    """get_audio_features on the processor's output; one call per clip (as the pipeline does)
    unless ``batched``, with numpy's RNG seeded before each call when seeds are given."""
    import torch

    def run(batch: list[np.ndarray]) -> np.ndarray:
        inputs = processor(audio=batch, sampling_rate=SR, return_tensors="pt")
        with torch.inference_mode():
            return model.get_audio_features(**inputs).numpy()

    if batched:
        return run(audios)
    out = []
    for i, audio in enumerate(audios):
        if seeds is not None:
            np.random.seed(seeds[i])
        out.append(run([audio]))
    return np.concatenate(out)


def _reference_text(model, processor, texts: list[str]) -> np.ndarray:
    import torch

    inputs = processor(text=texts, padding=True, return_tensors="pt")
    with torch.inference_mode():
        return model.get_text_features(**inputs).numpy()


def _harness_audio(adapter, paths: list[Path], seed: int = 0) -> np.ndarray:
    prep = Preprocessing(adapter.meta.sample_rate, adapter.meta.clip, "seeded", seed)
    result = embed_audio(adapter, paths, prep, EmbeddingCache(None, adapter.fingerprint()), batch_size=4, workers=0,
                         progress=False)
    return np.stack([result.embeddings[i] for i in range(len(paths))])


def _prompts() -> list[str]:
    return [hf_clap.TEMPLATE.format(label=label) for label in LABELS]


# --- registry -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_registry_meta(name):
    cls = MODELS.get(name)
    repo, long = VARIANTS[name]
    assert cls.hub_id == repo
    meta = cls.meta
    assert (meta.name, meta.sample_rate, meta.embed_dim, meta.templates) == (name, 48000, 512, (hf_clap.TEMPLATE,))
    assert (meta.clip.seconds, meta.clip.short, meta.clip.long, meta.clip.channels) == (10.0, "repeatpad", long, "mean")
    assert meta.clip.int16 is False  # the HF port skips LAION's int16 round trip
    assert meta.clip.resampler == "soxr-hq"


@pytest.mark.slow  # importing transformers.pipelines takes seconds
def test_template_is_the_pipelines_default():
    from transformers.pipelines.zero_shot_audio_classification import (
        ZeroShotAudioClassificationPipeline,
    )

    default = inspect.signature(ZeroShotAudioClassificationPipeline.preprocess).parameters["hypothesis_template"].default
    assert default.replace("{}", "{label}") == hf_clap.TEMPLATE


def test_import_stays_light():
    code = "import sys, zsbench.adapters.hf_clap; assert 'transformers' not in sys.modules, 'transformers imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_instance_meta_follows_the_checkpoint_config(adapters):
    for kind, long in (("unfused", "random"), ("fused", "fusion")):
        meta = adapters[kind].meta
        assert meta.embed_dim == 16 and meta.sample_rate == 48000
        assert (meta.clip.seconds, meta.clip.short, meta.clip.long, meta.clip.int16) == (10.0, "repeatpad", long, False)
    assert adapters["unfused"].extractor.frequency_min == 50  # the checkpoint's value, not the class default 0


# --- parity ---------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["unfused", "fused"])
def test_audio_and_text_parity_with_transformers(kind, adapters, reference, clips):
    adapter, (model, processor) = adapters[kind], reference[kind]
    ours = _harness_audio(adapter, clips)
    seeds = [clip_seed(0, str(p)) for p in clips]
    # the unfused extractor has no randomness for clips up to 10 s, so a batched call is the same
    theirs = _reference_audio(model, processor, [_load_like_transformers_users(p) for p in clips], seeds,
                              batched=kind == "unfused")
    audio_diff = np.abs(ours - theirs).max()
    assert audio_diff < TOL, f"{kind}: audio max abs diff {audio_diff:.2e}"

    text_ours, text_theirs = adapter.embed_text(_prompts()), _reference_text(model, processor, _prompts())
    text_diff = np.abs(text_ours - text_theirs).max()
    assert text_diff < TOL, f"{kind}: text max abs diff {text_diff:.2e}"
    np.testing.assert_array_equal((ours @ text_ours.T).argmax(1), (theirs @ text_theirs.T).argmax(1))
    # batch independence: one text alone embeds as it does among longer ones
    assert np.abs(adapter.embed_text(_prompts()[:1])[0] - text_ours[0]).max() < 1e-5


@pytest.mark.slow
def test_top_label_matches_the_zero_shot_pipeline(adapters, checkpoints, clips):
    import torch
    from transformers import pipeline

    adapter = adapters["unfused"]
    classifier = pipeline("zero-shot-audio-classification", model=str(checkpoints["unfused"]), device="cpu")
    result = classifier(_load_like_transformers_users(clips[1]), candidate_labels=LABELS)
    theirs = {r["label"]: r["score"] for r in result}

    sims = _harness_audio(adapter, clips[1:2])[0] @ adapter.embed_text(_prompts()).T
    probs = torch.softmax(adapter.model.logit_scale_a.exp().detach() * torch.from_numpy(sims), 0).numpy()
    assert LABELS[int(probs.argmax())] == result[0]["label"]
    assert np.abs(probs - np.array([theirs[label] for label in LABELS])).max() < TOL


@pytest.mark.slow
def test_fusion_chunks_follow_the_seed(adapters, reference, tmp_path):
    import soundfile as sf

    adapter, (model, processor) = adapters["fused"], reference["fused"]
    t = np.arange(15 * SR) / SR
    rng = np.random.default_rng(1)
    clip = (0.3 * np.sin(2 * np.pi * 440 * t * (1 + t / 15)) * (t / 15)
            + 0.2 * rng.standard_normal(t.size) * (t < 5)).astype(np.float32)  # different in every third

    state = np.random.get_state()
    same = adapter.embed_audio([clip], seeds=[7])
    assert np.array_equal(np.random.get_state()[1], state[1]), "seeding must not disturb numpy's global RNG"
    np.testing.assert_array_equal(adapter.embed_audio([clip], seeds=[7]), same)
    assert np.abs(same - _reference_audio(model, processor, [clip], [7], batched=False)).max() < TOL
    assert np.abs(same - adapter.embed_audio([clip], seeds=[8])).max() > 1e-3  # other chunks, other embedding
    assert adapter.embed_audio([clip], seeds=None).shape == (1, 16)  # unseeded: the reference behaviour

    # through the harness: the whole clip goes in, and the chunks come from the per-clip seed
    path = tmp_path / "long.wav"
    sf.write(path, clip, SR, subtype="FLOAT")
    windows = prepare_clip(path, Preprocessing(SR, adapter.meta.clip, "seeded", 0), str(path))
    assert windows.shape == (1, clip.size)
    theirs = _reference_audio(model, processor, [clip], [clip_seed(0, str(path))], batched=False)
    assert np.abs(_harness_audio(adapter, [path]) - theirs).max() < TOL


@pytest.mark.slow
def test_rand_trunc_windows_are_cut_by_the_harness(adapters, reference, tmp_path):
    import soundfile as sf

    adapter, (model, processor) = adapters["unfused"], reference["unfused"]
    clip = np.random.default_rng(2).uniform(-0.2, 0.2, 15 * SR).astype(np.float32)
    path = tmp_path / "long.wav"
    sf.write(path, clip, SR, subtype="FLOAT")
    # --crop seeded hands the adapter exactly 10 s, so the extractor's random truncation never fires
    assert prepare_clip(path, Preprocessing(SR, adapter.meta.clip, "seeded", 0), str(path)).shape == (1, 10 * SR)
    # a longer window given directly is cropped by the extractor, from its seed
    ours = adapter.embed_audio([clip], seeds=[3])
    np.testing.assert_array_equal(adapter.embed_audio([clip], seeds=[3]), ours)
    assert np.abs(ours - _reference_audio(model, processor, [clip], [3], batched=False)).max() < TOL


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["unfused", "fused"])
def test_conformance(kind, adapters):
    validate(adapters[kind])


# --- loading --------------------------------------------------------------------------------


def _copy(folder: Path, dest: Path, without: tuple[str, ...] = ()) -> Path:
    shutil.copytree(folder, dest, ignore=shutil.ignore_patterns(*without))
    return dest


@pytest.mark.slow
def test_fingerprint(adapters, checkpoints, tmp_path):
    folder = checkpoints["unfused"]
    fp = adapters["unfused"].fingerprint()
    assert fp == hf_clap.HFClap(LoadOptions(checkpoint=str(folder))).fingerprint()
    assert fp == hf_clap.HFClap(LoadOptions(checkpoint=str(_copy(folder, tmp_path / "copy")))).fingerprint()
    assert fp != adapters["fused"].fingerprint()
    other = save_tiny_clap(tmp_path / "other-weights", seed=1)
    assert fp != hf_clap.HFClap(LoadOptions(checkpoint=str(other))).fingerprint()
    edited = _copy(folder, tmp_path / "edited")
    config = json.loads((edited / "preprocessor_config.json").read_text())
    (edited / "preprocessor_config.json").write_text(json.dumps({**config, "frequency_min": 0}))
    assert fp != hf_clap.HFClap(LoadOptions(checkpoint=str(edited))).fingerprint()


@pytest.mark.slow
def test_bin_weights_load_with_weights_only(adapters, checkpoints, reference, tmp_path):
    model, _ = reference["unfused"]
    folder = _copy(checkpoints["unfused"], tmp_path / "bin", without=("model.safetensors",))
    model.save_pretrained(folder, safe_serialization=False)
    assert (folder / "pytorch_model.bin").exists() and not (folder / "model.safetensors").exists()
    loaded = hf_clap.HFClap(LoadOptions(checkpoint=str(folder)))
    audio = np.random.default_rng(3).uniform(-0.1, 0.1, (1, 10 * SR)).astype(np.float32)
    np.testing.assert_allclose(loaded.embed_audio(audio, [0]), adapters["unfused"].embed_audio(audio, [0]), atol=1e-6)


class _Marker:
    """Unpickling this calls open(path, "w"): a harmless side effect that proves code ran."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return open, (self.path, "w")


def test_pickle_that_runs_code_is_refused(checkpoints, tmp_path):
    import torch

    folder = _copy(checkpoints["unfused"], tmp_path / "evil", without=("model.safetensors",))
    marker = tmp_path / "code-ran"
    torch.save({"audio_projection.linear1.weight": _Marker(marker)}, folder / "pytorch_model.bin")
    with pytest.raises(ValueError, match=r"pytorch_model\.bin: refused.*nothing in it was run"):
        hf_clap.HFClap(LoadOptions(checkpoint=str(folder)))
    assert not marker.exists()
    torch.load(folder / "pytorch_model.bin", weights_only=False)  # the file is a real attack: unguarded, it runs
    assert marker.exists()


def test_wrong_architecture_names_the_keys(checkpoints, tmp_path):
    from safetensors.torch import load_file, save_file

    folder = _copy(checkpoints["unfused"], tmp_path / "wrong")
    state = load_file(folder / "model.safetensors")
    state["bogus.weight"] = state.pop("audio_projection.linear1.weight")
    save_file(state, folder / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ValueError, match=r"missing keys 1 \[audio_projection\.linear1\.weight\].*"
                                         r"unexpected keys 1 \[bogus\.weight\]"):
        hf_clap.HFClap(LoadOptions(checkpoint=str(folder)))


def test_file_that_is_not_a_checkpoint(checkpoints, tmp_path):
    folder = _copy(checkpoints["unfused"], tmp_path / "garbage")
    (folder / "model.safetensors").write_bytes(b"this is not a checkpoint")
    with pytest.raises(ValueError, match="model.safetensors"):
        hf_clap.HFClap(LoadOptions(checkpoint=str(folder)))


@pytest.mark.parametrize("drop,match", [
    (("model.safetensors",), "no ClapModel weights"),
    (("preprocessor_config.json",), "preprocessor_config.json is missing"),
    (("vocab.json", "merges.txt"), "no tokenizer files"),
])
def test_incomplete_folder_names_the_folder(checkpoints, tmp_path, drop, match):
    folder = _copy(checkpoints["unfused"], tmp_path / "incomplete", without=drop)
    with pytest.raises(ValueError, match=match) as info:
        hf_clap.HFClap(LoadOptions(checkpoint=str(folder)))
    assert str(folder) in str(info.value)


def test_a_single_file_is_not_a_checkpoint_folder(checkpoints):
    with pytest.raises(ValueError, match="save_pretrained layout"):
        hf_clap.HFClap(LoadOptions(checkpoint=str(checkpoints["unfused"] / "model.safetensors")))


@pytest.mark.parametrize("name,options,repo", [
    ("hf-clap", LoadOptions(), "laion/clap-htsat-unfused"),
    ("hf-clap", LoadOptions(checkpoint="laion/no-such-clap"), "laion/no-such-clap"),
    ("hf-clap", LoadOptions(checkpoint="hf://laion/clap-htsat-fused"), "laion/clap-htsat-fused"),
    ("hf-clap", LoadOptions(extra={"hub_id": "laion/clap-htsat-fused"}), "laion/clap-htsat-fused"),
    ("hf-larger-clap-music", LoadOptions(), "laion/larger_clap_music"),
])
def test_hub_checkpoint_not_available_offline(hf_cache, name, options, repo):
    with pytest.raises(CheckpointUnavailable, match="--checkpoint") as info:
        MODELS.get(name)(options)
    assert f"huggingface-cli download {repo}" in str(info.value)


def test_bad_options(checkpoints):
    with pytest.raises(ValueError, match="not both"):
        hf_clap.HFClap(LoadOptions(checkpoint=str(checkpoints["unfused"]), extra={"hub_id": "laion/clap-htsat-fused"}))
    with pytest.raises(ValueError, match="unknown option"):
        hf_clap.HFClap(LoadOptions(checkpoint=str(checkpoints["unfused"]), extra={"fusion": True}))


def test_unavailable_device(checkpoints):
    import torch

    device = "mps" if not torch.backends.mps.is_available() else "cuda:0"
    if device.startswith("cuda") and torch.cuda.is_available():
        pytest.skip("both mps and cuda are available here")
    with pytest.raises(ValueError, match="not available"):
        hf_clap.HFClap(LoadOptions(device=device, checkpoint=str(checkpoints["unfused"])))
