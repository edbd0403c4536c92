"""Training data: the caption CSV or WebDataset shards, the paper's caption augmentation, and a
stateless sampler that makes every step's batch a pure function of (seed, step, rank).

Because the batch of step ``s`` depends on nothing but the seed and ``s``, ``--resume`` needs no
data-loader state to continue bit-for-bit: the data position *is* the step counter.
"""

from __future__ import annotations

import csv
import glob
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

REQUIRED = ("path", "caption", "rewritten_captions")


@dataclass(frozen=True)
class Example:
    """One training clip: where its audio is and the captions that describe it."""

    path: str                  # a file path, or "tar:SHARD#MEMBER" for WebDataset shards
    caption: str
    rewrites: tuple[str, ...]  # the K rewrites (LLM or procedural), possibly empty


def _rewrites(raw: str, where: str) -> tuple[str, ...]:
    """A JSON list of strings; never ``eval`` (the authors' loader evaluates CSV text)."""
    if raw is None or raw.strip() == "":
        return ()
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: rewritten_captions is not a JSON list of strings ({exc}); write it "
                         "as json.dumps([...]), e.g. [\"a dog barks twice\", \"two barks\"]") from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}: rewritten_captions must be a JSON list of strings, got {type(value).__name__}")
    return tuple(value)


def read_csv(path: str | Path) -> list[Example]:
    """The recipe's CSV: ``path, caption, [dataset,] rewritten_captions``; relative audio paths
    are resolved against the CSV's folder."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"training CSV {path} does not exist; pass --set train_csv=PATH")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing column(s) {missing}; the header must contain "
                             f"{', '.join(REQUIRED)} (and optionally dataset)")
        out = []
        for line, row in enumerate(reader, start=2):
            where = f"{path}, line {line}"
            if not (row["path"] or "").strip() or not (row["caption"] or "").strip():
                raise ValueError(f"{where}: empty path or caption")
            audio = Path(row["path"])
            audio = audio if audio.is_absolute() else path.parent / audio
            out.append(Example(str(audio), row["caption"].strip(), _rewrites(row["rewritten_captions"], where)))
    if not out:
        raise ValueError(f"{path}: no rows")
    return out


def read_shards(pattern: str) -> list[Example]:
    """WebDataset shards: each sample is ``KEY.<audio ext>`` + ``KEY.json`` with ``caption`` and
    ``rewritten_captions`` (a list). Only the index is read here; audio is read on use."""
    shards = sorted(glob.glob(pattern))
    if not shards:
        raise FileNotFoundError(f"no WebDataset shards match {pattern!r}")
    out = []
    for shard in shards:
        with tarfile.open(shard) as tar:
            members = {m.name: m for m in tar.getmembers() if m.isfile()}
            for name, member in sorted(members.items()):
                if not name.endswith(".json"):
                    continue
                key = name[:-5]
                audio = next((f"{key}.{ext}" for ext in ("flac", "wav", "mp3", "ogg") if f"{key}.{ext}" in members),
                             None)
                if audio is None:
                    raise ValueError(f"{shard}: {name} has no audio member ({key}.flac/.wav/.mp3/.ogg)")
                meta = json.loads(tar.extractfile(member).read().decode("utf-8"))
                rewrites = meta.get("rewritten_captions", [])
                if isinstance(rewrites, str):
                    rewrites = list(_rewrites(rewrites, f"{shard}#{name}"))
                if "caption" not in meta:
                    raise ValueError(f"{shard}#{name}: no 'caption' field")
                out.append(Example(f"tar:{shard}#{audio}", str(meta["caption"]), tuple(rewrites)))
    return out


def read_audio_bytes(path: str) -> io.BytesIO | str:
    """A path that ``soundfile`` can read: the file itself, or a shard member's bytes."""
    if not path.startswith("tar:"):
        return path
    shard, _, member = path[4:].partition("#")
    with tarfile.open(shard) as tar:
        return io.BytesIO(tar.extractfile(member).read())


# --- caption augmentation -----------------------------------------------------------------------

@dataclass(frozen=True)
class CaptionAugmentation:
    """The paper's rule, in the authors' order: per sample draw one of its K rewrites uniformly,
    then keep the original caption with probability ``p``, else use that rewrite. A caption with
    no rewrites is always kept. Index 0 is the original, ``1..K`` the rewrites."""

    p: float = 0.4
    k: int = 4

    def choose(self, rng: np.random.Generator, n_rewrites: Sequence[int]) -> np.ndarray:
        n = np.minimum(np.asarray(n_rewrites, dtype=np.int64), self.k)
        rewrite = np.floor(rng.random(len(n)) * np.maximum(n, 1)).astype(np.int64) + 1  # uniform over 1..n
        keep = rng.random(len(n)) < self.p
        return np.where(keep | (n == 0), 0, rewrite)

    def caption(self, rng: np.random.Generator, example: Example) -> str:
        i = int(self.choose(rng, [len(example.rewrites)])[0])
        return example.caption if i == 0 else example.rewrites[i - 1]


# --- stateless sampling ---------------------------------------------------------------------------

def step_rng(seed: int, step: int, stream: int = 0) -> np.random.Generator:
    """The generator for step ``step``: independent of every other step and of how the run was
    split into resumptions."""
    return np.random.default_rng([int(seed), int(step), int(stream), 0x5EED])


def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    return np.random.default_rng([int(seed), int(epoch), 0xE90C]).permutation(n)


def batch_indices(seed: int, step: int, n: int, global_batch: int, rank: int = 0, world: int = 1) -> np.ndarray:
    """Dataset indices of this rank's share of step ``step``'s global batch: the run walks a
    fresh permutation each epoch; a batch that crosses an epoch boundary takes from both."""
    if global_batch % world:
        raise ValueError(f"batch size {global_batch} is not divisible by the {world} ranks")
    start = step * global_batch
    idx = []
    while len(idx) < global_batch:
        epoch, offset = divmod(start + len(idx), n)
        order = epoch_order(seed, epoch, n)
        idx.extend(order[offset:offset + global_batch - len(idx)].tolist())
    share = global_batch // world
    return np.asarray(idx[rank * share:(rank + 1) * share], dtype=np.int64)
