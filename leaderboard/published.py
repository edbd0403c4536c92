"""Published numbers (package data ``published.json``), what produced each, and their pairing
with our runs.

A published row ``match``es our runs of the model and prompt strategy it names (which of our
rows it is set beside); its ``setting`` (weights, prompts) and the task ``protocol`` (class
set, clips, task options, metric; defaults per task in ``protocols``) then decide, through
``compare.differences``, whether a difference may be shown or each difference is marked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from zsbench.leaderboard.compare import Difference, differences
from zsbench.evaluation.results import RunRecord


@dataclass(frozen=True)
class PublishedRow:
    name: str
    source: str
    values: dict[str, float]  # column key -> percent
    group: str | None = None
    match: dict[str, Any] | None = None
    protocol: dict[str, dict[str, Any]] | None = None
    setting: dict[str, Any] | None = None  # {"weights": ..., "prompts": ...}, "unknown" where the source is silent
    axis: str | None = None  # sweep rows: the swept parameter
    column: str | None = None  # sweep rows: which of our columns the values belong to
    tasks: tuple[str, ...] = ()  # sweep rows: the tasks the published average is over


@dataclass(frozen=True)
class Published:
    protocols: dict[str, dict[str, Any]]
    tables: dict[str, list[PublishedRow]]

    def rows(self, shape: str) -> list[PublishedRow]:
        return self.tables.get(shape, [])

    def pairs(self, row: PublishedRow, records: list[RunRecord]) -> bool:
        """Whether our runs are of the model and prompt strategy ``row`` names (so belong beside it)."""
        m = row.match
        if not m or not records:
            return False
        for rec in records:
            params = rec.prompts.get("params", {})
            if rec.model["name"] not in m.get("models", []):
                return False
            if "prompts" in m and rec.prompts.get("strategy") != m["prompts"]:
                return False
            if "n" in m and params.get("n") != m["n"]:
                return False
            if params.get("pooling", "embedding-mean") != "embedding-mean":
                return False
        return True

    def protocol(self, row: PublishedRow, task: str) -> dict[str, Any]:
        base, own = self.protocols.get(task, {}), (row.protocol or {}).get(task, {})
        params = {} if "params" in own and own["params"] is None else {**base.get("params", {}), **own.get("params", {})}
        return {**base, **own, "params": params}  # "params": null: the source does not say

    def differences(self, row: PublishedRow, records: list[RunRecord], task: str | None) -> list[Difference]:
        """What keeps ``records`` from being ``row``'s experiment on ``task`` (empty: a Δ may be shown)."""
        protocol = self.protocol(row, task) if task else {}
        diffs = differences(row.setting or {}, protocol, records)
        if task is not None and any(r.task.get("id") != task for r in records):
            diffs.append(Difference("≠task", f"the runs are not all of task {task}"))
        return diffs


def _row(entry: dict[str, Any], where: str) -> PublishedRow:
    try:
        return PublishedRow(name=entry["name"], source=entry["source"],
                            values={str(k): float(v) for k, v in entry["values"].items()},
                            group=entry.get("group"), match=entry.get("match"), protocol=entry.get("protocol"),
                            setting=entry.get("setting"),
                            axis=entry.get("axis"), column=entry.get("column"), tasks=tuple(entry.get("tasks", ())))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{where}: a published row needs name, source and numeric values ({exc!r})") from None


def parse(data: dict[str, Any], where: str = "published.json") -> Published:
    tables = {shape: [_row(e, f"{where}, {shape}[{i}]") for i, e in enumerate(data.get(shape, []))]
              for shape in ("classification", "retrieval", "sweep")}
    return Published(protocols=data.get("protocols", {}), tables=tables)


@lru_cache(maxsize=1)
def load() -> Published:
    """The shipped published numbers, with their sources."""
    path = resources.files("zsbench.leaderboard") / "published.json"
    return parse(json.loads(path.read_text(encoding="utf-8")), str(path))
