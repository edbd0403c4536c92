"""MS-CLAP adapters against the ``msclap`` package itself, on the same random weights.

For each version the reference is ``msclap.CLAP(model_fp=..., version=..., use_cuda=False)``
loading a seeded random checkpoint, and the adapter loads the same file. Audio goes through the
reference's ``get_audio_embeddings(paths)`` (its own decode rules: per-channel ``T.Resample``,
channel concat, tile-then-cut, random crop) and through the harness's ``prepare_clip`` followed
by ``embed_audio``. The reference reads files with ``torchaudio.load``, which needs FFmpeg here;
the tests give it a soundfile reader returning the same float32 (channels, frames) tensor.
"""

from __future__ import annotations

import importlib.util
import os
import pickle
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import numpy as np
import pytest
import soundfile as sf

from zsbench.adapters.base import AudioTextModel, LoadOptions, l2_normalize
from zsbench.data.audio import Preprocessing, crop_offsets, prepare_clip

pytestmark = pytest.mark.skipif(importlib.util.find_spec("msclap") is None,
                                reason="msclap is not installed (pip install zsbench[msclap])")

TOL = 1e-4


def registered(name: str):
    """The class ``zsbench models`` and ``--model NAME`` reach (importing the module registers it)."""
    import zsbench.adapters.msclap  # noqa: F401
    from zsbench.registry import MODELS

    return MODELS.get(name)


def soundfile_load(path, *args, **kwargs):
    """torchaudio.load's result for PCM files: float32 (channels, frames) in [-1, 1], and the rate."""
    import torch

    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    return torch.from_numpy(np.ascontiguousarray(data.T)), sr


def reference_io(**patches):
    """Patch names inside msclap's CLAPWrapper module only (its torchaudio, its random)."""
    import msclap.CLAPWrapper as wrapper_module

    return mock.patch.multiple(wrapper_module, **patches)


@dataclass
class Pair:
    version: str
    reference: object  # msclap.CLAP
    ours: object  # the adapter
    weights: Path


def build_reference(version: str, weights: Path, seed: int):
    import torch

    from zsbench.adapters.msclap import offline_text_model

    torch.manual_seed(seed)
    with offline_text_model():  # its text model from the cached config; the file sets its weights
        import msclap  # after the adapter's guarded import: msclap silences all warnings when imported

        return msclap.CLAP(model_fp=str(weights), version=version, use_cuda=False)


def calibrate_batchnorm(clap, windows: np.ndarray) -> None:
    """Give random weights BatchNorm statistics from real audio, as training would.

    With the default running statistics (mean 0, variance 1) random CNN14 weights map every clip
    to nearly the same embedding (cosine > 0.9999), which would make a 1e-4 parity bound vacuous.
    """
    import torch

    norms = [m for m in clap.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a plain average over the calibration batch
        m.train()
    with torch.no_grad():
        clap.audio_encoder(torch.from_numpy(windows))
    for m in norms:
        m.momentum = 0.1
        m.eval()


@pytest.fixture(scope="module")
def clips(clip_set) -> list[Path]:
    """Five ESC-50-shaped clips of different classes (44.1 kHz mono 5 s)."""
    return clip_set.spread(5)


@pytest.fixture(scope="module")
def labels(clip_set, clips) -> list[str]:
    return [clip_set.labels[p.stem] for p in clips]


@pytest.fixture(scope="module", params=["2022", "2023"])
def pair(request, tmp_path_factory, hf_cache, clip_set) -> Pair:
    """Reference and adapter on one seeded random checkpoint, built once per version."""
    import torch

    from zsbench.adapters.msclap import MSCLAP2022, MSCLAP2023

    version = request.param
    cls = {"2022": MSCLAP2022, "2023": MSCLAP2023}[version]
    folder = tmp_path_factory.mktemp(f"msclap-{version}")
    empty, weights = folder / "empty.pth", folder / "weights.pth"
    torch.save({"model": {}}, empty)
    model = build_reference(version, empty, seed=0).clap
    calibration = clip_set.spread(4, offset=1)  # not the test clips
    calibrate_batchnorm(model, np.concatenate([prepare_clip(p, preprocessing(cls)) for p in calibration]))
    torch.save({"model": model.state_dict()}, weights)
    del model
    # built afresh under another seed: only the file can make it agree with the adapter
    reference = build_reference(version, weights, seed=1)
    ours = cls(LoadOptions(checkpoint=str(weights)))
    return Pair(version, reference, ours, weights)


def preprocessing(model, **clip_changes) -> Preprocessing:
    """The harness's input for ``model`` under ``--crop seeded``."""
    return Preprocessing(model.meta.sample_rate, replace(model.meta.clip, **clip_changes), crop="seeded")


@dataclass
class Embedded:
    """Both sides' embeddings of the same clips and texts, computed once per version."""

    paths: list[Path]  # the ESC-shaped clips, the 48 kHz stereo clip, then the edge cases
    n_esc: int  # how many ESC-shaped clips lead ``paths``
    texts: list[str]  # the paper prompt for each clip's label, then two more
    reference_audio: np.ndarray  # raw, as get_audio_embeddings returns them
    reference_text: np.ndarray
    audio: np.ndarray  # ours
    text: np.ndarray


@pytest.fixture(scope="module")
def embedded(pair, clips, labels, clip_set) -> Embedded:
    paths = [*clips, clip_set.stereo48k, *clip_set.edge]
    texts = [pair.ours.meta.templates[0] + label for label in labels] + ["a dog barks! then silence", "rain"]
    with reference_io(torchaudio=SimpleNamespace(load=soundfile_load)):
        reference_audio = pair.reference.get_audio_embeddings([str(p) for p in paths]).numpy()
    reference_text = pair.reference.get_text_embeddings(texts).numpy()
    windows = np.concatenate([prepare_clip(p, preprocessing(pair.ours)) for p in paths])
    return Embedded(paths, len(clips), texts, reference_audio, reference_text, pair.ours.embed_audio(windows),
                    pair.ours.embed_text(texts))


def test_soundfile_reader_is_torchaudio_scaling(clips):
    """torchaudio.load gives 16-bit PCM as int/32768 in float32; so does the stand-in reader."""
    as_float, _ = sf.read(clips[0], dtype="float32")
    as_int, _ = sf.read(clips[0], dtype="int16")
    assert np.array_equal(as_float, as_int.astype(np.float32) / 32768.0)
    assert soundfile_load(clips[0])[0].shape == (1, len(as_int))


@pytest.mark.slow
def test_audio_embeddings_match_reference(pair, embedded):
    """ESC-shaped clips (exact for 2022's 5 s window, tiled for 2023's 7 s), the 48 kHz stereo
    clip (per-channel torchaudio resample to 44.1 kHz, channels concatenated, tiled) and the
    edge cases (odd rate, longer than the window, resampled lengths one sample over)."""
    got, n = embedded.audio, len(embedded.paths)
    assert isinstance(pair.ours, AudioTextModel)
    assert got.shape == (n, 1024) and got.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    per_clip = np.abs(got - l2_normalize(embedded.reference_audio)).max(1)
    assert per_clip.max() < TOL, " ".join(f"{p.name}:{d:.1e}" for p, d in zip(embedded.paths, per_clip))
    cos = got @ got.T
    assert cos[~np.eye(n, dtype=bool)].max() < 0.999  # distinct clips, distinct embeddings
    # the bound is tight enough to see the stereo rule: mixing the channels down instead moves it
    stereo = embedded.n_esc
    mixed = pair.ours.embed_audio(prepare_clip(embedded.paths[stereo], preprocessing(pair.ours, channels="mean")))
    assert np.abs(mixed - got[stereo]).max() > 10 * TOL


@pytest.mark.slow
def test_text_embeddings_match_reference(embedded):
    """Paper prompts, plus a "!" (GPT-2's pad id, which the reference's pooling counts as padding)."""
    assert embedded.text.shape == (len(embedded.texts), 1024)
    assert np.abs(embedded.text - l2_normalize(embedded.reference_text)).max() < TOL


@pytest.mark.slow
def test_zero_shot_predictions_match_reference(pair, embedded):
    import torch

    n = embedded.n_esc  # the ESC-shaped clips against their classes' prompts
    audio, text = torch.from_numpy(embedded.reference_audio[:n]), torch.from_numpy(embedded.reference_text[:n])
    similarity = pair.reference.compute_similarity(audio, text).detach().numpy()
    ours = embedded.audio[:n] @ embedded.text[:n].T
    logit_scale = float(pair.reference.clap.logit_scale.exp())
    np.testing.assert_allclose(ours * logit_scale, similarity, atol=TOL * logit_scale)
    assert (ours.argmax(1) == similarity.argmax(1)).all()


@pytest.mark.slow
def test_long_clip_crop_matches_reference_at_the_same_offset(pair, clips, tmp_path):
    """A clip longer than the window: the seeded crop is crop_offsets' window, and the reference
    cut at that offset (its random.randrange patched) gives the same embedding."""
    audio = np.concatenate([sf.read(p, dtype="int16")[0] for p in clips[:2]])  # 10 s of ESC-shaped audio
    long_clip = tmp_path / "long.wav"
    sf.write(long_clip, audio, 44100, subtype="PCM_16")
    meta = pair.ours.meta
    prep = preprocessing(pair.ours)
    n = meta.clip.samples(meta.sample_rate)
    [offset] = crop_offsets(len(audio), n, "seeded", str(long_clip), prep.seed, meta.clip.max_chunks,
                            to_end=meta.clip.crop_to_end)
    window = prepare_clip(long_clip, prep)
    np.testing.assert_array_equal(window, (audio[offset:offset + n].astype(np.float32) / 32768.0)[None])

    drawn = []

    def randrange(stop):
        drawn.append(stop)
        return offset

    with reference_io(torchaudio=SimpleNamespace(load=soundfile_load), random=SimpleNamespace(randrange=randrange)):
        expected = l2_normalize(pair.reference.get_audio_embeddings([str(long_clip)]).numpy())
    assert drawn == [len(audio) - n]  # the reference crops at random among the same starts
    assert np.abs(pair.ours.embed_audio(window) - expected).max() < TOL


@pytest.mark.slow
def test_text_longer_than_text_len_matches_reference_alone(pair):
    """The package pads to text_len without truncating, so it cannot batch a longer text with
    others; the adapter can, and each embedding is the reference's for that text on its own."""
    texts = ["wind", " ".join(["a loud train horn in a busy station"] * 14)]  # > 100 tokens
    expected = l2_normalize(np.concatenate([pair.reference.get_text_embeddings([t]).numpy() for t in texts]))
    assert np.abs(pair.ours.embed_text(texts) - expected).max() < TOL


@pytest.mark.slow
def test_rebuilt_buffers_in_a_checkpoint_are_accepted(pair):
    """Checkpoints saved by older transformers carry non-persistent buffers (BERT position_ids,
    GPT-2 attn.bias); msclap ignores them and so do we. Any other extra key is an error."""
    import torch

    from zsbench.adapters.msclap import load_checked

    model = pair.ours.wrapper.clap
    state = dict(model.state_dict())
    buffers = dict(model.named_buffers())
    extra = ("caption_encoder.base.embeddings.position_ids" if pair.version == "2022"
             else "caption_encoder.base.h.0.attn.bias")
    assert extra in buffers and extra not in state
    load_checked(model, {**state, extra: buffers[extra]}, pair.weights)
    with pytest.raises(ValueError, match="caption_encoder.base.bogus"):
        load_checked(model, {**state, "caption_encoder.base.bogus": torch.zeros(1)}, pair.weights)


@pytest.mark.slow
def test_checkpoint_key_set_is_checked(pair, tmp_path):
    """msclap's strict=False load would run these with random weights; the adapter refuses."""
    import torch

    state = torch.load(pair.weights, map_location="cpu", weights_only=True)["model"]
    dropped = "audio_encoder.projection.linear1.weight"
    del state[dropped]
    state["audio_encoder.head.weight"] = torch.zeros(3)
    bad = tmp_path / "wrong.pth"
    torch.save({"model": state}, bad)
    with pytest.raises(ValueError) as info:
        type(pair.ours)(LoadOptions(checkpoint=str(bad)))
    message = str(info.value)
    assert str(bad) in message and dropped in message and "audio_encoder.head.weight" in message
    assert "missing keys 1 [" in message and "unexpected keys 1 [" in message


@pytest.mark.slow
def test_fingerprint_follows_the_weights(pair, tmp_path):
    import torch

    cls = type(pair.ours)
    assert cls(LoadOptions(checkpoint=str(pair.weights))).fingerprint() == pair.ours.fingerprint()
    state = torch.load(pair.weights, map_location="cpu", weights_only=True)["model"]
    state["logit_scale"] = state["logit_scale"] + 1e-3
    other = tmp_path / "other.pth"
    torch.save({"model": state}, other)
    assert cls(LoadOptions(checkpoint=str(other))).fingerprint() != pair.ours.fingerprint()


@pytest.mark.parametrize("name", ["msclap-2022", "msclap-2023"])
def test_non_checkpoint_file_is_rejected_naming_it(name, tmp_path):
    import torch

    cls = registered(name)
    bad = tmp_path / "notes.pth"
    bad.write_text("these are not weights\n")
    with pytest.raises(ValueError, match="not a PyTorch checkpoint") as info:
        cls(LoadOptions(checkpoint=str(bad)))
    assert str(bad) in str(info.value)
    torch.save({"state_dict": {}}, bad)  # a checkpoint, but not laid out as MS-CLAP's
    with pytest.raises(ValueError, match="not an MS-CLAP checkpoint") as info:
        cls(LoadOptions(checkpoint=str(bad)))
    assert str(bad) in str(info.value)


class _Exploit:
    marker: Path

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_pickle_that_runs_code_is_refused(tmp_path):
    import torch

    from zsbench.adapters.msclap import MSCLAP2023

    marker = tmp_path / "exploit-ran"
    _Exploit.marker = marker
    for path, write in [(tmp_path / "evil.pth", lambda p: torch.save({"model": _Exploit()}, p)),
                        (tmp_path / "evil.pkl", lambda p: p.write_bytes(pickle.dumps(_Exploit())))]:
        write(path)
        with pytest.raises(ValueError, match="refused") as info:
            MSCLAP2023(LoadOptions(checkpoint=str(path)))
        assert str(path) in str(info.value)
    assert not marker.exists()


def test_unavailable_device_fails_before_loading(tmp_path):
    import torch

    from zsbench.adapters.msclap import MSCLAP2022

    # raised before the (absent) checkpoint is looked at
    with mock.patch.object(torch.cuda, "is_available", return_value=False), \
            pytest.raises(ValueError, match="not available"):
        MSCLAP2022(LoadOptions(device="cuda", checkpoint=str(tmp_path / "absent.pth")))


def test_model_options_are_rejected(tmp_path):
    from zsbench.adapters.msclap import MSCLAP2022

    with pytest.raises(ValueError, match="takes no model options"):
        MSCLAP2022(LoadOptions(checkpoint=str(tmp_path / "absent.pth"), extra={"fusion": True}))


@pytest.mark.parametrize("name, seconds, template, text_model",
                         [("msclap-2022", 5.0, "this is a sound of ", "bert-base-uncased"),
                          ("msclap-2023", 7.0, "this is the sound of ", "gpt2")])
def test_meta_matches_the_package_config(name, seconds, template, text_model):
    """What ``zsbench models`` lists, without loading weights, agrees with msclap's own config."""
    import yaml

    meta = registered(name).meta
    package = Path(importlib.util.find_spec("msclap").submodule_search_locations[0])
    config = yaml.safe_load((package / "configs" / f"config_{name.rsplit('-', 1)[1]}.yml").read_text())
    assert (meta.sample_rate, meta.clip.seconds, meta.templates) == (44100, seconds, (template,))
    assert (config["sampling_rate"], config["duration"], config["d_proj"], config["text_model"]) == \
        (meta.sample_rate, meta.clip.seconds, meta.embed_dim, text_model)
    assert (meta.clip.short, meta.clip.long, meta.clip.channels, meta.clip.resampler) == \
        ("repeat", "random", "concat", "torchaudio-sinc")
    assert "{label}" not in template  # a prefix: the template filler appends the label


def test_importing_the_adapter_stays_light():
    code = ("import sys, zsbench.adapters.msclap; "
            "print(sorted(m for m in ('torch', 'msclap', 'transformers', 'torchaudio') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
