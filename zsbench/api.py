"""The Python API. The CLI, sweeps and the training recipe's evaluations all call this."""

from __future__ import annotations

from typing import Any

from zsbench.adapters.base import AudioTextModel
from zsbench.runner import RunConfig, RunResult, run


def evaluate(model: str | AudioTextModel = "demo", task: str = "synthworld", prompts: str = "template",
             **params: Any) -> RunResult:
    """Run one zero-shot evaluation and store its record; see ``RunConfig`` for ``params``.

    ``model`` is a registered name, or a loaded adapter (recorded under its ``meta.name``)."""
    unknown = set(params) - set(RunConfig.__dataclass_fields__)
    if unknown:
        raise TypeError(f"evaluate() got unknown parameter(s): {', '.join(sorted(unknown))}")
    if isinstance(model, str):
        return run(RunConfig(model=model, task=task, prompts=prompts, **params))
    return run(RunConfig(model=model.meta.name, task=task, prompts=prompts, **params), model=model)
