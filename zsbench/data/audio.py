"""Audio I/O: decode, channel policy, resample, then the adapter's clip policy.

Every step that changes samples is named in ``Preprocessing.key()``, which goes into the
embedding-cache key and the run record: two runs that preprocess differently never share a
cached embedding or a leaderboard cell.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np

ShortFill = Literal["repeatpad", "repeat", "zeropad"]
LongCrop = Literal["random", "seeded", "centre", "start", "chunks", "fusion"]
ChannelMix = Literal["mean", "first", "concat"]
Resampler = Literal["soxr-hq", "torchaudio-sinc"]
CROP_MODES: tuple[str, ...] = ("random", "seeded", "centre", "start", "chunks")


class BadAudioError(ValueError):
    """An audio file that cannot be used; the message names the file and what to do."""

    def __init__(self, path: str | Path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(
            f"{path}: {problem}. Replace or remove this file, or pass --on-bad-audio skip "
            "to leave it out (skipped clips are counted in the run record)."
        )


@dataclass(frozen=True)
class ClipPolicy:
    """How an adapter wants its input window: length, how to fill short clips, how to cut long ones.

    ``long`` is the reference behaviour of the model; a run may override it (``--crop``) so a
    benchmark is deterministic, and records what it used. ``fusion`` models (LAION aff_2d)
    receive the whole clip and choose their chunks themselves, from the per-clip seed.
    ``channels="concat"`` is MS-CLAP's ``reshape(-1)`` of the resampled channels.
    ``int16`` is LAION's round trip through 16-bit integers after resampling.
    """

    seconds: float
    short: ShortFill = "repeatpad"
    long: LongCrop = "random"
    channels: ChannelMix = "mean"
    max_chunks: int = 3  # windows embedded and averaged in "chunks" mode
    int16: bool = False
    resampler: Resampler = "soxr-hq"
    # May a crop end on the clip's last sample? MS-CLAP draws random.randrange(len - n), so its
    # window never does; LAION's randint(0, len - n + 1) can.
    crop_to_end: bool = True

    def samples(self, sample_rate: int) -> int:
        return int(round(self.seconds * sample_rate))


@dataclass(frozen=True)
class Preprocessing:
    """Everything between the file and the model input, for one run."""

    sample_rate: int
    policy: ClipPolicy
    crop: LongCrop
    seed: int = 0

    def key(self) -> str:
        fields = asdict(self)
        if self.crop not in ("seeded", "random"):
            fields.pop("seed")  # the seed does not change centre/start/chunk crops
        return hashlib.sha256(repr(sorted(fields.items())).encode()).hexdigest()[:16]

    @property
    def deterministic(self) -> bool:
        return self.crop != "random"


def decode(path: str | Path) -> tuple[np.ndarray, int]:
    """Read a file as float32 (channels, frames); reject what would poison a metric silently."""
    import soundfile as sf

    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except FileNotFoundError:
        raise BadAudioError(path, "file not found") from None
    except PermissionError:
        raise BadAudioError(path, "file is not readable (permission denied)") from None
    except Exception as exc:  # libsndfile reports corrupt and unknown formats with several types
        raise BadAudioError(path, f"cannot decode audio ({type(exc).__name__}: {exc})") from None
    if data.shape[0] == 0:
        raise BadAudioError(path, "file has zero samples")
    if not np.isfinite(data).all():
        raise BadAudioError(path, "audio contains NaN or Inf samples")
    return np.ascontiguousarray(data.T), int(sr)


def mix_channels(audio: np.ndarray, how: ChannelMix) -> np.ndarray:
    if how == "first" or len(audio) == 1:  # a mono file's mean is its one channel: skip the copy
        return audio[0]
    if how == "concat":
        return audio.reshape(-1)
    return audio.mean(axis=0)


def resample(audio: np.ndarray, source_rate: int, target_rate: int, how: Resampler = "soxr-hq") -> np.ndarray:
    """Resample along the last axis.

    ``soxr-hq`` is also what LAION's ``librosa.load(sr=48000)`` does (librosa 0.10's default
    ``soxr_hq``); ``torchaudio-sinc`` is MS-CLAP's ``torchaudio.transforms.Resample`` defaults.
    """
    if source_rate == target_rate:
        return audio
    if how == "torchaudio-sinc":
        import torch
        import torchaudio

        # The transform, as msclap builds it: its kernel is computed once in float32, and
        # functional.resample's differs from it in the last bits (up to 1e-5 on 96 kHz input).
        transform = torchaudio.transforms.Resample(source_rate, target_rate)
        out = transform(torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)))
        return out.numpy().astype(np.float32, copy=False)
    import soxr

    # soxr wants (frames, channels)
    out = soxr.resample(audio.T if audio.ndim == 2 else audio, source_rate, target_rate, quality="HQ")
    out = np.ascontiguousarray(out.T if audio.ndim == 2 else out, dtype=np.float32)
    # librosa then fixes the length to ceil(n * ratio), computed in floating point: 5 s at
    # 44.1 kHz becomes 240001 samples at 48 kHz, not soxr's 240000. LAION's repeat-padding
    # depends on that one sample (one copy of the clip fits instead of two).
    n = int(np.ceil(audio.shape[-1] * (float(target_rate) / source_rate)))
    if out.shape[-1] > n:
        return out[..., :n]
    pad = [(0, 0)] * (out.ndim - 1) + [(0, n - out.shape[-1])]
    return np.pad(out, pad)


def int16_roundtrip(audio: np.ndarray) -> np.ndarray:
    """LAION-CLAP's quantisation: clip to [-1, 1], scale by 32767, truncate to int16, scale back."""
    return (np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16).astype(np.float32) / np.float32(32767.0)


def clip_seed(seed: int, clip_key: str) -> int:
    """A per-clip seed: the same crop for a clip in every run, worker and batch order."""
    return int(np.random.SeedSequence([seed, zlib.crc32(clip_key.encode())]).generate_state(1)[0])


def fill_short(audio: np.ndarray, n: int, how: ShortFill) -> np.ndarray:
    """Bring a clip shorter than ``n`` samples up to ``n``.

    ``repeatpad`` (LAION): whole repeats, then zeros; ``repeat`` (MS-CLAP): tile and cut.
    """
    if how == "zeropad":
        return np.pad(audio, (0, n - len(audio)))
    reps = n // len(audio)
    if how == "repeatpad":
        return np.pad(np.tile(audio, reps), (0, n - reps * len(audio)))
    return np.tile(audio, reps + 1)[:n]


def crop_offsets(length: int, n: int, crop: LongCrop, rng_key: str, seed: int, max_chunks: int,
                 rng: np.random.Generator | None = None, to_end: bool = True) -> list[int]:
    """Start offsets of the window(s) cut from a clip longer than ``n``.

    ``seeded`` draws from (seed, clip key), so the crop is the same in every run, worker and
    order; ``random`` is the reference models' behaviour and differs between runs.
    """
    span = length - n
    if crop == "centre":
        return [span // 2]
    if crop == "start":
        return [0]
    if crop == "chunks":
        k = min(max_chunks, -(-length // n))
        return [int(round(i * span / (k - 1))) for i in range(k)] if k > 1 else [0]
    if crop == "seeded":
        rng = np.random.default_rng(clip_seed(seed, rng_key))
    elif rng is None:
        rng = np.random.default_rng()
    return [int(rng.integers(0, span + 1 if to_end else span))]


def prepare_clip(path: str | Path, prep: Preprocessing, clip_key: str = "") -> np.ndarray:
    """Decode one file into model input windows, shape (windows, samples), float32.

    One window except in ``chunks`` mode, where the embeddings of the windows are averaged.
    """
    policy = prep.policy
    audio, sr = decode(path)
    if policy.channels == "concat":  # MS-CLAP resamples each channel, then concatenates them
        mono = mix_channels(resample(audio, sr, prep.sample_rate, policy.resampler), "concat")
    else:
        mono = resample(mix_channels(audio, policy.channels), sr, prep.sample_rate, policy.resampler)
    if not np.isfinite(mono).all():  # finite input, but far beyond full scale: resampling overflowed
        raise BadAudioError(path, f"samples up to {np.abs(audio).max():.3g} overflow when resampled; "
                                  "this is not normalised audio")
    if policy.int16:
        mono = int16_roundtrip(mono)
    n = policy.samples(prep.sample_rate)
    if len(mono) == 0:
        raise BadAudioError(path, "file is too short to hold one sample at the model's rate")
    if len(mono) <= n:
        return fill_short(mono, n, policy.short)[None, :].astype(np.float32, copy=False)
    if policy.long == "fusion":
        return mono[None, :].astype(np.float32, copy=False)  # the model picks its chunks
    offsets = crop_offsets(len(mono), n, prep.crop, clip_key or str(path), prep.seed, policy.max_chunks,
                           to_end=policy.crop_to_end)
    return np.stack([mono[o:o + n] for o in offsets]).astype(np.float32, copy=False)
