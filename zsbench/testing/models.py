"""Models for tests and benchmarks (not used by the harness itself), never presented as trained.

- ``save_tiny_clap``: a tiny transformers ``ClapModel`` (seeded random weights, the real
  architecture) saved as a checkpoint folder for ``--model hf-clap --checkpoint FOLDER``; fast
  enough for tests that run ``zsbench`` many times (crash, concurrency), nothing downloaded.
- ``NearFreeModel``: an adapter whose forward costs nothing, so that what is measured is the
  harness (decoding, caching, scoring, memory); ``near_free_laion_forward`` does the same for
  LAION's own ``CLAP_Module``, and ``bare_decode`` is the single-core floor decode figures are
  compared with.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

SR = 48000


def save_tiny_clap(folder: Path, seed: int = 0, fusion: bool = False) -> Path:
    """Write the folder once (atomically by rename) and return it; the hf_cache fixture must be up.

    A ClapModel small enough to run in milliseconds, with the Hub checkpoints' preprocessor
    settings (spec_size 256 with 64 mel bins is what 1001 frames of 10 s need; the rest is shrunk).
    """
    import torch
    from transformers import (
        ClapConfig,
        ClapFeatureExtractor,
        ClapModel,
        ClapProcessor,
        RobertaTokenizer,
    )

    folder = Path(folder)
    if (folder / "config.json").exists():
        return folder
    torch.manual_seed(seed)
    config = ClapConfig(
        text_config={"vocab_size": 50265, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
                     "intermediate_size": 37, "projection_dim": 16},
        audio_config={"spec_size": 256, "patch_embeds_hidden_size": 16, "depths": [1, 1],
                      "num_attention_heads": [1, 2], "window_size": 8, "hidden_size": 32,
                      "enable_fusion": fusion, "projection_dim": 16},
        projection_dim=16)
    model = ClapModel(config).eval()
    extractor = ClapFeatureExtractor(feature_size=64, sampling_rate=SR, hop_length=480, max_length_s=10,
                                     fft_window_size=1024, frequency_min=50, frequency_max=14000,
                                     truncation="fusion" if fusion else "rand_trunc", padding="repeatpad")
    tmp = folder.with_name(folder.name + ".part")
    model.save_pretrained(tmp)
    ClapProcessor(extractor, RobertaTokenizer.from_pretrained("roberta-base")).save_pretrained(tmp)
    tmp.rename(folder)
    return folder


def save_tiny_t5_tokenizer(folder: Path, sentences, vocab_size: int) -> Path:
    """A tiny T5-style tokenizer (flan-t5-large's SentencePiece model is not available offline):
    Unigram trained on ``sentences``, with T5's specials (pad 0, </s> 1, unk 2) and </s> appended."""
    import transformers
    from tokenizers import (
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
        trainers,
    )

    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(vocab_size=vocab_size, unk_token="<unk>", special_tokens=["<pad>", "</s>", "<unk>"])
    tok.train_from_iterator(list(sentences) * 5, trainer)
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B </s>",
                                                       special_tokens=[("</s>", 1)])
    transformers.T5TokenizerFast(tokenizer_object=tok, eos_token="</s>", pad_token="<pad>", unk_token="<unk>",
                                 extra_ids=0).save_pretrained(folder)
    return Path(folder)


def esc50_table(clips, path: Path) -> str:
    """A folder-task CSV (path,label) over ESC-50 clips, labels from their file names."""
    path.write_text("".join(f"{p},{p.stem.rsplit('-', 1)[1]}\n" for p in clips))
    return str(path)


class NearFreeModel:
    """An adapter whose forward pass costs next to nothing (a fixed random projection of the
    first samples), so a run measures the harness itself: decoding, caching, scoring, memory.
    Deterministic; embeddings depend on the audio, so the metric is a real function of it."""

    def __init__(self, sample_rate: int = 16000, seconds: float = 1.0, dim: int = 512, seed: int = 0):
        from zsbench.adapters.base import ModelMeta
        from zsbench.data.audio import ClipPolicy

        self.meta = ModelMeta(name="near-free", sample_rate=sample_rate, clip=ClipPolicy(seconds, "repeatpad", "random"),
                              embed_dim=dim, templates=("{label}",), description="test stand-in; not a model")
        rng = np.random.default_rng(seed)
        self._proj = rng.standard_normal((64, dim)).astype(np.float32)
        self._seed = seed

    def fingerprint(self) -> str:
        from zsbench.adapters.base import fingerprint_of

        return fingerprint_of("near-free", self.meta.to_dict(), self._seed)

    def embed_audio(self, windows, seeds=None) -> np.ndarray:
        from zsbench.adapters.base import l2_normalize

        x = np.stack([np.asarray(w[:64], dtype=np.float32) for w in windows])
        # einsum, not @: BLAS would start threads that spin after each call, taking a core from
        # the decode workers this model exists to measure
        return l2_normalize(np.einsum("bi,id->bd", x, self._proj))

    def embed_text(self, texts) -> np.ndarray:
        from zsbench.adapters.base import l2_normalize

        out = []
        for text in texts:
            digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
            out.append(np.random.default_rng(int.from_bytes(digest, "little")).standard_normal(self.meta.embed_dim))
        return l2_normalize(np.asarray(out, dtype=np.float32))


def bare_decode(paths, rate: int = SR) -> None:
    """soundfile + soxr HQ on one core and nothing else: what every decode figure is compared with."""
    import soundfile as sf
    import soxr

    for path in paths:
        audio, sr = sf.read(path, dtype="float32")
        soxr.resample(audio, sr, rate, quality="HQ")


def near_free_laion_forward(batch):
    """Stands in for laion_clap's ``model.get_audio_embedding`` (the first 512 samples of each
    waveform), so that ``get_audio_embedding_from_filelist`` measures LAION's loading path only."""
    import torch

    return torch.stack([d["waveform"][:512] for d in batch])


def synthetic_task(root: Path, n_clips: int, n_classes: int = 527, labels_per_clip: int = 2,
                   sample_rate: int = 16000, seconds: float = 0.25, seed: int = 0) -> Path:
    """An AudioSet-shaped folder task: ``n_clips`` short noise WAVs (16-bit), each with
    ``labels_per_clip`` of ``n_classes`` labels (multi-label: mAP), listed in ``root/task.csv``.
    Returns the CSV; files already there are kept (so a re-run hits the embedding cache)."""
    import soundfile as sf

    root = Path(root)
    audio = root / "audio"
    audio.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    lines = []
    for i in range(n_clips):
        path = audio / f"{i:06d}.wav"
        noise = rng.standard_normal(int(sample_rate * seconds)).astype(np.float32) * 0.1
        if not path.exists():
            sf.write(path, noise, sample_rate, subtype="PCM_16")
        labels = rng.choice(n_classes, size=labels_per_clip, replace=False)
        lines.append(f"audio/{path.name}," + ",".join(f"class {j}" for j in labels) + "\n")
    table = root / "task.csv"
    table.write_text("".join(lines), encoding="utf-8")
    return table


def _memory_probe() -> None:
    """``python -m zsbench.testing.models ROOT N [cache|nocache]``: one run of the near-free model
    over an ``N``-clip synthetic task; prints JSON with peak RSS (MiB), seconds and the metric."""
    import json
    import resource
    import sys
    import time

    from zsbench.evaluation.runner import RunConfig, run

    root, n = Path(sys.argv[1]), int(sys.argv[2])
    use_cache = len(sys.argv) < 4 or sys.argv[3] != "nocache"
    table = synthetic_task(root, n)
    model = NearFreeModel()
    import torch  # noqa: F401  (the harness imports it; counted in the baseline, not in the run)

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    result = run(RunConfig(model="near-free", task="folder", data_root=str(table), workers=0, batch_size=64,
                           cache_dir=str(root / "cache"), use_cache=use_cache, results_dir=str(root / "results")),
                 model=model)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    key = result.record.metrics["headline"]
    print(json.dumps({"clips": n, "peak_rss_mib": round(peak, 1), "baseline_rss_mib": round(base, 1),
                      "growth_mib": round(peak - base, 1), "seconds": round(time.perf_counter() - t0, 2),
                      "metric": key, "value": result.record.metrics["values"][key],
                      "audio_hits": result.record.cache["audio_hits"]}))


if __name__ == "__main__":
    _memory_probe()


class WholeWindowModel:
    """A test model that embeds every sample of its input (block sums into ``dim`` values), so
    any lost, stale or misplaced sample in a window changes the embedding: what the decode
    workers, the shared-memory slots and the device feed are checked with."""

    def __init__(self, policy, sample_rate: int = 16000, dim: int = 64):
        from zsbench.adapters.base import ModelMeta

        self.dim = dim
        self.meta = ModelMeta(name="whole-window", sample_rate=sample_rate, clip=policy, embed_dim=dim,
                              templates=("{label}",), description="test model")

    def fingerprint(self) -> str:
        return "whole-window"

    def embed_audio(self, windows, seeds=None) -> np.ndarray:
        from zsbench.adapters.base import l2_normalize

        out = [[b.sum() + 1e-3 * len(b) for b in np.array_split(np.asarray(w, dtype=np.float64), self.dim)]
               for w in windows]
        return l2_normalize(np.asarray(out))

    def embed_text(self, texts) -> np.ndarray:
        return np.ones((len(texts), self.dim), dtype=np.float32)
