"""ReCLAP and CompA-CLAP: LAION-CLAP with the text tower swapped for the Flan-T5-large encoder.

Neither has a package. Both are the LAION-CLAP fork of Sreyan88/ReCLAP and Sreyan88/CompA with
``--tmodel t5``: ``T5EncoderModel`` (given the attention mask), then a plain mean over all 77
positions, padding included, then a 1024-512-512 MLP. ReCLAP uses HTSAT-base, CompA-CLAP
HTSAT-tiny, both with aff_2d fusion. So the model here is the ``laion-clap`` package's own
``CLAP`` class (HTSAT, fusion, projections, ``get_audio_embedding``) with only the text tower and
its pooling added; audio input and chunking are the LAION fusion adapters' own
(:meth:`zsbench.adapters.laion.LaionClap.embed_audio`).

Weights. The authors save from DDP: ``{"epoch", "name", "state_dict", "optimizer"}`` with every key
prefixed ``module.``. The optimizer state (Adam: step counts and moment tensors, plain numbers in
``param_groups``) is loadable with ``weights_only=True``; anything else that is not tensors and
plain containers is refused, never unpickled. ReCLAP's weights (``base_rewritten.pt``) are on
Google Drive only: download them from the folder linked in https://github.com/Sreyan88/ReCLAP
(https://drive.google.com/drive/folders/1ZUf3HNo8wO2Ec6_cfQ0nc1fUknkHSP9e, e.g. ``gdown --folder
URL``) and pass ``--checkpoint PATH`` (or a direct-download URL). CompA-CLAP's weights are not
published. ``t5-clap`` loads checkpoints of our own recipe in the same format; its architecture
comes from a ``"config"`` dict saved beside ``"state_dict"``, else from the model options.

Tokeniser: google/flan-t5-large's, with the authors' settings (``padding="max_length"``,
``max_length=77``, ``truncation=True``). The authors call the slow ``T5Tokenizer``; we load the
fast one from the repo's ``tokenizer.json`` (sentencepiece is not a dependency). They give the same
ids for plain text; the tokeniser's full description is part of the fingerprint. It comes from the
Hub cache (``hf://google/flan-t5-large``) or from a folder given as the model option ``tokenizer``.

Model options (``LoadOptions.extra``): ``tokenizer`` (folder or ``hf://REPO``), ``t5_config``
(T5Config fields over Flan-T5-large's, e.g. small sizes for tests); for ``t5-clap`` also
``amodel`` (HTSAT-tiny/-base), ``fusion`` (bool) and ``pooling`` ("mean", the authors' unmasked
mean, or "masked", a mean over real tokens only: an explicit choice, recorded in the fingerprint
and in the run's model description). ReCLAP and CompA-CLAP refuse masked pooling: they were
trained with the unmasked mean.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Mapping, Sequence

import numpy as np

from zsbench.adapters import laion, training_data
from zsbench.adapters.base import (LoadOptions, ModelMeta, TrainingData, check_device, check_options,
                                   fingerprint_of, l2_normalize, load_checked, safe_load, state_digest)
from zsbench.data.audio import ClipPolicy
from zsbench.data.checkpoints import CheckpointSource, CheckpointUnavailable, resolve
from zsbench.registry import MODELS

SR = laion.SR
TOKENIZER_REPO = "google/flan-t5-large"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
TOKENIZER = {"padding": "max_length", "max_length": 77, "truncation": True}  # the authors' data.tokenizer("t5")
TOKENIZER_OPTION = "--model-option tokenizer=FOLDER"  # how a user supplies the tokenizer's files
POOLINGS = ("mean", "masked")
JOINT_DIM = 512
# google/flan-t5-large's config.json, encoder fields (the decoder is not used)
FLAN_T5_LARGE: dict[str, Any] = {
    "vocab_size": 32128, "d_model": 1024, "d_kv": 64, "d_ff": 2816, "num_layers": 24, "num_heads": 16,
    "relative_attention_num_buckets": 32, "relative_attention_max_distance": 128, "dropout_rate": 0.1,
    "layer_norm_epsilon": 1e-6, "feed_forward_proj": "gated-gelu", "tie_word_embeddings": False,
    "pad_token_id": 0, "eos_token_id": 1,
}
# Decoder/generation fields a saved config may carry; the encoder ignores them, and transformers 5
# no longer lists them among T5Config's own fields.
_T5_GENERATION_FIELDS = {"decoder_start_token_id"}
DRIVE = "https://drive.google.com/drive/folders/1ZUf3HNo8wO2Ec6_cfQ0nc1fUknkHSP9e"
RESAVE = ("if you trust the file, keep only its weights: python -c \"import torch; c = torch.load('IN', "
          "weights_only=False); torch.save({'state_dict': c['state_dict']}, 'OUT')\"")
# The authors' zero-shot template, for ReCLAP and CompA-CLAP alike, and where it is written
AUTHORS_TEMPLATE = "This is a sound of {label}"
AUTHORS_TEMPLATE_SOURCE = ("Sreyan88/CompA evaluation/zshot.py (the authors' zero-shot script): "
                           "'This is a sound of ' + label, no trailing period")


@dataclass(frozen=True)
class T5ClapConfig:
    """The architecture: what a checkpoint must match, and part of the fingerprint."""

    amodel: str = "HTSAT-base"
    fusion: bool = True
    t5_config: dict[str, Any] = field(default_factory=lambda: dict(FLAN_T5_LARGE))
    pooling: str = "mean"

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], source: str) -> "T5ClapConfig":
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"{source}: unknown T5-CLAP config field(s) {sorted(unknown)}; "
                             f"known: amodel, fusion, t5_config, pooling")
        config = cls(**{**dataclasses.asdict(cls()), **values})
        t5 = {**FLAN_T5_LARGE, **config.t5_config}
        config = dataclasses.replace(config, t5_config=t5)
        config.check(source)
        return config

    def check(self, source: str) -> None:
        import transformers

        if self.amodel not in ("HTSAT-tiny", "HTSAT-base"):
            raise ValueError(f"{source}: amodel {self.amodel!r}: choose HTSAT-tiny or HTSAT-base")
        if not isinstance(self.fusion, bool):
            raise ValueError(f"{source}: fusion must be true or false, got {self.fusion!r}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"{source}: pooling {self.pooling!r}: choose {' or '.join(POOLINGS)}")
        known = set(transformers.T5Config().to_dict()) | _T5_GENERATION_FIELDS
        wrong = sorted(set(self.t5_config) - known)
        if wrong:
            raise ValueError(f"{source}: t5_config field(s) {wrong} are not T5Config fields")


# --- the model ------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _model_class() -> type:
    """``clap_module.CLAP`` with a T5 text tower; defined on first use because it subclasses the
    package's class (``import zsbench.adapters`` must not import laion_clap)."""
    import torch
    import transformers
    from torch import nn

    with torch.device("cpu"):  # the first call may come inside a meta-device context
        laion._import_laion_clap()
    clap_module = importlib.import_module("clap_module")  # the package's model code, loaded by the import above

    def projection(width: int) -> nn.Sequential:  # as CLAP.__init__ builds audio_/text_projection
        return nn.Sequential(nn.Linear(width, JOINT_DIM), nn.ReLU(), nn.Linear(JOINT_DIM, JOINT_DIM))

    class T5Clap(clap_module.CLAP):
        """The fork's ``CLAP`` with ``text_cfg.model_type == "t5"``: same attribute names, so the
        same state-dict names; audio methods, ``forward`` and ``get_*_embedding`` are the package's."""

        def __init__(self, config: T5ClapConfig):
            nn.Module.__init__(self)  # CLAP.__init__ knows no T5 tower; the rest is rebuilt as it does
            model_cfg = clap_module.factory._MODEL_CONFIGS[config.amodel]
            self.audio_cfg = clap_module.CLAPAudioCfp(**model_cfg["audio_cfg"])
            self.enable_fusion, self.fusion_type = config.fusion, laion.FUSION_TYPE if config.fusion else "None"
            self.joint_embed_shape, self.mlp_act, self.text_branch_type = JOINT_DIM, "relu", "t5"
            self.pooling = config.pooling
            target = torch.empty(0).device  # the ambient device (meta in the structure test)
            with torch.device("cpu"):  # torchlibrosa fills its STFT weights from NumPy, which meta refuses
                audio = clap_module.htsat.create_htsat_model(self.audio_cfg, self.enable_fusion, self.fusion_type)
            self.audio_branch = audio.to(target)
            self.text_branch = transformers.T5EncoderModel(transformers.T5Config(**config.t5_config))
            self.text_transform = clap_module.model.MLPLayers(units=[JOINT_DIM] * 3, dropout=0.1)
            self.text_projection = projection(config.t5_config["d_model"])
            self.audio_transform = clap_module.model.MLPLayers(units=[JOINT_DIM] * 3, dropout=0.1)
            self.audio_projection = projection(model_cfg["embed_dim"])
            self.logit_scale_a = nn.Parameter(torch.ones([]) * np.log(1 / 0.07))
            self.logit_scale_t = nn.Parameter(torch.ones([]) * np.log(1 / 0.07))

        def encode_text(self, text, device):
            hidden = self.text_branch(input_ids=text["input_ids"].to(device),
                                      attention_mask=text["attention_mask"].to(device))["last_hidden_state"]
            if self.pooling == "mean":  # the authors': every one of the 77 positions, padding included
                pooled = hidden.mean(dim=1)
            else:
                mask = text["attention_mask"].to(device=device, dtype=hidden.dtype).unsqueeze(-1)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
            return self.text_projection(pooled)

    return T5Clap


def build_model(config: T5ClapConfig):
    """A ``T5Clap`` with the package's random initial weights, on the ambient torch device."""
    model = _model_class()(config)
    laion.cast_fusion_outputs(model)
    return model


def load_tokenizer(spec: str | None):
    """The fast T5 tokenizer from a folder, ``hf://REPO`` or (default) flan-t5-large's Hub files."""
    import transformers

    spec = spec or f"hf://{TOKENIZER_REPO}"
    files = " ".join(TOKENIZER_FILES)
    how = (f"pass {TOKENIZER_OPTION}, a folder with {TOKENIZER_REPO}'s {', '.join(TOKENIZER_FILES[:-1])} and "
           f"{TOKENIZER_FILES[-1]} (`huggingface-cli download {TOKENIZER_REPO} {files} --local-dir FOLDER` where "
           "the Hub is reachable), or have them in the Hugging Face cache (the same command without --local-dir; "
           "HF_HUB_CACHE picks the cache)")
    source = CheckpointSource(how_to_get=how)
    if spec.startswith("hf://"):  # a repo: fetch its tokenizer files only, not gigabytes of weights
        repo = spec.rstrip("/")
        folder = resolve(f"{repo}/{TOKENIZER_FILES[0]}", source, what="T5 tokenizer", option=TOKENIZER_OPTION).parent
        for name in TOKENIZER_FILES[1:]:
            resolve(f"{repo}/{name}", source, what="T5 tokenizer", option=TOKENIZER_OPTION)
    else:
        folder = resolve(spec, source, what="T5 tokenizer", option=TOKENIZER_OPTION)
        if folder.name == "tokenizer.json" and folder.is_file():  # the file itself: its folder is meant
            folder = folder.parent
    if not (folder / "tokenizer.json").is_file():
        raise CheckpointUnavailable(f"T5 tokenizer: {folder} has no tokenizer.json.\nHow to get it: {how}")
    return transformers.T5TokenizerFast.from_pretrained(str(folder))


def _file_config(path: Path, hint: str) -> dict[str, Any] | None:
    """The ``"config"`` dict saved beside ``"state_dict"`` (our recipe), if any.

    Read after :func:`laion.read_state_dict` accepted the file, through the same safe loader,
    memory-mapped so the tensors are not read a second time.
    """
    obj = safe_load(path, hint=hint, mmap=True)
    config = obj.get("config") if isinstance(obj, dict) else None
    if config is not None and not isinstance(config, dict):
        raise ValueError(f"{path}: its 'config' entry is a {type(config).__name__}, expected a dict")
    return config


# --- adapters -------------------------------------------------------------------------------


class T5ClapAdapter(laion.LaionClap):
    """A HTSAT + T5 CLAP checkpoint in the authors' format.

    Subclasses :class:`laion.LaionClap` for its ``embed_audio`` only (the package's fusion chunking
    from per-clip seeds, ``get_audio_embedding``): ``self.clap`` offers the ``model`` and
    ``model_cfg`` it reads. Loading, text and fingerprint are this class's.
    """

    config: T5ClapConfig  # the architecture (for t5-clap: the default one)
    fusion = True
    options_allowed: frozenset[str] = frozenset({"tokenizer", "t5_config", "pooling"})

    def __init__(self, options: LoadOptions | None = None):
        options = options or LoadOptions()
        self.device = check_device(options.device)
        extra = dict(options.extra)
        check_options(self.meta.name, extra, self.options_allowed)
        self._check_options(extra, options.crop)  # before fetching gigabytes
        path = self._tokenizer_and_weights(extra.pop("tokenizer", None), options.checkpoint)
        self.weights_file = path  # the run record carries its sha256
        state = laion.read_state_dict(path, what=f"a {self.meta.name} checkpoint",
                                      hint=f"How to get it: {self.weights.how_to_get}", refused_hint=f"{RESAVE}.")
        self.config = self._config(extra, path)
        self.fusion = self.config.fusion
        self._check_crop(options.crop, self.fusion)
        vocab = self.config.t5_config["vocab_size"]
        if len(self.tokenizer) > vocab:
            raise ValueError(f"{self.meta.name}: the tokenizer has {len(self.tokenizer)} tokens but the T5 "
                             f"vocabulary only {vocab}: tokenizer and model do not match")
        model = build_model(self.config)
        t5 = self.config.t5_config
        what = (f"{self.meta.name} ({self.config.amodel}, fusion {'on' if self.fusion else 'off'}, "
                f"T5 d_model {t5['d_model']} x {t5['num_layers']} layers)")
        load_checked(model, state, path, what=what, ignorable=laion.IGNORABLE,
                     hint="The checkpoint is for another architecture: check amodel, fusion and "
                          f"t5_config ({', '.join(VARIANTS)}).")
        del state
        model_cfg = {"audio_cfg": dataclasses.asdict(model.audio_cfg)}
        self.clap = SimpleNamespace(model=model.to(self.device).eval(), model_cfg=model_cfg)
        self.meta = self._meta()
        self._fingerprint: str | None = None

    def _tokenizer_and_weights(self, tokenizer: str | None, checkpoint: str | None) -> Path:
        """Load the tokenizer and find the weights; what is missing of the two is named in one
        error, each with its own fix. With the tokenizer missing, weights that would have to be
        downloaded are not fetched (a download of gigabytes, then an error): they are fetched on
        the run that has the tokenizer."""
        missing: list[CheckpointUnavailable] = []
        try:
            self.tokenizer = load_tokenizer(tokenizer)
        except CheckpointUnavailable as exc:
            missing.append(exc)
        path = None
        if not missing or not self._weights_need_download(checkpoint):
            try:
                path = resolve(checkpoint, self.weights, what=f"{self.meta.name} weights")
            except CheckpointUnavailable as exc:
                missing.append(exc)
        if len(missing) == 1:
            raise missing[0]
        if missing:
            parts = [f"{i}. " + str(exc).replace("\n", "\n   ") for i, exc in enumerate(missing, 1)]
            raise CheckpointUnavailable(f"{self.meta.name}: {len(missing)} things are missing; supply each and run "
                                        "again:\n" + "\n".join(parts))
        assert path is not None
        return path

    def _weights_need_download(self, checkpoint: str | None) -> bool:
        """Whether finding the weights may start a download (not: a local path, or the Hub offline)."""
        from huggingface_hub import constants

        offline = constants.HF_HUB_OFFLINE or os.environ.get("HF_HUB_OFFLINE", "").upper() in {"1", "ON", "YES", "TRUE"}
        if checkpoint is None:
            return bool(self.weights.url) or (bool(self.weights.hub_repo) and not offline)
        scheme = checkpoint.split("://", 1)[0].lower() if "://" in checkpoint else ""
        return scheme in ("http", "https") or (scheme == "hf" and not offline)

    def _check_crop(self, crop: str, fusion: bool) -> None:
        if fusion and crop not in ("seeded", "random"):
            raise ValueError(f"--crop {crop}: {self.meta.name} is a fusion model that picks its own chunks (a "
                             "downsampled whole-clip mel plus 3 random 10 s chunks); use --crop seeded (the same "
                             "chunks for a clip in every run) or --crop random (the authors' behaviour)")

    def _check_options(self, extra: dict[str, Any], crop: str) -> None:
        if extra.get("pooling", "mean") != "mean":
            raise ValueError(f"{self.meta.name}: pooling {extra['pooling']!r} refused: the authors trained it "
                             "with the unmasked mean over all 77 positions; masked pooling is offered for "
                             "t5-clap models (our own recipe) only")
        self._check_crop(crop, self.config.fusion)

    def _config(self, extra: dict[str, Any], path: Path) -> T5ClapConfig:
        """The class's architecture; options may change the T5 sizes (tests), nothing else."""
        t5 = {**self.config.t5_config, **extra.get("t5_config", {})}
        return T5ClapConfig.from_dict({**dataclasses.asdict(self.config), "t5_config": t5},
                                      f"{self.meta.name} options")

    def _meta(self) -> ModelMeta:
        return self.meta

    def fingerprint(self) -> str:
        if self._fingerprint is None:
            from importlib.metadata import version

            backend = json.loads(self.tokenizer.backend_tokenizer.to_str())
            for setting in ("truncation", "padding"):  # set by each call, so not part of what the tokenizer is
                backend.pop(setting, None)
            setup = {"config": dataclasses.asdict(self.config),
                     "fusion_type": laion.FUSION_TYPE if self.fusion else None,
                     "tokenizer": {**TOKENIZER, "class": type(self.tokenizer).__name__},
                     "laion_clap": version("laion_clap"), "transformers": version("transformers")}
            tokenizer = hashlib.sha256(json.dumps(backend, sort_keys=True).encode()).hexdigest()
            self._fingerprint = fingerprint_of("t5-clap", setup, self.meta.to_dict(),
                                               state_digest(self.clap.model.state_dict()), tokenizer)
        return self._fingerprint

    def tokenize(self, texts: Sequence[str]) -> dict[str, Any]:
        return dict(self.tokenizer(list(texts), return_tensors="pt", **TOKENIZER))

    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            emb = self.clap.model.get_text_embedding(self.tokenize(texts))
        return l2_normalize(emb.float().cpu().numpy())


def _meta(name: str, template: str, description: str, reference: str, fusion: bool = True,
          template_source: str = "", training: TrainingData = training_data.OWN_RECIPE) -> ModelMeta:
    return ModelMeta(
        name=name, sample_rate=SR, embed_dim=JOINT_DIM, templates=(template,), description=description,
        clip=ClipPolicy(seconds=10.0, short="repeatpad", long="fusion" if fusion else "random", channels="mean",
                        int16=True, resampler=laion.RESAMPLER),
        reference=reference, template_source=template_source, training=training,
    )


@MODELS.register("reclap", "ReCLAP (base_rewritten.pt): HTSAT-base aff_2d fusion + Flan-T5-large encoder, "
                           "unmasked mean over 77 tokens")
class ReClap(T5ClapAdapter):
    meta = _meta("reclap", AUTHORS_TEMPLATE,
                 "ReCLAP: HTSAT-base with aff_2d fusion + Flan-T5-large encoder (unmasked mean over 77 "
                 "positions, MLP 1024-512-512), trained on captions rewritten to describe sounds",
                 "Sreyan88/ReCLAP (LAION-CLAP fork, --amodel HTSAT-base --tmodel t5) + base_rewritten.pt",
                 template_source=AUTHORS_TEMPLATE_SOURCE, training=training_data.RECLAP)
    config = T5ClapConfig(amodel="HTSAT-base")
    weights = CheckpointSource(how_to_get=f"ReCLAP's weights (base_rewritten.pt) are on Google Drive only: "
                                          f"download them from {DRIVE} (e.g. `gdown --folder {DRIVE}`) and pass "
                                          "--checkpoint PATH")


@MODELS.register("compa-clap", "CompA-CLAP: HTSAT-tiny aff_2d fusion + Flan-T5-large encoder (weights not published)")
class CompaClap(T5ClapAdapter):
    meta = _meta("compa-clap", AUTHORS_TEMPLATE,
                 "CompA-CLAP: HTSAT-tiny with aff_2d fusion + Flan-T5-large encoder (unmasked mean over 77 "
                 "positions, MLP 1024-512-512)",
                 "Sreyan88/CompA (LAION-CLAP fork, --amodel HTSAT-tiny --tmodel t5)",
                 template_source=AUTHORS_TEMPLATE_SOURCE, training=training_data.COMPA)
    config = T5ClapConfig(amodel="HTSAT-tiny")
    weights = CheckpointSource(how_to_get="CompA-CLAP's weights are not published "
                                          "(https://github.com/Sreyan88/CompA); pass --checkpoint with a file "
                                          "in the authors' format")


@MODELS.register("t5-clap", "HTSAT + T5-encoder CLAP trained by our recipe (config from the checkpoint or "
                            "model options; masked pooling available)")
class T5ClapRecipe(T5ClapAdapter):
    meta = _meta("t5-clap", "This is a sound of {label}.",
                 "HTSAT + T5-encoder CLAP in the ReCLAP layout, trained by the zsbench recipe",
                 "zsbench recipe (ReCLAP layout: laion-clap CLAP + transformers T5EncoderModel)",
                 template_source="zsbench's own choice for models of our recipe (zsbench.training), as the demo "
                                 "model's: not an authors' template (ReCLAP and CompA-CLAP use theirs, "
                                 "'This is a sound of ' + label, without the trailing period)")
    config = T5ClapConfig()
    options_allowed = frozenset({"tokenizer", "t5_config", "pooling", "amodel", "fusion"})
    weights = CheckpointSource(how_to_get="pass --checkpoint with a checkpoint trained by the zsbench recipe "
                                          "({'config': ..., 'state_dict': ...})")

    def _check_options(self, extra: dict[str, Any], crop: str) -> None:
        pass  # any pooling; T5ClapConfig checks the values, and the crop once fusion is known

    def _config(self, extra: dict[str, Any], path: Path) -> T5ClapConfig:
        """The config saved in the file when there is one (options may only repeat it or add to
        it), else the options."""
        saved = _file_config(path, f"How to get it: {self.weights.how_to_get}")
        if saved is None:
            return T5ClapConfig.from_dict(extra, f"{self.meta.name} options")
        saved_t5, extra_t5 = saved.get("t5_config", {}), extra.get("t5_config", {})
        clash = [k for k in extra if k != "t5_config" and k in saved and extra[k] != saved[k]]
        clash += [f"t5_config.{k}" for k in extra_t5 if k in saved_t5 and extra_t5[k] != saved_t5[k]]
        if clash:
            raise ValueError(f"{self.meta.name}: model option(s) {', '.join(clash)} contradict the config saved "
                             f"in {path} ({saved}); drop them")
        return T5ClapConfig.from_dict({**extra, **saved, "t5_config": {**extra_t5, **saved_t5}}, f"{path} 'config'")

    def _meta(self) -> ModelMeta:
        base = _meta(self.meta.name, self.meta.templates[0], self.meta.description, self.meta.reference, self.fusion,
                     template_source=self.meta.template_source, training=self.meta.training)
        pooling = ("unmasked mean over 77 positions (as ReCLAP)" if self.config.pooling == "mean"
                   else "MASKED mean over real tokens (not ReCLAP's pooling)")
        return dataclasses.replace(base, description=f"{base.description}; {self.config.amodel}, fusion "
                                                     f"{'aff_2d' if self.fusion else 'off'}, pooling: {pooling}")


VARIANTS: dict[str, type[T5ClapAdapter]] = {"reclap": ReClap, "compa-clap": CompaClap, "t5-clap": T5ClapRecipe}
