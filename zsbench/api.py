"""The Python API. The CLI, sweeps and the training recipe's evaluations all call this."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from zsbench.adapters.base import AudioTextModel
from zsbench.config import FIELDS
from zsbench.evaluation.runner import RunConfig, RunResult, run

if TYPE_CHECKING:
    from zsbench.evaluation.sweep import PointOutcome, Sweep, SweepReport


def _check(params: dict[str, Any], where: str) -> None:
    unknown = set(params) - set(FIELDS)
    if unknown:
        raise TypeError(f"{where}() got unknown parameter(s): {', '.join(sorted(unknown))}")


def evaluate(model: str | AudioTextModel = "demo", task: str = "synthworld", prompts: str = "template",
             **params: Any) -> RunResult:
    """Run one zero-shot evaluation and store its record; see ``RunConfig`` for ``params``.

    ``model`` is a registered name, or a loaded adapter (recorded under its ``meta.name``)."""
    _check(params, "evaluate")
    if isinstance(model, str):
        return run(RunConfig(model=model, task=task, prompts=prompts, **params))
    return run(RunConfig(model=model.meta.name, task=task, prompts=prompts, **params), model=model)


def plan_sweep(grid: list[str], sweep_id: str | None = None, **params: Any) -> "Sweep":
    """Plan a sweep: ``grid`` axes (``N=1..5``, ``seed=0,1``, ...) over the base run ``params``
    (see ``RunConfig``); its points in run order and its id. Checks every point before any runs."""
    from zsbench.evaluation.sweep import Sweep

    _check(params, "plan_sweep")
    return Sweep.plan(RunConfig(**params), list(grid), sweep_id)


def run_sweep(plan: "Sweep", on_point: Callable[["PointOutcome", int], None] | None = None) -> "SweepReport":
    """Run a planned sweep's points not yet stored under its id, storing each as it finishes."""
    from zsbench.evaluation import sweep as sweeps  # looked up at each call (tests replace sweeps.run_sweep)

    return sweeps.run_sweep(plan, on_point=on_point)


def sweep(grid: list[str], sweep_id: str | None = None, **params: Any) -> "SweepReport":
    """``plan_sweep`` then ``run_sweep``: a grid of runs, one stored record per point; calling it
    again with the same arguments resumes."""
    return run_sweep(plan_sweep(grid, sweep_id, **params))
