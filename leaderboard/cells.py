"""One leaderboard cell from the run records behind it, and the rule for what may share a cell.

Runs share a cell only when they are the same experiment up to the seed: the same model
weights, task version and task parameters, prompt source (bank file, templates, strategy
parameters other than the seed), preprocessing (rate, clip policy, crop mode) and inference
(``--precision``, ``--compile``). Averaging
anything else would put two experiments into one number, so the leaderboard refuses and names
the runs. The seed may differ: that is what mean ± std across seeds is for.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Iterable, Literal

from zsbench.evaluation.results import RunRecord

Aggregate = Literal["latest", "mean"]


class IncomparableRunsError(ValueError):
    pass


@dataclass
class Cell:
    value: float  # in percent (or percentage points for a difference)
    std: float | None = None
    ci: tuple[float, float] | None = None
    runs: list[str] = field(default_factory=list)  # run ids behind the cell
    source: str | None = None  # published cells: where the number comes from
    kind: str = "ours"  # ours | published | delta | differs (beside a published number, not comparable)
    markers: list[str] = field(default_factory=list)  # ≠weights, ≠bank, † (training overlap) ...
    why: list[str] = field(default_factory=list)  # each marker in words, for --explain


def prompt_source(record: RunRecord) -> str:
    """The prompts a run drew from, without the seed. Seeded strategies (augmented sampling)
    draw different prompts per seed from one bank: the bank's digest identifies the source.
    Unseeded ones are identified by the exact prompts' hash."""
    params = dict(record.prompts.get("params", {}))
    seeded = "seed" in params
    params.pop("seed", None)
    if "bank_sha256" in params:
        params.pop("bank", None)  # a path: the same bank installed elsewhere is the same bank
    key = {"strategy": record.prompts.get("strategy"), "params": params}
    if not seeded:
        key["prompts"] = record.prompts.get("bank_hash")
    return json.dumps(key, sort_keys=True, default=str)


def comparability_key(record: RunRecord) -> tuple:
    prep = record.preprocessing
    prep_key = (prep.get("sample_rate"), json.dumps(prep.get("clip"), sort_keys=True), prep.get("crop"))
    if prep_key == (None, "null", None):
        prep_key = (prep.get("key"),)  # a minimal record: only the combined key is known
    return (record.model["fingerprint"], record.task["version"],
            json.dumps(record.task.get("params", {}), sort_keys=True, default=str), prompt_source(record), prep_key,
            record.inference)


def _why(records: list[RunRecord]) -> str:
    parts = []
    checks = [("model weights", lambda r: r.model["fingerprint"]), ("task version", lambda r: r.task["version"]),
              ("task parameters", lambda r: json.dumps(r.task.get("params", {}), sort_keys=True, default=str)),
              ("prompt bank", prompt_source), ("preprocessing / crop mode", lambda r: comparability_key(r)[4]),
              ("inference precision / compile", lambda r: r.inference)]
    for name, key in checks:
        if len({key(r) for r in records}) > 1:
            parts.append(name)
    return ", ".join(parts) or "provenance"


def metric_value(record: RunRecord, metric: str | None = None) -> float:
    key = metric or record.metrics["headline"]
    value = record.metrics["values"].get(key)
    return math.nan if value is None else 100.0 * value


def aggregate(records: Iterable[RunRecord], how: Aggregate = "latest", metric: str | None = None,
              where: str = "") -> Cell:
    """``latest``: the newest run. ``mean``: mean ± sample std over comparable runs."""
    recs = sorted(records, key=lambda r: r.created)
    if not recs:
        raise ValueError("a cell needs at least one run")
    if how == "latest":
        recs = recs[-1:]
    elif len({comparability_key(r) for r in recs}) > 1:
        raise IncomparableRunsError(
            f"cell {where}: runs {', '.join(r.run_id for r in recs)} differ in {_why(recs)}; "
            "use --aggregate latest or filter the runs (--tasks, --models, --sweep)")
    values = [metric_value(r, metric) for r in recs]
    mean, std = mean_of(values)
    ci = recs[-1].metrics.get("ci") if len(recs) == 1 and metric is None else None
    return Cell(mean, std, (100 * ci[0], 100 * ci[1]) if ci else None, [r.run_id for r in recs])


def mean_of(values: list[float]) -> tuple[float, float | None]:
    mean = sum(values) / len(values)
    std = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5 if len(values) > 1 else None
    return mean, std
