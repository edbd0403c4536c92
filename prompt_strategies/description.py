"""The t acoustic descriptions of each label ("ReCLAP w/ only desc.")."""

from __future__ import annotations

from typing import Any

from zsbench.prompt_strategies.bank import load_bank, task_bank
from zsbench.registry import PROMPTS


@PROMPTS.register("description", "the t LLM-written acoustic descriptions of each label, pooled (--bank)")
class DescriptionStrategy:
    name = "description"
    parameters = {"bank": str}
    inputs = ("task_id",)
    augmenting = True  # the paper's Table II counts description prompts as prompt augmentation

    def __init__(self, model_meta: Any = None, task_id: str | None = None, bank: str | None = None):
        self.bank = load_bank(bank or task_bank(task_id))

    def prompts(self, labels: list[str]) -> dict[str, list[str]]:
        return {lab: self.bank.descriptions(lab) for lab in labels}

    def params(self) -> dict[str, Any]:
        return {"bank": str(self.bank.path), "bank_sha256": self.bank.sha256}
