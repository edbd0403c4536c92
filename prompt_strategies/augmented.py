"""The paper's prompt augmentation: N captions per label sampled from its t x n scene captions.

Sampling is without replacement: a label's N prompts are the first N of a permutation of its
pool seeded by (run seed, label). So a label's prompts do not change when other labels are added
or removed, and for one seed the set for N = k holds the set for N = k - 1: a sweep over N embeds
each prompt once, and its curve is not confounded by drawing afresh at every N.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

from zsbench.prompt_strategies.bank import BankError, load_bank, task_bank
from zsbench.registry import PROMPTS

DEFAULT_N = 2  # the paper's best
# 2: nested draws (the first N of one permutation); 1 drew each N afresh.
VERSION = "2"


@PROMPTS.register("augmented", "N scene captions per label sampled (seeded) from the bank and pooled; --n, --seed, --bank")
class AugmentedStrategy:
    name = "augmented"
    parameters = {"bank": str, "n": int}
    inputs = ("task_id", "seed")
    augmenting = True

    def __init__(self, model_meta: Any = None, task_id: str | None = None, bank: str | None = None,
                 n: int | None = None, seed: int = 0):
        self.bank = load_bank(bank or task_bank(task_id))
        self.n = DEFAULT_N if n is None else int(n)
        if self.n < 1:
            raise ValueError(f"--n must be at least 1 (got {self.n})")
        self.seed = seed

    def prompts(self, labels: list[str]) -> dict[str, list[str]]:
        pools = {label: self.bank.captions(label) for label in labels}
        short = {label: len(pool) for label, pool in pools.items() if len(pool) < self.n}
        if short:
            label, size = min(short.items(), key=lambda kv: kv[1])
            raise BankError(f"{self.bank.path}: --n {self.n} needs {self.n} captions per label, but label {label!r} "
                            f"has {size}{f' (and {len(short) - 1} more labels have fewer than {self.n})' if len(short) > 1 else ''}; "
                            f"the largest N this bank allows is {min(len(p) for p in pools.values())}")
        return {label: [pool[i] for i in self.permutation(label, len(pool))[:self.n]] for label, pool in pools.items()}

    def permutation(self, label: str, size: int) -> np.ndarray:
        """The label's seeded order of its pool; its first N are the run's prompts."""
        return np.random.default_rng([self.seed, zlib.crc32(label.encode("utf-8"))]).permutation(size)

    def params(self) -> dict[str, Any]:
        return {"bank": str(self.bank.path), "bank_sha256": self.bank.sha256, "n": self.n, "seed": self.seed,
                "version": VERSION, "sampling": "first N of a seeded permutation"}
