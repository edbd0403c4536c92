"""LAION-CLAP (``laion-clap`` 1.1.7): the package's own model code, with our loading and input.

Everything that computes numbers (HTSAT, the fusion chunking in ``get_audio_features``, the
RoBERTa tokenizer settings, the projections) is the package's, called the way its
``get_audio_embedding_from_data`` / ``get_text_embedding`` call it, so results equal the
package's API. What we replace is what makes the package unsafe or unusable in a benchmark:
its import (hangs without a reachable Hub, pollutes ``sys.path``), its weight loading
(``weights_only=False``, unchecked keys, a roberta-base download whose weights the checkpoint
overwrites anyway) and its unseeded random crops.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from zsbench.adapters.base import (LoadOptions, ModelMeta, check_device, check_options, fingerprint_of,
                                   l2_normalize, load_checked, numpy_global_seed, read_weights, state_digest)
from zsbench.adapters import training_data
from zsbench.data.audio import ClipPolicy
from zsbench.data.checkpoints import CheckpointSource, resolve
from zsbench.registry import MODELS

SR = 48000
HUB_REPO = "lukewys/laion_clap"
TEXT_MODEL = "roberta-base"
TOKENIZER = {"name": TEXT_MODEL, "padding": "max_length", "truncation": True, "max_length": 77}  # CLAP_Module.tokenizer
FUSION_TYPE = "aff_2d"  # what CLAP_Module uses whenever enable_fusion=True
POSITION_IDS = "text_branch.embeddings.position_ids"  # saved by transformers < 4.31, a non-persistent buffer now
IGNORABLE = (POSITION_IDS,)  # keys a checkpoint may carry that the model rebuilds (base.load_checked)
SOUND = "This is a sound of {label}."
MUSIC = "This audio is a {label} song."
# What LAION's librosa.load(sr=48000) does, length rule included: a 5 s clip at 44.1 kHz becomes
# 240001 samples, so repeatpad pads it with zeros instead of repeating it.
RESAMPLER = "soxr-hq"
_GENERIC_TOP_LEVEL = ("training", "evaluate")  # names laion_clap's sys.path entry could shadow


@lru_cache(maxsize=1)
def _hub_reachable(host: str = "huggingface.co", timeout: float = 3.0) -> bool:
    """A 3 s TCP probe: cheaper than letting transformers retry for minutes. (Behind an HTTPS
    proxy it reports unreachable, which only means the local Hub cache is used.)"""
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


@contextlib.contextmanager
def _offline_if_unreachable() -> Iterator[None]:
    """Hub offline mode for the duration, when the user chose none and the Hub cannot be reached.

    huggingface_hub and transformers read the variable once at import, so their module flags
    are switched too, and everything is put back afterwards.
    """
    if os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or _hub_reachable():
        yield
        return
    import huggingface_hub.constants as hub_constants
    import transformers.utils.hub as tf_hub

    saved_env, saved = os.environ.get("HF_HUB_OFFLINE"), (hub_constants.HF_HUB_OFFLINE, tf_hub._is_offline_mode)
    os.environ["HF_HUB_OFFLINE"] = "1"
    hub_constants.HF_HUB_OFFLINE = tf_hub._is_offline_mode = True
    try:
        yield
    finally:
        if saved_env is None:
            del os.environ["HF_HUB_OFFLINE"]
        else:
            os.environ["HF_HUB_OFFLINE"] = saved_env
        hub_constants.HF_HUB_OFFLINE, tf_hub._is_offline_mode = saved


@lru_cache(maxsize=1)
def _import_laion_clap():
    """``import laion_clap`` without its side effects on the caller's interpreter.

    It appends its own folder to ``sys.path``, so its top-level ``training`` and ``evaluate``
    could shadow real packages; we restore ``sys.path`` and drop any such generic top-level
    modules it loaded. ``clap_module`` stays in ``sys.modules``: the package's code is bound to
    it and the name clashes with nothing.
    """
    path, before = list(sys.path), set(sys.modules)
    try:
        with _offline_if_unreachable():
            import laion_clap
    except ImportError as exc:
        raise ImportError(f"the LAION-CLAP models need the laion extra: pip install 'zsbench[laion]' ({exc})") from exc
    finally:
        sys.path[:] = path
    folder = os.path.dirname(laion_clap.__file__)
    for name in set(sys.modules) - before:
        module = sys.modules.get(name)
        if name.split(".")[0] in _GENERIC_TOP_LEVEL and (getattr(module, "__file__", None) or "").startswith(folder):
            del sys.modules[name]
    return laion_clap


@contextlib.contextmanager
def text_tower_from_config() -> Iterator[None]:
    """Let ``CLAP_Module`` build RoBERTa from its config instead of downloading roberta-base.

    The checkpoint overwrites every text-branch weight (the key check below proves it), so the
    download is wasted time offline and a failure without the Hub.
    """
    from unittest import mock

    import transformers

    def from_config(cls, name, *args, **kwargs):
        return cls(transformers.RobertaConfig.from_pretrained(name))

    with mock.patch.object(transformers.RobertaModel, "from_pretrained", classmethod(from_config)):
        yield


def build_clap(amodel: str, fusion: bool, device: str = "cpu"):
    """The package's own ``CLAP_Module`` with its random initial weights, built without the Hub."""
    laion_clap = _import_laion_clap()
    with _offline_if_unreachable(), text_tower_from_config():
        clap = laion_clap.CLAP_Module(enable_fusion=fusion, amodel=amodel, device=device)
    cast_fusion_outputs(clap)
    return clap.eval()


def cast_fusion_outputs(model) -> None:
    """HTSAT's fusion writes the fusion block's output into the patch tensor in place; under
    bf16/fp16 autocast the block returns float32 into a half tensor and the package fails
    ("Index put requires the source and destination dtypes match"). Cast it to the input's
    dtype; without autocast both are float32 and nothing changes."""
    for name, module in model.named_modules():
        if name.endswith("fusion_model"):
            module.register_forward_hook(lambda _m, args, out: out.to(args[0].dtype))


HINT = f"Pass --checkpoint with a LAION-CLAP .pt file (e.g. from https://huggingface.co/{HUB_REPO})."
LAYOUT = "a dict of tensors, or a dict whose 'state_dict' entry is one, DDP 'module.' prefixes allowed"


def read_state_dict(path: Path, what: str = "a LAION-CLAP checkpoint", hint: str = HINT,
                    refused_hint: str | None = None) -> dict[str, Any]:
    """Tensors of a LAION checkpoint (``{"state_dict": ...}``, DDP ``module.`` prefix removed),
    through the one safe loader (:func:`zsbench.adapters.base.read_weights`): the package itself
    loads with ``weights_only=False``. Other models in this layout pass their own ``hint``."""
    return read_weights(path, what=what, layout=LAYOUT, hint=hint, refused_hint=refused_hint,
                        entries=("state_dict", None), strip_prefix="module.")


class LaionClap:
    """A LAION-CLAP checkpoint; the registered subclasses fix the architecture and weights."""

    meta: ModelMeta
    amodel: str
    fusion: bool
    weights: CheckpointSource

    def __init__(self, options: LoadOptions | None = None):
        options = options or LoadOptions()
        self.device = check_device(options.device)
        check_options(self.meta.name, options.extra)
        if self.fusion and options.crop not in ("seeded", "random"):
            raise ValueError(
                f"--crop {options.crop}: {self.meta.name} is a fusion model that picks its own chunks (a "
                "downsampled whole-clip mel plus 3 random 10 s chunks), so there is no single window to "
                "cut; use --crop seeded (the same chunks for a clip in every run) or --crop random (LAION's "
                "own behaviour)"
            )
        path = resolve(options.checkpoint, self.weights, what=f"{self.meta.name} weights")
        self.weights_file = path  # the run record carries its sha256
        state = read_state_dict(path)
        self.clap = build_clap(self.amodel, self.fusion, self.device)
        load_checked(self.clap.model, state, path, ignorable=IGNORABLE,
                     what=f"{self.meta.name} ({self.amodel}, fusion {'on' if self.fusion else 'off'})",
                     hint="The checkpoint is for another architecture: pick the model whose audio tower "
                          f"(HTSAT-tiny or HTSAT-base) and fusion setting match it ({', '.join(VARIANTS)}).")
        self._fingerprint: str | None = None

    def fingerprint(self) -> str:
        if self._fingerprint is None:
            from importlib.metadata import version

            vocab = json.dumps(self.clap.tokenize.get_vocab(), sort_keys=True).encode()
            config = {"amodel": self.amodel, "fusion": self.fusion, "fusion_type": FUSION_TYPE if self.fusion else None,
                      "model_cfg": self.clap.model_cfg, "tokenizer": TOKENIZER, "laion_clap": version("laion_clap")}
            self._fingerprint = fingerprint_of("laion-clap", config, self.meta.to_dict(),
                                               state_digest(self.clap.model.state_dict()),
                                               hashlib.sha256(vocab).hexdigest())
        return self._fingerprint

    def compile_towers(self, compile_fn) -> list[str]:
        """``--compile`` (zsbench.runtime.compiling): HTSAT's ``forward``, which both the fast
        ``_embed_full_windows`` route and the package's ``get_audio_embedding`` reach through
        ``encode_audio``. Fusion models are refused: the number of clips longer than 10 s in a
        batch sets tensor shapes inside HTSAT, so nearly every batch would compile anew."""
        if self.fusion:
            from zsbench.runtime.compiling import CompileUnsupported

            raise CompileUnsupported(f"model {self.meta.name!r}: its fusion audio tower has shapes that depend on "
                                     "how many clips in a batch are longer than 10 s, so compiling would recompile "
                                     "for most batches; run without --compile")
        branch = self.clap.model.audio_branch
        branch.forward = compile_fn(branch.forward)
        return ["audio_branch"]

    def embed_audio(self, windows: np.ndarray | list[np.ndarray], seeds: Sequence[int] | None = None) -> np.ndarray:
        """The package's ``get_audio_embedding_from_data`` minus its int16 round trip (the harness did it).

        Non-fusion windows arrive cut to 10 s; fusion clips arrive whole and ``get_audio_features``
        picks their chunks, from ``seeds`` when given.
        """
        import torch

        n = self.meta.clip.samples(SR)
        if not self.fusion and isinstance(windows, np.ndarray) and windows.ndim == 2 and windows.shape[1] == n:
            return self._embed_full_windows(windows)
        get_audio_features = _import_laion_clap().training.data.get_audio_features
        inputs = []
        for i, window in enumerate(windows):
            wav = torch.from_numpy(np.ascontiguousarray(window, dtype=np.float32))
            with numpy_global_seed(None if seeds is None else int(seeds[i])):
                inputs.append(get_audio_features({}, wav, n, data_truncating="fusion" if self.fusion else "rand_trunc",
                                                 data_filling="repeatpad", audio_cfg=self.clap.model_cfg["audio_cfg"]))
        with torch.inference_mode():
            emb = self.clap.model.get_audio_embedding(inputs)
        return l2_normalize(emb.float().cpu().numpy())

    def _embed_full_windows(self, windows: np.ndarray) -> np.ndarray:
        """Without fusion, the package's features of a window of exactly 10 s are the waveform
        itself and ``longer=False`` (``get_audio_features`` changes nothing), and
        ``get_audio_embedding`` stacks them: so hand it the batch the harness already stacked,
        in one host-to-device copy, instead of a per-clip loop and a second copy of the batch in
        the process that also has to keep the GPU busy."""
        import torch

        device = next(self.clap.model.parameters()).device
        return self._embed_waveforms(torch.from_numpy(np.ascontiguousarray(windows, dtype=np.float32)).to(device))

    def embed_audio_tensor(self, windows, seeds: Sequence[int] | None = None) -> np.ndarray:
        """``embed_audio`` for a (B, samples) float32 tensor already on the model's device (the
        harness copied it there ahead of time, from page-locked memory); anything else, such as
        fusion models' inputs, goes through ``embed_audio``."""
        n = self.meta.clip.samples(SR)
        if self.fusion or windows.ndim != 2 or windows.shape[1] != n:
            return self.embed_audio(windows.cpu().numpy(), seeds)
        return self._embed_waveforms(windows)

    def _embed_waveforms(self, waveform) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        model = self.clap.model
        device = next(model.parameters()).device
        batch = {"waveform": waveform.to(device),
                 "longer": torch.zeros((len(waveform), 1), dtype=torch.bool, device=device)}
        with torch.inference_mode():
            emb = F.normalize(model.audio_projection(model.encode_audio(batch, device=device)["embedding"]), dim=-1)
        return l2_normalize(emb.float().cpu().numpy())

    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            emb = self.clap.get_text_embedding(list(texts), use_tensor=True)
        return l2_normalize(emb.float().cpu().numpy())


# name, weights file on the Hub, audio tower, fusion, template, training data (adapters/training_data.py)
_CHECKPOINTS = (
    ("laion-clap-630k-best", "630k-best.pt", "HTSAT-tiny", False, SOUND, training_data.LAION_630K),
    ("laion-clap-630k-audioset-best", "630k-audioset-best.pt", "HTSAT-tiny", False, SOUND,
     training_data.LAION_630K_AUDIOSET),
    ("laion-clap-630k-fusion-best", "630k-fusion-best.pt", "HTSAT-tiny", True, SOUND, training_data.LAION_630K),
    ("laion-clap-630k-audioset-fusion-best", "630k-audioset-fusion-best.pt", "HTSAT-tiny", True, SOUND,
     training_data.LAION_630K_AUDIOSET),
    ("laion-clap-music-audioset", "music_audioset_epoch_15_esc_90.14.pt", "HTSAT-base", False, MUSIC,
     training_data.laion_music(speech=False, audioset=True, esc_in_name="esc_90.14")),
    ("laion-clap-music-speech", "music_speech_epoch_15_esc_89.25.pt", "HTSAT-base", False, MUSIC,
     training_data.laion_music(speech=True, audioset=False, esc_in_name="esc_89.25")),
    ("laion-clap-music-speech-audioset", "music_speech_audioset_epoch_15_esc_89.98.pt", "HTSAT-base", False, MUSIC,
     training_data.laion_music(speech=True, audioset=True, esc_in_name="esc_89.98")),
)
TEMPLATE_SOURCES = {
    SOUND: "the LAION-CLAP paper's zero-shot prompt, with its period (MODELS.md); LAION's README ESC-50 example "
           "scores 'This is a sound of ' + label, without it",
    MUSIC: "LAION-AI/CLAP README, music checkpoints' zero-shot example",
}
ALIAS = ("laion-clap", "laion-clap-630k-audioset-best")  # the package's default non-fusion checkpoint


def _variant(name: str, filename: str, amodel: str, fusion: bool, template: str,
             data: training_data.TrainingData) -> type[LaionClap]:
    description = (f"LAION-CLAP {filename.removesuffix('.pt')}: {amodel} + RoBERTa, "
                   f"{'aff_2d fusion' if fusion else 'no fusion'}, trained on {' + '.join(data.trained_on)}")
    meta = ModelMeta(
        name=name, sample_rate=SR, embed_dim=512, templates=(template,), description=description,
        clip=ClipPolicy(seconds=10.0, short="repeatpad", long="fusion" if fusion else "random", channels="mean",
                        int16=True, resampler=RESAMPLER),
        reference=f"laion-clap==1.1.7 CLAP_Module(enable_fusion={fusion}, amodel={amodel!r}) + {filename}",
        template_source=TEMPLATE_SOURCES[template], training=data,
    )
    weights = CheckpointSource(url=f"https://huggingface.co/{HUB_REPO}/resolve/main/{filename}", hub_repo=HUB_REPO,
                               hub_filename=filename, how_to_get=f"download {filename} from https://huggingface.co/{HUB_REPO}")
    cls = type(name.title().replace("-", ""), (LaionClap,), {
        "__doc__": description, "__module__": __name__, "meta": meta, "amodel": amodel, "fusion": fusion,
        "weights": weights})
    MODELS.register(name, description, target=cls)
    return cls


VARIANTS: dict[str, type[LaionClap]] = {row[0]: _variant(*row) for row in _CHECKPOINTS}
VARIANTS[ALIAS[0]] = VARIANTS[ALIAS[1]]
MODELS.register(ALIAS[0], f"alias of {ALIAS[1]} (the package's default checkpoint)", target=VARIANTS[ALIAS[1]])
