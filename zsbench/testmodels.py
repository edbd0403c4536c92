"""Models for tests and benchmarks (not used by the harness itself), never presented as trained.

- ``save_tiny_clap``: a tiny transformers ``ClapModel`` (seeded random weights, the real
  architecture) saved as a checkpoint folder for ``--model hf-clap --checkpoint FOLDER``; fast
  enough for tests that run ``zsbench`` many times (crash, concurrency), nothing downloaded.
- ``NearFreeModel``: an adapter whose forward costs nothing, so that what is measured is the
  harness (decoding, caching, scoring, memory).
"""

from __future__ import annotations

from pathlib import Path

SR = 48000


def save_tiny_clap(folder: Path, seed: int = 0) -> Path:
    """Write the folder once (atomically by rename) and return it; the hf_cache fixture must be up."""
    import torch
    from transformers import ClapConfig, ClapFeatureExtractor, ClapModel, ClapProcessor, RobertaTokenizer

    folder = Path(folder)
    if (folder / "config.json").exists():
        return folder
    torch.manual_seed(seed)
    config = ClapConfig(
        text_config={"vocab_size": 50265, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
                     "intermediate_size": 37, "projection_dim": 16},
        audio_config={"spec_size": 256, "patch_embeds_hidden_size": 16, "depths": [1, 1],
                      "num_attention_heads": [1, 2], "window_size": 8, "hidden_size": 32,
                      "enable_fusion": False, "projection_dim": 16},
        projection_dim=16)
    model = ClapModel(config).eval()
    extractor = ClapFeatureExtractor(feature_size=64, sampling_rate=SR, hop_length=480, max_length_s=10,
                                     fft_window_size=1024, frequency_min=50, frequency_max=14000,
                                     truncation="rand_trunc", padding="repeatpad")
    tmp = folder.with_name(folder.name + ".part")
    model.save_pretrained(tmp)
    ClapProcessor(extractor, RobertaTokenizer.from_pretrained("roberta-base")).save_pretrained(tmp)
    tmp.rename(folder)
    return folder


def esc50_table(clips, path: Path) -> str:
    """A folder-task CSV (path,label) over ESC-50 clips, labels from their file names."""
    path.write_text("".join(f"{p},{p.stem.rsplit('-', 1)[1]}\n" for p in clips))
    return str(path)
