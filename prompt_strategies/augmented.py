"""The paper's prompt augmentation: N captions per label sampled from its t x n scene captions.

Sampling is without replacement and seeded per label (from the run seed and the label), so a
label's prompts do not change when other labels are added or removed.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

from zsbench.prompt_strategies.bank import BankError, load_bank
from zsbench.prompt_strategies.base import Pooling
from zsbench.registry import PROMPTS

DEFAULT_N = 2  # the paper's best


@PROMPTS.register("augmented", "N scene captions per label sampled (seeded) from the bank and pooled; --n, --seed, --bank")
class AugmentedStrategy:
    name = "augmented"

    def __init__(self, model_meta: Any = None, task_id: str | None = None, bank: str | None = None,
                 n: int | None = None, seed: int = 0, pooling: Pooling = "embedding-mean"):
        self.bank = load_bank(bank or task_id or "")
        self.n = DEFAULT_N if n is None else int(n)
        if self.n < 1:
            raise ValueError(f"--n must be at least 1 (got {self.n})")
        self.seed = seed
        self.pooling = pooling

    def prompts(self, labels: list[str]) -> dict[str, list[str]]:
        out = {}
        for label in labels:
            pool = self.bank.captions(label)
            if len(pool) < self.n:
                raise BankError(f"{self.bank.path}: label {label!r} has {len(pool)} captions, fewer than --n {self.n}")
            rng = np.random.default_rng([self.seed, zlib.crc32(label.encode("utf-8"))])
            out[label] = [pool[i] for i in sorted(rng.choice(len(pool), self.n, replace=False))]
        return out

    def params(self) -> dict[str, Any]:
        return {"bank": str(self.bank.path), "bank_sha256": self.bank.sha256, "n": self.n, "seed": self.seed,
                "pooling": self.pooling}
