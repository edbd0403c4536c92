"""Prompts from templates: the paper's "w/o prompt augmentation" baseline."""

from __future__ import annotations

from typing import Any, Sequence

from zsbench.registry import PROMPTS


def fill(template: str, label: str) -> str:
    """``{label}`` is substituted; a template without it is a prefix (MS-CLAP's style)."""
    return template.replace("{label}", label) if "{label}" in template else template + label


@PROMPTS.register("template", "one or more templates per label (default: the model's paper template); --template")
class TemplateStrategy:
    name = "template"
    parameters = {"templates": list[str]}
    inputs = ("model_meta",)
    augmenting = False

    def __init__(self, model_meta: Any = None, templates: Sequence[str] | None = None):
        self.templates = list(templates or (model_meta.templates if model_meta is not None else ()))
        if not self.templates:
            raise ValueError("the template strategy needs at least one template (--template '...{label}...')")

    def prompts(self, labels: list[str]) -> dict[str, list[str]]:
        return {lab: [fill(t, lab) for t in self.templates] for lab in labels}

    def params(self) -> dict[str, Any]:
        return {"templates": self.templates}
