"""Audio I/O on real clips and on every kind of bad file."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from zsbench.data.audio import (BadAudioError, ClipPolicy, Preprocessing, crop_offsets, decode, fill_short,
                                prepare_clip)


def test_decode_real_esc50_clip_is_exact(esc50_clips):
    audio, sr = decode(esc50_clips[0])
    ref, ref_sr = sf.read(esc50_clips[0], dtype="float32")
    assert sr == ref_sr == 44100 and audio.shape == (1, 5 * 44100)
    np.testing.assert_array_equal(audio[0], ref)


def test_prepare_resamples_like_librosa_load_and_repeat_pads(esc50_clips):
    """LAION loads with librosa.load(sr=48000): soxr HQ, then the length fixed to ceil(n * ratio)."""
    import librosa

    prep = Preprocessing(48000, ClipPolicy(10.0, "repeatpad", "random"), "seeded")
    windows = prepare_clip(esc50_clips[0], prep)
    ref, _ = librosa.load(esc50_clips[0], sr=48000)
    assert len(ref) == 240001  # one sample longer than soxr alone gives
    assert windows.shape == (1, 480000) and windows.dtype == np.float32
    np.testing.assert_array_equal(windows[0, : len(ref)], ref)
    np.testing.assert_array_equal(windows[0, len(ref):], 0)  # one copy fits; the rest is zeros


@pytest.mark.parametrize("n", [1, 7, 12345, 220500])
@pytest.mark.parametrize("rates", [(8000, 48000), (22050, 16000), (44100, 48000), (48000, 44100)])
def test_resample_matches_librosa(n, rates):
    import librosa

    from zsbench.data.audio import resample

    x = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    ours, ref = resample(x, *rates), librosa.resample(x, orig_sr=rates[0], target_sr=rates[1])
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, atol=1e-6)


def test_stereo_48k_fixture_is_mixed_down(clip_set):
    path = clip_set.stereo48k
    stereo, sr = decode(path)
    assert stereo.shape[0] == 2 and sr == 48000
    prep = Preprocessing(48000, ClipPolicy(1.0, "zeropad", "centre"), "centre")
    np.testing.assert_allclose(prepare_clip(path, prep)[0, : stereo.shape[1]], stereo.mean(0), atol=1e-7)
    first = Preprocessing(48000, ClipPolicy(1.0, "zeropad", "centre", channels="first"), "centre")
    np.testing.assert_array_equal(prepare_clip(path, first)[0, : stereo.shape[1]], stereo[0])


@pytest.mark.parametrize("fmt,subtype", [("WAV", "PCM_16"), ("FLAC", "PCM_24"), ("OGG", "VORBIS")])
def test_formats(tmp_path, fmt, subtype):
    tone = (0.5 * np.sin(np.linspace(0, 200 * np.pi, 8000))).astype(np.float32)
    path = tmp_path / f"tone.{fmt.lower()}"
    sf.write(path, tone, 8000, format=fmt, subtype=subtype)
    audio, sr = decode(path)
    assert sr == 8000 and audio.shape[0] == 1
    assert np.abs(audio[0, : len(tone)] - tone).max() < (0.05 if fmt == "OGG" else 1e-3)


def test_short_fill_rules():
    x = np.arange(1, 4, dtype=np.float32)
    assert fill_short(x, 8, "repeatpad").tolist() == [1, 2, 3, 1, 2, 3, 0, 0]
    assert fill_short(x, 8, "repeat").tolist() == [1, 2, 3, 1, 2, 3, 1, 2]
    assert fill_short(x, 5, "zeropad").tolist() == [1, 2, 3, 0, 0]


def test_crops_are_deterministic_where_asked():
    seeded = [crop_offsets(1000, 100, "seeded", "clip-a", 0, 3) for _ in range(3)]
    assert seeded[0] == seeded[1] == seeded[2]
    assert crop_offsets(1000, 100, "seeded", "clip-a", 1, 3) != seeded[0] or \
        crop_offsets(1000, 100, "seeded", "clip-b", 0, 3) != seeded[0]
    assert crop_offsets(1000, 100, "centre", "x", 0, 3) == [450]
    assert crop_offsets(1000, 100, "start", "x", 0, 3) == [0]
    assert crop_offsets(1000, 100, "chunks", "x", 0, 3) == [0, 450, 900]
    # MS-CLAP's randrange(len - n) never starts at the last offset; LAION's randint can
    assert {crop_offsets(101, 100, "seeded", f"k{i}", 0, 3, to_end=False)[0] for i in range(20)} == {0}
    assert {crop_offsets(101, 100, "seeded", f"k{i}", 0, 3)[0] for i in range(20)} == {0, 1}
    draws = {crop_offsets(10_000, 100, "random", "x", 0, 3)[0] for _ in range(20)}
    assert len(draws) > 1


def test_long_clip_windows(tmp_path):
    x = np.random.default_rng(0).uniform(-0.5, 0.5, 16000 * 3).astype(np.float32)
    path = tmp_path / "long.wav"
    sf.write(path, x, 16000, subtype="FLOAT")
    policy = ClipPolicy(1.0, "repeatpad", "random")
    centre = prepare_clip(path, Preprocessing(16000, policy, "centre"))
    np.testing.assert_array_equal(centre[0], x[16000:32000])
    chunks = prepare_clip(path, Preprocessing(16000, policy, "chunks"))
    assert chunks.shape == (3, 16000)
    np.testing.assert_array_equal(chunks[2], x[-16000:])


def test_preprocessing_key_tracks_what_changes_samples():
    policy = ClipPolicy(10.0)
    base = Preprocessing(48000, policy, "seeded", seed=0)
    assert base.key() == Preprocessing(48000, policy, "seeded", seed=0).key()
    assert base.key() != Preprocessing(48000, policy, "seeded", seed=1).key()
    assert base.key() != Preprocessing(44100, policy, "seeded", seed=0).key()
    assert base.key() != Preprocessing(48000, ClipPolicy(10.0, "zeropad"), "seeded", seed=0).key()
    assert Preprocessing(48000, policy, "centre", seed=0).key() == Preprocessing(48000, policy, "centre", seed=5).key()


@pytest.mark.parametrize("case", ["corrupt", "empty-file", "zero-length", "nan", "inf", "missing"])
def test_bad_audio_names_the_file(tmp_path, case):
    path = tmp_path / f"{case}.wav"
    if case == "corrupt":
        path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEgarbage" * 10)
    elif case == "empty-file":
        path.write_bytes(b"")
    elif case == "zero-length":
        sf.write(path, np.zeros(0, dtype=np.float32), 16000)
    elif case in ("nan", "inf"):
        x = np.zeros(1600, dtype=np.float32)
        x[10] = np.nan if case == "nan" else np.inf
        sf.write(path, x, 16000, subtype="FLOAT")
    with pytest.raises(BadAudioError) as err:
        decode(path)
    assert str(path) in str(err.value) and "--on-bad-audio skip" in str(err.value)


def test_unreadable_file(tmp_path, monkeypatch):
    """Tests run as root in CI, where permission bits do not stop reads: simulate the error."""
    import soundfile

    path = tmp_path / "locked.wav"

    def deny(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(soundfile, "read", deny)
    with pytest.raises(BadAudioError, match="not readable") as err:
        decode(path)
    assert str(path) in str(err.value)


def test_directory_instead_of_file(tmp_path):
    path = tmp_path / "clip.wav"
    path.mkdir()
    with pytest.raises(BadAudioError, match="clip.wav"):
        decode(path)


def test_int16_roundtrip_is_laions():
    from zsbench.data.audio import int16_roundtrip

    x = np.random.default_rng(0).uniform(-1.3, 1.3, 10_000).astype(np.float32)
    ref = (np.clip(x, -1.0, 1.0) * 32767.0).astype(np.int16)  # laion_clap float32_to_int16
    np.testing.assert_array_equal(int16_roundtrip(x), (ref / 32767.0).astype(np.float32))


def test_concat_channels_resamples_each_then_concatenates(clip_set):
    """MS-CLAP: torchaudio Resample per channel, then reshape(-1)."""
    import torch
    import torchaudio

    path = clip_set.stereo48k
    stereo, sr = decode(path)
    policy = ClipPolicy(2.0, "repeat", "random", channels="concat", resampler="torchaudio-sinc")
    out = prepare_clip(path, Preprocessing(44100, policy, "seeded"))
    ref = torchaudio.transforms.Resample(sr, 44100)(torch.from_numpy(stereo)).reshape(-1).numpy()
    assert out.shape == (1, 88200)
    np.testing.assert_allclose(out[0, : len(ref)], ref, atol=1e-6)
    np.testing.assert_allclose(out[0, len(ref):], ref[: 88200 - len(ref)], atol=1e-6)  # tiled, then cut


def test_fusion_policy_passes_long_clips_whole(tmp_path):
    x = np.random.default_rng(0).uniform(-0.5, 0.5, 16000 * 3).astype(np.float32)
    path = tmp_path / "long.wav"
    sf.write(path, x, 16000, subtype="FLOAT")
    out = prepare_clip(path, Preprocessing(16000, ClipPolicy(1.0, "repeatpad", "fusion"), "seeded"))
    np.testing.assert_array_equal(out, x[None])


def test_msclap_resampler_is_its_transform_exactly_at_96k():
    """msclap builds ``torchaudio.transforms.Resample(orig, 44100)``; ``functional.resample``
    differs from it by up to 1e-5 on 96 kHz input, so the harness uses the transform."""
    import torch
    import torchaudio

    from zsbench.data.audio import resample

    x = np.random.default_rng(3).uniform(-0.8, 0.8, (2, 96000)).astype(np.float32)
    ours = resample(x, 96000, 44100, "torchaudio-sinc")
    ref = torchaudio.transforms.Resample(96000, 44100)(torch.from_numpy(x)).numpy()
    assert np.array_equal(ours, ref)
    assert np.abs(torchaudio.functional.resample(torch.from_numpy(x), 96000, 44100).numpy() - ref).max() > 0
