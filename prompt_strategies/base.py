"""Prompt strategies turn label names into prompts; pooling turns prompt embeddings into scores.

A strategy's ``params()`` and ``bank_hash()`` go into the run record, so two runs that used
different prompts never share a leaderboard cell.

A strategy declares, as class attributes, what it takes (``StrategySpec`` reads them):

- ``parameters``: its own parameters and their types, e.g. ``{"bank": str, "n": int}``; each is
  reachable as ``--prompt-option KEY=VALUE`` (``--n``, ``--template``, ``--bank`` and
  ``--prompt-file`` are shortcuts for ``n``, ``templates``, ``bank`` and ``path``);
- ``inputs``: what it takes from the run, of ``model_meta``, ``task_id`` and ``seed``;
- ``augmenting``: whether it is prompt augmentation (Table II's lower half).

Pooling is the runner's (``class_scores``), not the strategy's.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import typing
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

import numpy as np

Pooling = Literal["embedding-mean", "score-mean"]
POOLINGS: tuple[str, ...] = ("embedding-mean", "score-mean")


class NoPromptsError(ValueError):
    pass


@runtime_checkable
class PromptStrategy(Protocol):
    name: str
    parameters: ClassVar[dict[str, Any]]  # its own parameters and their types
    inputs: ClassVar[tuple[str, ...]]  # what it takes from the run (RUN_INPUTS)
    augmenting: ClassVar[bool]  # prompt augmentation, in the paper's sense (Table II's lower half)

    def prompts(self, labels: list[str]) -> dict[str, list[str]]: ...

    def params(self) -> dict[str, Any]: ...


# What a strategy may take from the run instead of from its options, and the flag that sets each.
# ``pooling`` only for plug-ins written when strategies pooled (the runner pools now).
RUN_INPUTS = {"model_meta": "--model", "task_id": "--task", "seed": "--seed", "pooling": "--pooling"}


@dataclass(frozen=True)
class StrategySpec:
    """What a registered strategy takes, read off its declaration."""

    name: str
    parameters: dict[str, Any]  # parameter -> type (int, float, bool, str, list[str]; Any: as given)
    inputs: tuple[str, ...] = ()
    augmenting: bool = False
    declared: bool = True  # False: a plug-in without a declaration, read from its signature

    def describe(self, flags: dict[str, str] | None = None) -> str:
        """``it takes: n (int, or --n), bank (str, or --bank)``."""
        flags = flags or {}
        items = [f"{k} ({type_name(t)}{f', or {flags[k]}' if k in flags else ''})" for k, t in self.parameters.items()]
        return f"it takes: {', '.join(items) or 'no options'}"

    def coerce(self, key: str, value: Any, where: str) -> Any:
        """``value`` as the parameter's declared type; a ValueError naming ``where`` if it is not one."""
        return coerce(value, self.parameters[key], f"prompt strategy {self.name!r}: {where}")


def type_name(hint: Any) -> str:
    if typing.get_origin(hint) is list:
        (inner,) = typing.get_args(hint) or (Any,)
        return f"list of {type_name(inner)}"
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def coerce(value: Any, hint: Any, where: str) -> Any:
    """A parameter value as its declared type: text from the command line becomes a number or a
    one-item list; a value that cannot be one is refused (never ``eval``)."""
    if hint is Any:
        return value
    if typing.get_origin(hint) is list:
        (inner,) = typing.get_args(hint) or (Any,)
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        return [coerce(v, inner, where) for v in items]
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif hint is str:
        return value if isinstance(value, str) else str(value)
    else:
        return value
    raise ValueError(f"{where}: {value!r} is not {'an' if hint is int else 'a'} {type_name(hint)}")


def strategy_spec(name: str, factory: Any) -> StrategySpec:
    """The declaration of the strategy registered as ``name``. A plug-in that declares no
    ``parameters`` is read from its signature as before declarations existed: it gets the model
    meta and pooling always, task id and seed when it names them, and any other keyword as given."""
    augmenting = bool(getattr(factory, "augmenting", False))
    declared = getattr(factory, "parameters", None)
    if declared is not None:
        return StrategySpec(name, dict(declared), tuple(getattr(factory, "inputs", ("model_meta",))), augmenting)
    params = inspect.signature(factory).parameters
    inputs = ("model_meta", "pooling") + tuple(k for k in ("task_id", "seed") if k in params)
    own = {k: Any for k, p in params.items() if k not in RUN_INPUTS
           and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)}
    return StrategySpec(name, own, inputs, augmenting, declared=False)


def augments(strategy: str) -> bool:
    """Whether the strategy named in a run record is prompt augmentation (its own ``augmenting``);
    False for a name no installed plug-in registers, such as ``captions`` (retrieval)."""
    from zsbench.registry import PROMPTS

    return strategy in PROMPTS and bool(getattr(PROMPTS.get(strategy), "augmenting", False))


def bank_hash(prompts: dict[str, list[str]]) -> str:
    """Hash of exactly the prompts used, per label, in order."""
    return hashlib.sha256(json.dumps(prompts, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def check_prompts(prompts: dict[str, list[str]], labels: list[str], source: str) -> None:
    empty = [lab for lab in labels if not [p for p in prompts.get(lab, []) if p.strip()]]
    if empty:
        raise NoPromptsError(
            f"{source}: no prompts for label(s) {', '.join(map(repr, empty[:10]))}"
            f"{' ...' if len(empty) > 10 else ''}. Every label of the task needs at least one prompt."
        )


@dataclass(frozen=True)
class PromptSet:
    """The prompts of a run flattened for one text-encoding pass: ``owner[j]`` is prompt j's class."""

    texts: list[str]
    owner: np.ndarray

    @classmethod
    def from_dict(cls, prompts: dict[str, list[str]], labels: list[str]) -> "PromptSet":
        texts, owner = [], []
        for c, lab in enumerate(labels):
            for p in prompts[lab]:
                texts.append(p)
                owner.append(c)
        return cls(texts, np.asarray(owner, dtype=np.int64))


def class_scores(audio: np.ndarray, text: np.ndarray, owner: np.ndarray, n_classes: int,
                 pooling: Pooling) -> np.ndarray:
    """(N, D) audio x (P, D) prompt embeddings -> (N, C) class scores.

    embedding-mean: normalise, average per class, renormalise (CLIP_benchmark); score-mean:
    average the per-prompt cosine similarities (Menon & Vondrick).
    """
    counts = np.bincount(owner, minlength=n_classes).astype(np.float32)
    onehot = np.zeros((len(owner), n_classes), dtype=np.float32)
    onehot[np.arange(len(owner)), owner] = 1.0
    if pooling == "embedding-mean":
        centroids = (onehot.T @ text) / counts[:, None]
        centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
        return audio @ centroids.T
    if pooling == "score-mean":
        return (audio @ text.T) @ onehot / counts[None, :]
    raise ValueError(f"unknown pooling {pooling!r}; choose one of {', '.join(POOLINGS)}")


def prompt_source(strategy: Any) -> dict[str, Any]:
    """Where a run's prompts came from, as a published number would say it: the exact template
    text, or the bank (its hash and who wrote it), or a prompt file's hash."""
    params = strategy.params()
    bank = getattr(strategy, "bank", None)
    if bank is not None:
        prov = bank.provenance
        return {"kind": "bank", "bank_sha256": bank.sha256, "task": bank.task,
                "provenance": {k: prov.get(k) for k in ("generator", "preset", "date", "source", "t", "n")
                               if prov.get(k) is not None}}
    if "templates" in params:
        return {"kind": "template", "templates": list(params["templates"])}
    if "file_sha256" in params:
        return {"kind": "file", "file_sha256": params["file_sha256"]}
    return {"kind": strategy.name}
