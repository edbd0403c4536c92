"""Hugging Face ``transformers`` CLAP checkpoints (``ClapModel``: laion/clap-htsat-*, laion/larger_clap_*).

Parity target: what a transformers user gets from ``ClapModel`` with the checkpoint's own
``ClapFeatureExtractor`` and tokenizer, i.e. the ``zero-shot-audio-classification`` pipeline.
So every window goes through the checkpoint's extractor (its own sampling_rate, max_length_s,
frequency_min, truncation and padding: hub configs say frequency_min 50 where the class
default is 0), and none of LAION's own preprocessing is added: the HF port does no int16
round trip, hence ``ClipPolicy(int16=False)``.

Crops, and why they are deterministic:

- ``rand_trunc`` checkpoints (long="random"): the harness cuts each clip to exactly
  max_length_s itself (``--crop seeded`` by default), so the extractor's own random truncation
  never fires. A longer window given directly is cropped by the extractor from its seed.
- ``fusion`` checkpoints (long="fusion"): the harness passes whole clips; the extractor picks
  its three chunks with ``np.random``, which we seed per window from ``seeds`` (and restore
  afterwards); ``seeds=None`` (``--crop random``) leaves it unseeded, as the reference is.
- The extractor runs once per window, as the pipeline does: given a batch in which no clip is
  longer than max_length_s, it marks one at random as "longer" (fusion on), so a batched call
  would make a clip's embedding depend on its batch-mates.

Text mirrors the pipeline: ``hypothesis_template`` "This is a sound of {}." (ours in
``{label}`` form) and ``tokenizer(texts, padding=True)``; the RoBERTa pooler ignores padding
through the attention mask, so an embedding does not depend on the longest text in its batch.

Weights: safetensors when the folder has them; a folder with only ``pytorch_model.bin`` (some laion
repos publish only that) is read by transformers 4.57's ``modeling_utils.load_state_dict``,
which calls ``torch.load(..., weights_only=True)`` (``weights_only=True`` is also passed
explicitly). transformers loads non-strictly, so the missing/unexpected key sets are checked here.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, Sequence

import numpy as np

from zsbench.adapters import training_data
from zsbench.adapters.base import (KeyDifferences, LoadOptions, ModelMeta, check_device, check_options,
                                   fingerprint_of, l2_normalize, numpy_global_seed, state_digest, weights_error)
from zsbench.data.audio import ClipPolicy
from zsbench.data.checkpoints import CheckpointSource, resolve
from zsbench.registry import MODELS

SAMPLE_RATE = 48000
EMBED_DIM = 512
# transformers' ZeroShotAudioClassificationPipeline.preprocess default hypothesis_template
# ("This is a sound of {}."), in our "{label}" form.
TEMPLATE = "This is a sound of {label}."
REFERENCE = "transformers ClapModel + the checkpoint's ClapFeatureExtractor/tokenizer (zero-shot-audio-classification pipeline)"

# ClapFeatureExtractor's padding / truncation names -> the harness's ClipPolicy names.
_SHORT = {"repeatpad": "repeatpad", "repeat": "repeat", "pad": "zeropad"}
_LONG = {"rand_trunc": "random", "fusion": "fusion"}
_WEIGHTS = (("model.safetensors", True), ("model.safetensors.index.json", True),
            ("pytorch_model.bin", False), ("pytorch_model.bin.index.json", False))
# Files whose bytes define the preprocessing and config (hashed into the fingerprint).
_CONFIG_FILES = ("config.json", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json",
                 "vocab.json", "merges.txt", "special_tokens_map.json", "added_tokens.json")
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
FINGERPRINT_VERSION = 1  # bump when this adapter's computation changes
OPTIONS = ("hub_id",)  # the model options it takes
LOAD_HINT = "Pass --checkpoint with a folder written by ClapModel.save_pretrained."
REFUSED_HINT = "Use model.safetensors, or a checkpoint saved with ClapModel.save_pretrained from a source you trust."


def _how_to_get(repo: str) -> str:
    return (f"on a machine with internet run `huggingface-cli download {repo}` (or "
            f"`ClapModel.from_pretrained('{repo}').save_pretrained(FOLDER)` and the same for ClapProcessor) "
            "and pass --checkpoint FOLDER")


def _class_meta(name: str, hub_id: str, long: str, what: str) -> ModelMeta:
    """The registry's view before weights load: the hub config's facts (48 kHz, 10 s, repeatpad;
    rand_trunc or fusion). An instance replaces it with what its checkpoint's config says."""
    return ModelMeta(
        name=name, sample_rate=SAMPLE_RATE,
        clip=ClipPolicy(seconds=10.0, short="repeatpad", long=long, channels="mean", int16=False),
        embed_dim=EMBED_DIM, templates=(TEMPLATE,),
        description=f"{what} via transformers ClapModel (default {hub_id}); 48 kHz, 10 s, "
                    f"{'fusion' if long == 'fusion' else 'rand_trunc'}, no int16 round trip",
        reference=REFERENCE,
        template_source="transformers' zero-shot-audio-classification pipeline default hypothesis_template",
        training=training_data.HF_CLAP,
    )


def _files_digest(folder: Path) -> str:
    h = hashlib.blake2b(digest_size=20)
    for name in _CONFIG_FILES:
        if (folder / name).is_file():
            h.update(name.encode() + b"\0" + (folder / name).read_bytes() + b"\0")
    return h.hexdigest()


def _weights_file(folder: Path) -> tuple[Path, bool]:
    """The weights to load and whether they are safetensors (preferred when both exist)."""
    for name, safe in _WEIGHTS:
        if (folder / name).is_file():
            return folder / name, safe
    raise ValueError(f"{folder}: no ClapModel weights here (expected model.safetensors or pytorch_model.bin). "
                     "Pass --checkpoint with a folder written by ClapModel.save_pretrained, or a Hub id.")


def _check_folder(folder: Path) -> None:
    if not folder.is_dir():
        raise ValueError(f"{folder}: hf-clap needs a folder in save_pretrained layout (config.json, "
                         "model.safetensors or pytorch_model.bin, preprocessor_config.json, tokenizer files), "
                         "not a single file. Pass --checkpoint FOLDER or a Hub id.")
    for name, what in (("config.json", "ClapModel.save_pretrained"), ("preprocessor_config.json", "ClapProcessor.save_pretrained")):
        if not (folder / name).is_file():
            raise ValueError(f"{folder}: {name} is missing; save it with {what}(FOLDER) (the checkpoint's own "
                             "preprocessing is needed for parity) or pass a complete Hub snapshot.")
    try:
        model_type = json.loads((folder / "config.json").read_text()).get("model_type")
    except (OSError, ValueError, AttributeError) as exc:
        raise ValueError(f"{folder / 'config.json'}: not a readable transformers config ({exc})") from None
    if model_type != "clap":
        raise ValueError(f"{folder / 'config.json'}: model_type is {model_type!r}, not 'clap'; "
                         "hf-clap loads ClapModel checkpoints only")
    if not ((folder / "tokenizer.json").is_file() or ((folder / "vocab.json").is_file() and (folder / "merges.txt").is_file())):
        raise ValueError(f"{folder}: no tokenizer files (tokenizer.json, or vocab.json + merges.txt); "
                         "save them with ClapProcessor.save_pretrained(FOLDER).")
    _weights_file(folder)


def _key_differences(info: dict[str, list]) -> KeyDifferences:
    """transformers fills missing weights with random values and drops unexpected ones with only
    a log line; a wrong-architecture checkpoint must fail instead (``KeyDifferences.check``)."""
    def keys(name: str) -> tuple[str, ...]:
        return tuple(sorted(k if isinstance(k, str) else k[0] for k in info.get(name) or ()))

    return KeyDifferences(keys("missing_keys"), keys("unexpected_keys"), keys("mismatched_keys"))


def _policy(extractor: Any, source: Path) -> ClipPolicy:
    short, long = _SHORT.get(extractor.padding), _LONG.get(extractor.truncation)
    if short is None or long is None:
        raise ValueError(f"{source / 'preprocessor_config.json'}: padding {extractor.padding!r} / truncation "
                         f"{extractor.truncation!r} not supported (padding: {', '.join(_SHORT)}; "
                         f"truncation: {', '.join(_LONG)})")
    return ClipPolicy(seconds=extractor.nb_max_samples / extractor.sampling_rate, short=short, long=long,
                      channels="mean", int16=False, resampler="soxr-hq")


@MODELS.register("hf-clap", "transformers ClapModel (default laion/clap-htsat-unfused; pick another with "
                            "--checkpoint HUB_ID|FOLDER or extra hub_id)")
class HFClap:
    """A transformers ``ClapModel`` checkpoint: a Hub id or a ``save_pretrained`` folder."""

    hub_id: ClassVar[str] = "laion/clap-htsat-unfused"
    meta: ModelMeta = _class_meta("hf-clap", "laion/clap-htsat-unfused", "random", "LAION CLAP (HF port)")

    def __init__(self, options: LoadOptions | None = None):
        options = options or LoadOptions()
        check_options(self.meta.name, options.extra, OPTIONS)
        device = check_device(options.device)
        self.folder = self._locate(options)
        _check_folder(self.folder)

        import torch
        from transformers import AutoTokenizer, ClapFeatureExtractor, ClapModel

        weights, safe = _weights_file(self.folder)
        self.weights_file = weights  # the run record carries its sha256 (an index file for sharded weights)
        try:  # the loaders raise a zoo of types (OSError, SafetensorError, UnpicklingError, RuntimeError)
            model, info = ClapModel.from_pretrained(self.folder, use_safetensors=safe, weights_only=True,
                                                    output_loading_info=True)
        except Exception as exc:
            raise weights_error(weights, exc, hint=LOAD_HINT, refused_hint=REFUSED_HINT,
                                kind="a safetensors file" if safe else "a PyTorch checkpoint") from exc
        _key_differences(info).check(weights, "the ClapModel that config.json describes",
                                     "Use the config.json saved with these weights.")
        try:
            self.extractor = ClapFeatureExtractor.from_pretrained(self.folder)
            self.tokenizer = AutoTokenizer.from_pretrained(self.folder)
        except Exception as exc:
            raise ValueError(f"{self.folder}: cannot load the feature extractor or tokenizer "
                             f"({type(exc).__name__}: {exc}); re-save them with ClapProcessor.save_pretrained.") from exc
        if self.extractor.truncation == "fusion" and not model.config.audio_config.enable_fusion:
            raise ValueError(f"{self.folder}: preprocessor_config.json asks for truncation 'fusion' but config.json "
                             "has audio_config.enable_fusion false; the two files are from different checkpoints")
        self.meta = replace(type(self).meta, sample_rate=int(self.extractor.sampling_rate),
                            clip=_policy(self.extractor, self.folder), embed_dim=int(model.config.projection_dim))
        self._digests = (state_digest(model.state_dict()), _files_digest(self.folder))
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()

    def _locate(self, options: LoadOptions) -> Path:
        """--checkpoint (a local folder; a Hub id when no folder has that name), else the hub_id
        option, else this name's default Hub checkpoint."""
        spec, hub_id = options.checkpoint, options.extra.get("hub_id")
        if spec is not None and hub_id is not None:
            raise ValueError(f"{self.meta.name}: give --checkpoint or the hub_id option, not both")
        what = f"{self.meta.name} weights"
        if spec is not None and not spec.startswith("hf://"):
            if "://" in spec or Path(spec).expanduser().exists() or not _HUB_ID.fullmatch(spec):
                return resolve(spec, what=what)
            what += f" (no local folder {spec}; tried it as a Hub id)"
        repo = (spec or hub_id or self.hub_id).removeprefix("hf://").strip("/")
        source = CheckpointSource(hub_repo=repo, how_to_get=_how_to_get(repo))
        return resolve(f"hf://{repo}" if spec or hub_id else None, source, what=what)

    def fingerprint(self) -> str:
        meta = {k: v for k, v in self.meta.to_dict().items() if k not in ("name", "description")}
        return fingerprint_of("hf-clap", FINGERPRINT_VERSION, *self._digests, meta)

    def compile_towers(self, compile_fn) -> list[str]:
        """``--compile`` (zsbench.runtime.compiling): ``ClapAudioModel.forward``, which
        ``get_audio_features`` calls. Fused checkpoints are refused: which clips are longer
        than the window sets tensor shapes inside the encoder, so most batches would recompile."""
        if self.model.config.audio_config.enable_fusion:
            from zsbench.runtime.compiling import CompileUnsupported

            raise CompileUnsupported(f"model {self.meta.name!r}: its fusion audio tower has shapes that depend on "
                                     "how many clips in a batch are longer than the window, so compiling would "
                                     "recompile for most batches; run without --compile")
        tower = self.model.audio_model
        tower.forward = compile_fn(tower.forward)
        return ["audio_model"]

    def embed_audio(self, windows: np.ndarray | list[np.ndarray], seeds: Sequence[int] | None = None) -> np.ndarray:
        import torch

        windows = [np.asarray(w, dtype=np.float32) for w in windows]
        if any(w.ndim != 1 or w.size == 0 for w in windows):
            raise ValueError("embed_audio takes (B, samples) or a list of non-empty 1-D mono arrays")
        if seeds is not None and len(seeds) != len(windows):
            raise ValueError(f"embed_audio: {len(seeds)} seeds for {len(windows)} windows")
        if not windows:
            return np.zeros((0, self.meta.embed_dim), dtype=np.float32)
        features, longer = [], []
        for i, window in enumerate(windows):
            with numpy_global_seed(None if seeds is None else seeds[i]):
                out = self.extractor([window], sampling_rate=self.extractor.sampling_rate, return_tensors="pt")
            features.append(out["input_features"])
            longer.append(out["is_longer"])
        with torch.inference_mode():
            emb = self.model.get_audio_features(input_features=torch.cat(features).to(self.device),
                                                is_longer=torch.cat(longer).to(self.device))
        return l2_normalize(emb.float().cpu().numpy())

    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        texts = list(texts)
        if not texts:
            return np.zeros((0, self.meta.embed_dim), dtype=np.float32)
        tokens = self.tokenizer(texts, padding=True, return_tensors="pt")
        with torch.inference_mode():
            emb = self.model.get_text_features(input_ids=tokens["input_ids"].to(self.device),
                                               attention_mask=tokens["attention_mask"].to(self.device))
        return l2_normalize(emb.float().cpu().numpy())


# Convenience names: the same adapter with another default Hub checkpoint.
_VARIANTS = (
    ("hf-clap-htsat-unfused", "laion/clap-htsat-unfused", "random", "LAION CLAP HTSAT-tiny, unfused"),
    ("hf-clap-htsat-fused", "laion/clap-htsat-fused", "fusion", "LAION CLAP HTSAT-tiny, aff_2d fusion"),
    ("hf-larger-clap-general", "laion/larger_clap_general", "random", "LAION larger CLAP (HTSAT-base), general audio"),
    ("hf-larger-clap-music-and-speech", "laion/larger_clap_music_and_speech", "random",
     "LAION larger CLAP (HTSAT-base), music and speech"),
    ("hf-larger-clap-music", "laion/larger_clap_music", "random", "LAION larger CLAP (HTSAT-base), music"),
)

for _name, _repo, _long, _what in _VARIANTS:
    _meta = _class_meta(_name, _repo, _long, _what)
    _cls = type(f"HFClap_{_name.removeprefix('hf-').replace('-', '_')}", (HFClap,),
                {"hub_id": _repo, "meta": _meta, "__module__": __name__, "__doc__": f"{_what} ({_repo})."})
    globals()[_cls.__name__] = _cls
    MODELS.register(_name, _meta.description, target=_cls)
del _name, _repo, _long, _what, _meta, _cls
