"""Prompt strategies turn label names into prompts; pooling turns prompt embeddings into scores.

A strategy's ``params()`` and ``bank_hash()`` go into the run record, so two runs that used
different prompts never share a leaderboard cell.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

Pooling = Literal["embedding-mean", "score-mean"]
POOLINGS: tuple[str, ...] = ("embedding-mean", "score-mean")


class NoPromptsError(ValueError):
    pass


@runtime_checkable
class PromptStrategy(Protocol):
    name: str
    pooling: Pooling

    def prompts(self, labels: list[str]) -> dict[str, list[str]]: ...

    def params(self) -> dict[str, Any]: ...


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
