"""Does ``torch.compile`` help? LAION HTSAT-tiny (seeded random weights) on 48 real ESC-50 clips,
batch 16: eager clips/s, compiled clips/s, the one-off compile cost, the largest embedding change.

A script, not a pytest benchmark: compiling takes about a minute on CPU.

    .venv/bin/python benchmarks/compile_laion.py
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from zsbench.testing import offline_hub, shared_root

REPO = Path(__file__).resolve().parents[1]
SHARED = shared_root(REPO)


def main() -> None:
    home = offline_hub(REPO / "tests" / "fixtures" / "hf-hub")  # before anything imports huggingface_hub
    import torch

    from zsbench.adapters import laion
    from zsbench.adapters.base import LoadOptions
    from zsbench.data.audio import Preprocessing, prepare_clip

    torch.manual_seed(0)
    ref = laion.build_clap("HTSAT-tiny", False)
    path = home / "htsat-tiny-random.pt"
    torch.save({"state_dict": {"module." + k: v for k, v in ref.model.state_dict().items()}}, path)
    adapter = laion.VARIANTS["laion-clap-630k-audioset-best"](LoadOptions(checkpoint=str(path)))
    clips = sorted((SHARED / "data" / "esc50" / "audio_flac").glob("*.flac"))[:48]
    prep = Preprocessing(adapter.meta.sample_rate, adapter.meta.clip, "seeded")
    windows = np.concatenate([prepare_clip(p, prep, str(p)) for p in clips])

    def embed() -> np.ndarray:
        with torch.inference_mode():
            return np.concatenate([adapter.embed_audio(windows[s:s + 16], seeds=list(range(s, s + 16)))
                                   for s in range(0, len(windows), 16)])

    def timed() -> tuple[float, np.ndarray]:
        t = time.perf_counter()
        out = embed()
        return len(windows) / (time.perf_counter() - t), out

    embed()  # warm-up
    eager_rate, eager = timed()
    t = time.perf_counter()
    adapter.clap.model.audio_branch = torch.compile(adapter.clap.model.audio_branch, dynamic=False)
    embed()
    compile_s = time.perf_counter() - t
    compiled_rate, compiled = timed()
    print(f"eager {eager_rate:.2f} clips/s, compiled {compiled_rate:.2f} clips/s "
          f"({compiled_rate / eager_rate:.2f} x); compile + first pass {compile_s:.1f} s; "
          f"max embedding change {float(np.abs(compiled - eager).max()):.1e}")


if __name__ == "__main__":
    main()
