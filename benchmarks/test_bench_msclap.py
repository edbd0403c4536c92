"""MS-CLAP 2023 throughput: the harness's pipeline against the package's own batched call.

Both sides hold the same seeded random weights and embed the same real ESC-50 clips: ours through
``zsbench.evaluation.embed.embed_audio`` (decode in 2 worker processes, batches of 16, no cache), the
package through ``get_audio_embeddings_per_batch(paths, 16)`` with its ``torchaudio.load``
replaced by a soundfile reader (FFmpeg is absent). HTSAT + GPT-2 on CPU is slow, so a 48-clip
subset is timed. Run with ``make bench``; nothing here asserts a speed.
"""

from __future__ import annotations

from types import SimpleNamespace
from unittest import mock

import numpy as np
import pytest
import soundfile as sf

from zsbench.adapters.base import LoadOptions
from zsbench.data.audio import Preprocessing
from zsbench.evaluation.cache import EmbeddingCache
from zsbench.evaluation.embed import embed_audio

N_CLIPS, BATCH = 48, 16


def soundfile_load(path, *args, **kwargs):
    """What torchaudio.load returns for PCM files: float32 (channels, frames), and the rate."""
    import torch

    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    return torch.from_numpy(np.ascontiguousarray(data.T)), sr


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """(reference msclap.CLAP, our adapter), both loaded from one seeded random checkpoint."""
    import torch

    from zsbench.adapters.msclap import MSCLAP2023, offline_text_model

    folder = tmp_path_factory.mktemp("msclap-bench")
    empty, weights = folder / "empty.pth", folder / "weights.pth"
    torch.save({"model": {}}, empty)
    torch.manual_seed(0)
    with offline_text_model():
        import msclap  # after the adapter's guarded import: msclap silences all warnings when imported

        torch.save({"model": msclap.CLAP(model_fp=str(empty), version="2023").clap.state_dict()}, weights)
        reference = msclap.CLAP(model_fp=str(weights), version="2023", use_cuda=False)
    ours = MSCLAP2023(LoadOptions(checkpoint=str(weights)))
    # one untimed batch: the first forward pass sets up kernels, which would bill whichever side runs first
    ours.embed_audio(np.zeros((BATCH, ours.meta.clip.samples(ours.meta.sample_rate)), dtype=np.float32))
    return reference, ours


def test_harness_embed_audio(benchmark, models, esc50_clips):
    _, ours = models
    clips = esc50_clips[:N_CLIPS]
    prep = Preprocessing(ours.meta.sample_rate, ours.meta.clip, "seeded")

    def go():
        return embed_audio(ours, clips, prep, EmbeddingCache(None, "x"), batch_size=BATCH, progress=False)

    result = benchmark.pedantic(go, rounds=1, iterations=1, warmup_rounds=0)
    assert result.computed == len(clips)
    benchmark.extra_info.update(clips=len(clips), clips_per_s=round(len(clips) / benchmark.stats.stats.mean, 3))


def test_package_get_audio_embeddings(benchmark, models, esc50_clips):
    import msclap.CLAPWrapper as wrapper_module

    reference, _ = models
    paths = [str(p) for p in esc50_clips[:N_CLIPS]]

    def go():
        with mock.patch.object(wrapper_module, "torchaudio", SimpleNamespace(load=soundfile_load)):
            return [e for e in reference.get_audio_embeddings_per_batch(paths, BATCH)]

    batches = benchmark.pedantic(go, rounds=1, iterations=1, warmup_rounds=0)
    assert sum(len(b) for b in batches) == len(paths)
    benchmark.extra_info.update(clips=len(paths), clips_per_s=round(len(paths) / benchmark.stats.stats.mean, 3))
