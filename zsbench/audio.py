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
LongCrop = Literal["random", "seeded", "centre", "start", "chunks"]
ChannelMix = Literal["mean", "first"]
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
    benchmark is deterministic, and records what it used.
    """

    seconds: float
    short: ShortFill = "repeatpad"
    long: LongCrop = "random"
    channels: ChannelMix = "mean"
    max_chunks: int = 3  # windows embedded and averaged in "chunks" mode

    def samples(self, sample_rate: int) -> int:
        return int(round(self.seconds * sample_rate))


@dataclass(frozen=True)
class Preprocessing:
    """Everything between the file and the model input, for one run."""

    sample_rate: int
    policy: ClipPolicy
    crop: LongCrop
    seed: int = 0
    resampler: str = "soxr-hq"

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
    if how == "first":
        return audio[0]
    return audio.mean(axis=0)


def resample(audio: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    if source_rate == target_rate:
        return audio
    import soxr

    return soxr.resample(audio, source_rate, target_rate, quality="HQ").astype(np.float32, copy=False)


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
                 rng: np.random.Generator | None = None) -> list[int]:
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
        rng = np.random.default_rng([seed, zlib.crc32(rng_key.encode())])
    elif rng is None:
        rng = np.random.default_rng()
    return [int(rng.integers(0, span + 1))]


def prepare_clip(path: str | Path, prep: Preprocessing, clip_key: str = "") -> np.ndarray:
    """Decode one file into model input windows, shape (windows, samples), float32.

    One window except in ``chunks`` mode, where the embeddings of the windows are averaged.
    """
    audio, sr = decode(path)
    mono = resample(mix_channels(audio, prep.policy.channels), sr, prep.sample_rate)
    n = prep.policy.samples(prep.sample_rate)
    if len(mono) == 0:
        raise BadAudioError(path, "file is too short to hold one sample at the model's rate")
    if len(mono) <= n:
        return fill_short(mono, n, prep.policy.short)[None, :].astype(np.float32, copy=False)
    offsets = crop_offsets(len(mono), n, prep.crop, clip_key or str(path), prep.seed, prep.policy.max_chunks)
    return np.stack([mono[o:o + n] for o in offsets]).astype(np.float32, copy=False)
