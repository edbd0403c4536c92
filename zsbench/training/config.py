"""Training configurations: the paper's ``reclap-base``, LAION-CLAP's layout ``laion-base`` and
the CPU-sized ``tiny-cpu``.

A config is a flat dataclass so that every value is recorded in the log and inside every
checkpoint, and any field can be overridden from the command line (``--set lr=1e-3``).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Mapping

ARCHITECTURES = ("tiny", "t5-clap", "laion-clap")


@dataclass(frozen=True)
class TrainConfig:
    """Everything one training run depends on."""

    name: str
    architecture: str                  # "tiny" (CNN + MiniLM), "t5-clap" (HTSAT + T5, the ReCLAP layout) or
                                       # "laion-clap" (HTSAT + RoBERTa, LAION-CLAP's own layout)
    # data
    train_csv: str = ""                # path, caption, [dataset,] rewritten_captions (JSON list); or
    shards: str = ""                   # WebDataset shards: a glob of .tar files (key.flac + key.json)
    synthworld_corpus: dict[str, Any] | None = None  # {"n_per_class", "seed"}: render the seen-class corpus
    keep_original_p: float = 0.4       # per sample: original caption with this probability, else a rewrite
    n_rewrites: int = 4                # K: rewrites used per caption (the first K of the list)
    # model
    model: dict[str, Any] = field(default_factory=dict)  # architecture-specific (see model.py)
    # optimisation
    optimizer: str = "adam"            # adam | adamw
    lr: float = 5e-4
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    warmup_steps: int = 3200
    max_steps: int = 10_000
    batch_size: int = 256              # global, over all ranks and accumulation steps
    grad_accum: int = 1
    amp: str = "bf16"                  # bf16 | fp16 | none (only on CUDA; CPU trains in float32)
    sync_bn: bool = True
    seed: int = 3407
    # bookkeeping
    checkpoint_every: int = 1000
    eval_every: int = 0                # 0: only at the end
    eval: tuple[dict[str, Any], ...] = ()  # zsbench.evaluate() keyword sets, e.g. {"task": ..., "prompts": ...}
    log_every: int = 10
    loggers: tuple[str, ...] = ("console", "csv")  # also: tensorboard, wandb
    num_workers: int = 4

    def __post_init__(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"config {self.name}: architecture {self.architecture!r}: choose {ARCHITECTURES}")
        if not 0.0 <= self.keep_original_p <= 1.0:
            raise ValueError(f"config {self.name}: keep_original_p must lie in [0, 1], got {self.keep_original_p}")
        if self.n_rewrites < 0 or self.batch_size < 1 or self.grad_accum < 1 or self.max_steps < 1:
            raise ValueError(f"config {self.name}: n_rewrites >= 0, batch_size, grad_accum and max_steps >= 1")
        if self.amp not in ("bf16", "fp16", "none"):
            raise ValueError(f"config {self.name}: amp {self.amp!r}: choose bf16, fp16 or none")
        if self.optimizer not in ("adam", "adamw"):
            raise ValueError(f"config {self.name}: optimizer {self.optimizer!r}: choose adam or adamw")

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def replace(self, **changes: Any) -> "TrainConfig":
        return dataclasses.replace(self, **changes)

    def with_overrides(self, assignments: list[str]) -> "TrainConfig":
        """``key=value`` strings, values parsed as JSON when they parse (numbers, lists, dicts),
        else taken as strings; ``model.key=value`` sets one model field."""
        changes: dict[str, Any] = {}
        model = dict(self.model)
        fields = {f.name for f in dataclasses.fields(self)}
        for item in assignments:
            key, sep, raw = item.partition("=")
            if not sep:
                raise ValueError(f"--set {item!r}: expected KEY=VALUE")
            try:
                value = json.loads(raw)
            except json.JSONDecodeError:
                value = raw
            if key.startswith("model."):
                model[key[6:]] = value
            elif key in fields:
                changes[key] = tuple(value) if isinstance(value, list) else value
            else:
                raise ValueError(f"--set {key}: not a config field; fields: {', '.join(sorted(fields))}")
        return self.replace(**changes, model=model)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "TrainConfig":
        fields = {f.name for f in dataclasses.fields(cls)}
        kept = {k: (tuple(v) if isinstance(v, list) and k in ("betas", "eval", "loggers") else v)
                for k, v in values.items() if k in fields}
        return cls(**kept)


# The paper's configuration (MODELS.md "ReCLAP training recipe"): 8 GPUs x 64, lr 5e-4, weight
# decay 0, 3200 warm-up steps then cosine, Adam (0.9, 0.999, 1e-8), seed 3407, sync-BN, T5 not
# frozen, HTSAT-base with aff_2d fusion, p = 0.4, K = 4. 30 epochs of its corpus is the length to
# set with --max-steps for a real run.
RECLAP_BASE = TrainConfig(
    name="reclap-base", architecture="t5-clap",
    # audio_init: a pretrained HTSAT-base checkpoint (LAION-CLAP .pt), as the paper starts from one
    model={"amodel": "HTSAT-base", "fusion": True, "pooling": "mean", "tokenizer": None, "audio_init": None},
    keep_original_p=0.4, n_rewrites=4, optimizer="adam", lr=5e-4, weight_decay=0.0, warmup_steps=3200,
    max_steps=100_000, batch_size=256, amp="bf16", sync_bn=True, seed=3407, checkpoint_every=2000,
    eval_every=5000, eval=({"task": "clotho", "prompts": "template"},), num_workers=8,
)

# Small enough to train in a few minutes on one or two CPU cores: log-mels and the frozen MiniLM
# caption embeddings are computed once and cached, then only a ~100k-parameter CNN and two
# projections train. Seen classes of the sound world only (zsbench.synthworld.HELD_OUT never).
HELD_OUT_EVALS = tuple(
    {"task": "synthworld", "prompts": prompts, "seed": 0, **({"n": 2} if prompts == "augmented" else {}),
     "task_options": {"classes": classes, "n_per_class": 40}}
    for classes in ("held-out", "all") for prompts in ("template", "description", "augmented"))
TINY_CPU = TrainConfig(
    name="tiny-cpu", architecture="tiny",
    synthworld_corpus={"n_per_class": 120, "seed": 1},
    model={"n_mels": 32, "channels": [12, 24, 48, 96], "embed_dim": 128, "text_hidden": 256, "dropout": 0.1},
    keep_original_p=0.4, n_rewrites=4, optimizer="adamw", lr=2e-3, weight_decay=1e-4, warmup_steps=24,
    max_steps=240, batch_size=128, amp="none", sync_bn=False, seed=0, checkpoint_every=60,
    eval_every=0, eval=HELD_OUT_EVALS, log_every=20, num_workers=0,
)

# LAION-CLAP's own layout (HTSAT-base + aff_2d fusion + RoBERTa) under the paper's recipe, with
# LAION's learning rate (1e-4); its exports load in the laion-clap-* adapters with --checkpoint.
LAION_BASE = RECLAP_BASE.replace(
    name="laion-base", architecture="laion-clap", model={"amodel": "HTSAT-base", "fusion": True, "audio_init": None},
    lr=1e-4, batch_size=256,
)

CONFIGS: dict[str, TrainConfig] = {c.name: c for c in (RECLAP_BASE, TINY_CPU, LAION_BASE)}


def get_config(name: str) -> TrainConfig:
    if name not in CONFIGS:
        raise ValueError(f"unknown training config {name!r}; known: {', '.join(sorted(CONFIGS))}")
    return CONFIGS[name]
