"""MS-CLAP 2022 and 2023 (microsoft/CLAP, the ``msclap`` package) behind the zsbench protocol.

The package's own code builds the model, tokenises text and runs both encoders, so its numbers
are ours. We replace only what it cannot do safely or offline:

- decoding: the harness reads files with soundfile and applies MS-CLAP's rules (per-channel
  ``T.Resample`` defaults, channels concatenated, short clips tiled then cut, long clips cropped
  at random or by ``--crop``), because its ``torchaudio.load`` needs FFmpeg;
- weights: ``torch.load(weights_only=True)`` and a checked key set, where the package loads any
  pickle with ``strict=False`` and so would run a wrong-architecture checkpoint silently;
- the text model: built from its cached config instead of ``from_pretrained`` (a Hub download),
  since the checkpoint overwrites every one of its weights (the key check proves it).
"""

from __future__ import annotations

import hashlib
import warnings
from contextlib import contextmanager
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from zsbench.adapters import training_data
from zsbench.adapters.base import (LoadOptions, ModelMeta, check_device, check_options, fingerprint_of,
                                   l2_normalize, nonpersistent_buffers, read_weights, state_digest)
from zsbench.adapters.base import load_checked as base_load_checked
from zsbench.data.audio import ClipPolicy
from zsbench.data.checkpoints import CheckpointSource, resolve
from zsbench.registry import MODELS

SAMPLE_RATE = 44100
EMBED_DIM = 1024
REFERENCE = "msclap==1.3.4 (microsoft/CLAP), CLAPWrapper"
WEIGHT_FILES = ("CLAP_weights_2022.pth", "CLAP_weights_2023.pth")  # huggingface.co/microsoft/msclap


def _policy(seconds: float) -> ClipPolicy:
    """MS-CLAP's load_audio_into_tensor: tile-then-cut short clips, random crop of long ones,
    each channel resampled with torchaudio's Resample defaults and then concatenated."""
    return ClipPolicy(seconds, short="repeat", long="random", channels="concat", resampler="torchaudio-sinc",
                      crop_to_end=False)


def _meta(version: str, seconds: float, template: str, towers: str) -> ModelMeta:
    return ModelMeta(
        name=f"msclap-{version}", sample_rate=SAMPLE_RATE, clip=_policy(seconds), embed_dim=EMBED_DIM,
        templates=(template,),  # a prefix: the label is appended, as in the paper
        description=f"Microsoft CLAP {version} ({towers}); {SAMPLE_RATE / 1000:g} kHz, {seconds:g} s window",
        reference=f"{REFERENCE}(version='{version}')",
        template_source=f"microsoft/CLAP README zero-shot example for {version} (MODELS.md): the prefix, then the label",
        training=training_data.MSCLAP_2022 if version == "2022" else training_data.MSCLAP_2023,
    )


def _weights(version: str) -> CheckpointSource:
    return CheckpointSource(hub_repo="microsoft/msclap", hub_filename=f"CLAP_weights_{version}.pth",
                            how_to_get=f"download CLAP_weights_{version}.pth from huggingface.co/microsoft/msclap")


class _MSCLAP:
    """One MS-CLAP version: ``version`` picks the package's config (towers, window, text length)."""

    version: str
    meta: ModelMeta
    weights: CheckpointSource

    def __init__(self, options: LoadOptions | None = None):
        options = options or LoadOptions()
        self.device = check_device(options.device)
        check_options(self.meta.name, options.extra)
        path = resolve(options.checkpoint, self.weights, what=f"{self.meta.name} weights")
        self.weights_file = path  # the run record carries its sha256
        state = read_state_dict(path)
        self.wrapper = build_wrapper(self.version, path)
        load_checked(self.wrapper.clap, state, path, what=self.meta.name)
        del state
        self.wrapper.clap.to(self.device)
        self._fingerprint: str | None = None

    def fingerprint(self) -> str:
        if self._fingerprint is None:
            tokenizer = self.wrapper.tokenizer
            vocab = hashlib.sha256(repr(sorted(tokenizer.get_vocab().items())).encode()).hexdigest()
            self._fingerprint = fingerprint_of(
                "msclap", package_version("msclap"), self.version, self.wrapper.config_as_str, self.meta.to_dict(),
                type(tokenizer).__name__, vocab, state_digest(self.wrapper.clap.state_dict()))
        return self._fingerprint

    def compile_towers(self, compile_fn) -> list[str]:
        """``--compile`` (zsbench.runtime.compiling): the package's ``AudioEncoder.forward`` (CNN14 or
        HTSAT, then the projection), which ``_get_audio_embeddings`` calls."""
        encoder = self.wrapper.clap.audio_encoder
        encoder.forward = compile_fn(encoder.forward)
        return ["audio_encoder"]

    def embed_audio(self, windows: np.ndarray, seeds: Sequence[int] | None = None) -> np.ndarray:
        """Windows arrive cut and tiled by the harness; ``seeds`` are unused (no crop inside)."""
        import torch

        x = torch.from_numpy(np.ascontiguousarray(windows, dtype=np.float32))
        with torch.inference_mode():
            # _get_audio_embeddings takes preprocess_audio's (B, 1, samples) layout
            emb = self.wrapper._get_audio_embeddings(x[:, None, :].to(self.device))
        return l2_normalize(emb.float().cpu().numpy())

    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        texts = list(texts)
        out = np.zeros((len(texts), self.meta.embed_dim), dtype=np.float32)
        # The package pads each text to text_len but never truncates, so a longer text keeps its
        # length and its own batch collation cannot stack it. Tokenise each text its way, then run
        # texts of equal length together: every embedding is the reference's for that text.
        tokens = [self.wrapper.preprocess_text([t]) for t in texts]
        groups: dict[int, list[int]] = {}
        for i, tok in enumerate(tokens):
            groups.setdefault(tok["input_ids"].shape[-1], []).append(i)
        with torch.inference_mode():
            for rows in groups.values():
                batch = {k: torch.cat([tokens[i][k] for i in rows]).to(self.device) for k in tokens[rows[0]]}
                out[rows] = self.wrapper._get_text_embeddings(batch).float().cpu().numpy()
        return l2_normalize(out)


@MODELS.register("msclap-2022", "Microsoft CLAP 2022: CNN14 + BERT-base (CLS), 44.1 kHz, 5 s")
class MSCLAP2022(_MSCLAP):
    version = "2022"
    meta = _meta("2022", 5.0, "this is a sound of ", "CNN14 audio, bert-base-uncased CLS-token text, text_len 100")
    weights = _weights("2022")


@MODELS.register("msclap-2023", "Microsoft CLAP 2023: HTSAT-tiny + GPT-2 (last token), 44.1 kHz, 7 s")
class MSCLAP2023(_MSCLAP):
    version = "2023"
    meta = _meta("2023", 7.0, "this is the sound of ",
                 "HTSAT-tiny audio, gpt2 text pooled at the appended <|endoftext|>, text_len 77")
    weights = _weights("2023")


HINT = f"Pass --checkpoint with an MS-CLAP weights file ({', '.join(WEIGHT_FILES)})."
REFUSED_HINT = "Re-save it as {'model': state_dict} with torch.save where you trust it."


def read_state_dict(path: Path) -> dict[str, Any]:
    """The ``"model"`` state dict of an MS-CLAP checkpoint, loaded without running any pickle code
    (:func:`zsbench.adapters.base.read_weights`)."""
    return read_weights(path, what="an MS-CLAP checkpoint", hint=HINT, refused_hint=REFUSED_HINT, entries=("model",),
                        layout="a dict whose 'model' entry is a state dict of tensors, what msclap's load_clap reads")


def load_checked(model: Any, state: dict[str, Any], path: Path, what: str = "this MS-CLAP model") -> None:
    """Load ``state`` into ``model`` only if it holds exactly the model's weights
    (:func:`zsbench.adapters.base.load_checked`).

    msclap loads with ``strict=False``. The one difference it rightly ignores: non-persistent
    buffers (BERT's ``position_ids``/``token_type_ids``, GPT-2's ``attn.bias``/``masked_bias``)
    are constants the model rebuilds; transformers releases before they became non-persistent
    saved them, so the published checkpoints may carry them. Any other extra or absent key is a
    different architecture, which ``strict=False`` would run with random weights.
    """
    base_load_checked(model, state, path, what=what, ignorable=nonpersistent_buffers(model),
                      hint="The checkpoint is for another MS-CLAP version or another architecture: msclap-2022 "
                           "loads CLAP_weights_2022.pth, msclap-2023 CLAP_weights_2023.pth.")


def build_wrapper(version: str, path: Path) -> Any:
    """The package's own CLAPWrapper(version, use_cuda=False), built offline without reading
    ``path``: ``load_clap`` builds the model, tokeniser and pad token; we load the weights after.

    ``use_cuda`` stays False so the package's preprocessing keeps tensors on the CPU; the adapter
    moves model and inputs to its device itself (any device, not just the default CUDA one).
    """
    from unittest import mock

    msclap_wrapper, _ = _import_msclap()
    with offline_text_model(), mock.patch.object(msclap_wrapper, "torch", _TorchWithoutLoad()):
        return msclap_wrapper.CLAPWrapper(model_fp=str(path), version=version, use_cuda=False)


def _import_msclap() -> tuple[Any, Any]:
    """Import msclap without its import-time side effect on the process: it sets
    ``warnings.filterwarnings("ignore")`` globally (catch_warnings restores the filters)."""
    with warnings.catch_warnings():
        import msclap.CLAPWrapper as msclap_wrapper
        import msclap.models.clap as clap_module
    return msclap_wrapper, clap_module


@contextmanager
def offline_text_model() -> Iterator[None]:
    """msclap's TextEncoder calls ``AutoModel.from_pretrained(name)``: build the same class from
    the cached config instead, for as long as the context lasts."""
    from unittest import mock

    from transformers import AutoConfig, AutoModel

    class _FromConfig:
        @staticmethod
        def from_pretrained(name: str, *args: Any, **kwargs: Any) -> Any:
            return AutoModel.from_config(AutoConfig.from_pretrained(name))

    _, clap_module = _import_msclap()
    with mock.patch.object(clap_module, "AutoModel", _FromConfig):
        yield


class _TorchWithoutLoad:
    """``torch`` as msclap's CLAPWrapper module sees it during construction, except that ``load``
    returns an empty state dict: the file is read by ``read_state_dict`` (weights only), never by
    the package's unchecked ``torch.load``."""

    def __getattr__(self, name: str) -> Any:
        import torch

        return getattr(torch, name)

    @staticmethod
    def load(*args: Any, **kwargs: Any) -> dict[str, dict]:
        return {"model": {}}
