"""LAION-CLAP adapters against the ``laion_clap`` package itself, on real clips.

Each reference is ``laion_clap.CLAP_Module`` with seeded random weights (nothing is downloaded);
its state dict is saved as a LAION-style checkpoint and loaded through our adapter. Audio goes
through the package's own file API on one side and through the harness's decoding
(``prepare_clip``) on the other, so the comparison covers decoding, resampling, the int16 round
trip, filling, chunking, the model and the text side.
"""

from __future__ import annotations

import importlib.util
import os
import pickle
import re
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import numpy as np
import pytest

if importlib.util.find_spec("laion_clap") is None:
    pytest.skip("laion-clap is not installed (pip install zsbench[laion])", allow_module_level=True)

import soundfile as sf
import torch

from zsbench.adapters import laion
from zsbench.adapters.base import LoadOptions
from zsbench.data.audio import (Preprocessing, clip_seed, crop_offsets, decode, int16_roundtrip, mix_channels,
                                prepare_clip, resample)
from zsbench.registry import MODELS

TOL = 1e-4
SR = 48000
LABELS = ("dog", "rain", "church bells", "chainsaw", "crackling fire", "crying baby " * 40)  # the last > 77 tokens
# test id -> (audio tower, fusion, adapter with that architecture)
ARCHS = {"tiny": ("HTSAT-tiny", False, "laion-clap-630k-audioset-best"),
         "tiny-fusion": ("HTSAT-tiny", True, "laion-clap-630k-audioset-fusion-best"),
         "base": ("HTSAT-base", False, "laion-clap-music-audioset")}
ALL_NAMES = ("laion-clap", "laion-clap-630k-best", "laion-clap-630k-audioset-best", "laion-clap-630k-fusion-best",
             "laion-clap-630k-audioset-fusion-best", "laion-clap-music-audioset", "laion-clap-music-speech",
             "laion-clap-music-speech-audioset")


def reference_model(amodel: str, fusion: bool, seed: int = 0):
    """The package's CLAP_Module with seeded random weights (roberta-base built from its config)."""
    torch.manual_seed(seed)
    return laion.build_clap(amodel, fusion)


def save_checkpoint(state: dict, path):
    """As LAION's training saves them: DDP prefix, extra entries, and the position_ids buffer
    that transformers < 4.31 kept in the state dict."""
    state = {"module." + k: v for k, v in state.items()}
    state["module." + laion.POSITION_IDS] = torch.arange(514).expand((1, -1))
    torch.save({"epoch": 15, "name": "test", "state_dict": state}, path)
    return path


def ours(model, paths) -> np.ndarray:
    """The harness's path: prepare_clip with the adapter's own policy, then embed_audio."""
    prep = Preprocessing(model.meta.sample_rate, model.meta.clip, crop="seeded")
    windows = [prepare_clip(p, prep, str(p)) for p in paths]
    seeds = [clip_seed(prep.seed, str(p)) for p in paths]
    same = all(w.shape == windows[0].shape for w in windows)
    batch = np.concatenate(windows) if same else [w[0] for w in windows]
    return model.embed_audio(batch, seeds=seeds)


@pytest.fixture(scope="module")
def ckpt_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("laion-checkpoints")


@pytest.fixture(scope="module")
def clips(clip_set) -> list:
    """4 ESC-shaped clips of different classes (44.1 kHz mono, 5 s), the 48 kHz stereo clip and
    the edge cases within the 10 s window (odd rate, lengths one sample over, a third of a second)."""
    return [*clip_set.spread(4), clip_set.stereo48k, *clip_set.edge]


@pytest.fixture(scope="module", params=list(ARCHS))
def pair(request, ckpt_dir, clips):
    """Reference and adapter for one architecture, with both sides' embeddings of ``clips``."""
    amodel, fusion, name = ARCHS[request.param]
    ref = reference_model(amodel, fusion)
    path = save_checkpoint(ref.model.state_dict(), ckpt_dir / f"{request.param}.pt")
    model = laion.VARIANTS[name](LoadOptions(checkpoint=str(path)))
    template = model.meta.templates[0]
    prompts = [template.format(label=label) for label in LABELS]
    ref_audio = ref.get_audio_embedding_from_filelist(x=[str(p) for p in clips], use_tensor=False)
    ref_text = ref.get_text_embedding(prompts)
    yield SimpleNamespace(arch=request.param, ref=ref, model=model, path=path, paths=clips, prompts=prompts, ref_audio=ref_audio,
                          ref_text=ref_text, audio=ours(model, clips), text=model.embed_text(prompts))


def write_long_clip(path, seconds: float = 15.0):
    """A synthetic 15 s clip at 48 kHz whose halves differ, so crops and chunks matter."""
    t = np.arange(int(seconds * SR)) / SR
    rng = np.random.default_rng(7)
    audio = 0.3 * np.sin(2 * np.pi * (200 + 60 * t) * t) + 0.1 * rng.standard_normal(t.size) * (t > seconds / 2)
    sf.write(path, audio.astype(np.float32), SR, subtype="FLOAT")
    return path


def max_diff(a, b) -> float:
    return float(np.abs(np.asarray(a) - np.asarray(b)).max())


# --- parity -----------------------------------------------------------------------------------

@pytest.mark.slow
def test_audio_parity_with_package_file_api(pair):
    """The harness path (prepare_clip, then embed_audio) equals get_audio_embedding_from_filelist."""
    assert pair.audio.shape == pair.ref_audio.shape == (len(pair.paths), 512)
    np.testing.assert_allclose(np.linalg.norm(pair.audio, axis=1), 1.0, atol=1e-5)
    diff = max_diff(pair.audio, pair.ref_audio)
    print(f"\n[{pair.arch}] audio max abs diff vs package file API: {diff:.2e}")
    assert diff < TOL, diff


def test_stacked_batch_path_equals_the_per_clip_package_path(ckpt_dir, clips):
    """Non-fusion 10 s windows go to the model as one stacked batch; the package's per-clip
    ``get_audio_features`` route (taken for a list) must give the same embeddings."""
    model = laion.VARIANTS["laion-clap-630k-audioset-best"](
        LoadOptions(checkpoint=str(save_checkpoint(reference_model("HTSAT-tiny", False).model.state_dict(),
                                                   ckpt_dir / "stacked.pt"))))
    prep = Preprocessing(model.meta.sample_rate, model.meta.clip, crop="seeded")
    windows = np.concatenate([prepare_clip(p, prep, str(p)) for p in clips])
    assert max_diff(model.embed_audio(windows), model.embed_audio(list(windows))) < 1e-6


def test_harness_input_equals_package_input(clips):
    """Model input, sample for sample: prepare_clip against librosa.load + int16 + get_audio_features."""
    import librosa

    data = laion._import_laion_clap().training.data
    meta = laion.VARIANTS["laion-clap"].meta
    prep = Preprocessing(meta.sample_rate, meta.clip, crop="seeded")
    for path in clips:
        wav, _ = librosa.load(path, sr=48000)
        wav = torch.from_numpy(data.int16_to_float32(data.float32_to_int16(wav)))
        expected = data.get_audio_features({}, wav, 480000, "rand_trunc", "repeatpad", {})["waveform"].numpy()
        assert np.array_equal(prepare_clip(path, prep)[0], expected), path


@pytest.mark.slow
def test_text_parity_with_package(pair):
    assert pair.text.shape == (len(LABELS), 512)
    diff = max_diff(pair.text, pair.ref_text)
    print(f"\n[{pair.arch}] text max abs diff vs get_text_embedding: {diff:.2e}")
    assert diff < TOL, diff


@pytest.mark.slow
def test_zero_shot_predictions_identical(pair):
    ref = (pair.ref_audio @ pair.ref_text.T).argmax(1)
    assert np.array_equal((pair.audio @ pair.text.T).argmax(1), ref)


def test_resampler_is_librosa_load(esc50_clips):
    """librosa.load(sr=48000) (librosa 0.10: soxr_hq, then its length rule) sample for sample:
    a 5 s 44.1 kHz clip becomes 240001 samples, the last one a zero."""
    import librosa

    expected, _ = librosa.load(esc50_clips[0], sr=48000)
    audio, sr = decode(esc50_clips[0])
    assert sr == 44100 and laion.RESAMPLER == "soxr-hq"
    mono = resample(mix_channels(audio, "mean"), sr, 48000, laion.RESAMPLER)
    assert len(expected) == 240001 and expected[-1] == 0.0 and np.array_equal(mono, expected)


def test_int16_roundtrip_is_laions(esc50_clips):
    laion_clap = laion._import_laion_clap()
    data = laion_clap.training.data
    x = np.random.default_rng(0).uniform(-1.3, 1.3, 100_000).astype(np.float32)
    assert np.array_equal(int16_roundtrip(x), data.int16_to_float32(data.float32_to_int16(x)))


# --- clips longer than 10 s ---------------------------------------------------------------------

def test_long_clip_non_fusion_uses_the_seeded_crop_window(tmp_path):
    """The harness cuts the 10 s window (the same in every run) before the model sees it; a
    window of exactly 10 s is then left alone by get_audio_features, so no second crop happens."""
    path = write_long_clip(tmp_path / "long.wav")
    clip = laion.VARIANTS["laion-clap"].meta.clip
    n = clip.samples(SR)
    prep = Preprocessing(SR, clip, crop="seeded", seed=3)
    windows = prepare_clip(path, prep, "long-clip")
    full = int16_roundtrip(mix_channels(decode(path)[0], "mean"))
    (offset,) = crop_offsets(len(full), n, "seeded", "long-clip", 3, 3)
    assert 0 < offset < len(full) - n
    assert windows.shape == (1, n) and np.array_equal(windows[0], full[offset:offset + n])
    assert np.array_equal(prepare_clip(path, prep, "long-clip"), windows)
    data = laion._import_laion_clap().training.data
    kept = data.get_audio_features({}, torch.from_numpy(windows[0]), n, "rand_trunc", "repeatpad", {})["waveform"]
    assert np.array_equal(kept.numpy(), windows[0])


@pytest.mark.slow
@pytest.mark.parametrize("pair", ["tiny-fusion"], indirect=True)
def test_fusion_long_clip_chunks_follow_the_seed(pair, tmp_path):
    """The same seed on both sides (np.random.seed before the package's file API, seeds=[s] for
    us) gives the same fusion chunks; another seed gives other chunks."""
    path = write_long_clip(tmp_path / "long.wav")
    prep = Preprocessing(SR, pair.model.meta.clip, crop="seeded")
    whole = prepare_clip(path, prep, "long-clip")
    assert whole.shape == (1, 15 * SR)  # fusion models receive the whole clip
    state = np.random.get_state()
    a = pair.model.embed_audio([whole[0]], seeds=[11])
    assert np.array_equal(np.random.get_state()[1], state[1])  # the global generator is left as it was
    np.random.seed(11)
    ref = pair.ref.get_audio_embedding_from_filelist(x=[str(path)], use_tensor=False)
    diff = max_diff(a, ref)
    print(f"\n[fusion, 15 s clip] max abs diff vs package with the same seed: {diff:.2e}")
    assert diff < TOL, diff
    assert max_diff(pair.model.embed_audio([whole[0]], seeds=[12]), a) > 1e-5


def test_fusion_refuses_crops_it_cannot_honour():
    for crop in ("centre", "start", "chunks"):
        with pytest.raises(ValueError, match="--crop seeded"):
            laion.VARIANTS["laion-clap-630k-fusion-best"](LoadOptions(crop=crop))


# --- loading ------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("pair", ["tiny"], indirect=True)
def test_fingerprint_follows_the_weights(pair, tmp_path):
    cls = laion.VARIANTS["laion-clap-630k-audioset-best"]
    assert cls(LoadOptions(checkpoint=str(pair.path))).fingerprint() == pair.model.fingerprint()
    state = pair.ref.model.state_dict()
    state = {**state, "logit_scale_a": state["logit_scale_a"] + 1e-3}
    other = cls(LoadOptions(checkpoint=str(save_checkpoint(state, tmp_path / "other.pt"))))
    assert other.fingerprint() != pair.model.fingerprint()


@pytest.mark.slow
@pytest.mark.parametrize("pair", ["tiny"], indirect=True)
def test_wrong_architecture_names_the_keys(pair):
    with pytest.raises(ValueError) as err:
        laion.VARIANTS["laion-clap-music-audioset"](LoadOptions(checkpoint=str(pair.path)))
    message = str(err.value)
    assert str(pair.path) in message and "missing keys" in message and "unexpected keys" in message
    assert "audio_branch.layers." in message  # HTSAT-base has more blocks than HTSAT-tiny


def test_not_a_checkpoint_names_the_file(tmp_path):
    text = tmp_path / "notes.pt"
    text.write_text("not weights")
    empty = tmp_path / "empty.pt"
    torch.save({"epoch": 3}, empty)
    for path in (text, empty):
        with pytest.raises(ValueError, match=re.escape(str(path))):
            laion.VARIANTS["laion-clap"](LoadOptions(checkpoint=str(path)))


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_code_running_pickle_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"state_dict": {"logit_scale_a": torch.zeros(())}, "hook": _Payload(marker)}, path)
    with pytest.raises(ValueError, match="refused.*posix.system"):
        laion.VARIANTS["laion-clap"](LoadOptions(checkpoint=str(path)))
    assert not marker.exists()
    with open(path, "wb") as f:  # a bare pickle, not torch's zip format
        pickle.dump(_Payload(marker), f)
    with pytest.raises(ValueError, match=re.escape(str(path))):
        laion.VARIANTS["laion-clap"](LoadOptions(checkpoint=str(path)))
    assert not marker.exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
def test_unavailable_device_is_refused(tmp_path):
    with pytest.raises(ValueError, match="cuda:0"):
        laion.VARIANTS["laion-clap"](LoadOptions(device="cuda:0", checkpoint=str(tmp_path / "unused.pt")))


def test_unknown_model_option_is_refused_naming_it_and_what_is_accepted(tmp_path):
    """Formerly ignored silently; now the one check every adapter uses (base.check_options)."""
    with pytest.raises(ValueError, match=r"laion-clap-630k-audioset-best: unknown model option\(s\) fusion, "
                                         r"tokenizer; it takes no model options"):
        laion.VARIANTS["laion-clap"](LoadOptions(checkpoint=str(tmp_path / "unused.pt"),
                                                 extra={"tokenizer": "x", "fusion": True}))
    from zsbench.adapters.base import check_options

    with pytest.raises(ValueError, match=r"m: unknown model option\(s\) amodl; it takes amodel, fusion"):
        check_options("m", {"amodl": 1}, ("fusion", "amodel"))
    check_options("m", {"amodel": 1}, ("fusion", "amodel"))


def test_safetensors_weights_go_through_the_same_loader(tmp_path):
    """A safetensors file (by name or by its header) gives the same tensors as the .pt file."""
    from safetensors.torch import save_file

    state = {"module.audio_projection.0.weight": torch.randn(3, 2), "module.logit_scale_a": torch.ones(())}
    torch.save({"state_dict": state}, tmp_path / "w.pt")
    save_file(state, str(tmp_path / "w.safetensors"))
    save_file(state, str(tmp_path / "w-renamed.bin"))
    expected = laion.read_state_dict(tmp_path / "w.pt")
    assert set(expected) == {"audio_projection.0.weight", "logit_scale_a"}
    for name in ("w.safetensors", "w-renamed.bin"):
        got = laion.read_state_dict(tmp_path / name)
        assert got.keys() == expected.keys() and all(torch.equal(got[k], expected[k]) for k in got)
    (tmp_path / "bad.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match=re.escape(str(tmp_path / "bad.safetensors")) + ": not a safetensors file"):
        laion.read_state_dict(tmp_path / "bad.safetensors")


# --- import and registry ------------------------------------------------------------------------

@pytest.mark.slow
def test_import_leaves_sys_path_alone_and_listing_stays_light():
    script = textwrap.dedent("""
        import sys
        from zsbench.adapters import laion
        assert "laion_clap" not in sys.modules, "listing models must not import laion_clap"
        before = list(sys.path)
        laion._import_laion_clap()
        assert sys.path == before, [p for p in sys.path if p not in before]
        assert "training" not in sys.modules and "evaluate" not in sys.modules
        laion.text_tower_from_config  # the model code is reachable through the package
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-3000:]


def test_sys_path_is_clean_in_process():
    laion._import_laion_clap()
    assert not any(p.rstrip("/").endswith("laion_clap") for p in sys.path)


def test_hub_probe_goes_offline_only_when_unreachable(monkeypatch):
    import huggingface_hub.constants as hub_constants
    import transformers.utils.hub as tf_hub

    calls = []

    def refuse(address, timeout):
        calls.append((address, timeout))
        raise OSError("unreachable")

    monkeypatch.setattr(laion.socket, "create_connection", refuse)
    assert laion._hub_reachable.__wrapped__() is False and calls == [(("huggingface.co", 443), 3.0)]
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(tf_hub, "_is_offline_mode", False)
    monkeypatch.setattr(laion, "_hub_reachable", lambda: False)
    with laion._offline_if_unreachable():
        assert os.environ["HF_HUB_OFFLINE"] == "1" and hub_constants.HF_HUB_OFFLINE and tf_hub.is_offline_mode()
    assert "HF_HUB_OFFLINE" not in os.environ and not hub_constants.HF_HUB_OFFLINE and not tf_hub.is_offline_mode()
    monkeypatch.setattr(laion, "_hub_reachable", lambda: True)
    with laion._offline_if_unreachable():
        assert "HF_HUB_OFFLINE" not in os.environ and not hub_constants.HF_HUB_OFFLINE


def test_registry_lists_every_variant_with_its_facts():
    files = {"laion-clap-630k-best": "630k-best.pt", "laion-clap-music-speech": "music_speech_epoch_15_esc_89.25.pt"}
    for name in ALL_NAMES:
        assert name in MODELS.names()
        cls = MODELS.get(name)
        meta = cls.meta
        assert meta.sample_rate == 48000 and meta.clip.samples(meta.sample_rate) == 480000 and meta.embed_dim == 512
        assert meta.clip.short == "repeatpad" and meta.clip.int16 and meta.clip.resampler == laion.RESAMPLER
        assert meta.clip.long == ("fusion" if "fusion" in name else "random") == ("fusion" if cls.fusion else "random")
        music = "music" in name
        assert meta.templates == (("This audio is a {label} song.",) if music else ("This is a sound of {label}.",))
        assert cls.amodel == ("HTSAT-base" if music else "HTSAT-tiny")
        assert cls.weights.hub_repo == "lukewys/laion_clap" and cls.weights.url.endswith("/" + cls.weights.hub_filename)
        if name in files:
            assert cls.weights.hub_filename == files[name]
    assert MODELS.get("laion-clap") is MODELS.get("laion-clap-630k-audioset-best")
