"""Published numbers (package data ``published.json``) and the rule for comparing ours with them.

A difference is only shown where it means something: our runs used the model and prompt
strategy the publication names (``match``) and the task's published protocol (``protocol``,
e.g. all five ESC-50 folds, not fold 1). Everything else is shown beside ours, undifferenced.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from zsbench.results import RunRecord


@dataclass(frozen=True)
class PublishedRow:
    name: str
    source: str
    values: dict[str, float]  # column key -> percent
    group: str | None = None
    match: dict[str, Any] | None = None
    protocol: dict[str, dict[str, Any]] | None = None
    axis: str | None = None  # sweep rows: the swept parameter
    column: str | None = None  # sweep rows: which of our columns the values belong to
    tasks: tuple[str, ...] = ()  # sweep rows: the tasks the published average is over


@dataclass(frozen=True)
class Published:
    protocols: dict[str, dict[str, Any]]
    tables: dict[str, list[PublishedRow]]

    def rows(self, shape: str) -> list[PublishedRow]:
        return self.tables.get(shape, [])

    def matches(self, row: PublishedRow, records: list[RunRecord], task: str | None) -> bool:
        """Whether every run behind one of our cells reproduces ``row``'s setting on ``task``."""
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
            templates, default = params.get("templates"), rec.model.get("meta", {}).get("templates")
            if templates and default and list(templates) != list(default):
                return False  # our own wording, not the model's published template
            if task is not None:
                wanted = {**self.protocols.get(task, {}), **(row.protocol or {}).get(task, {})}
                have = rec.task.get("params", {})
                if rec.task.get("id") != task or any(have.get(k) != v for k, v in wanted.items()):
                    return False
        return True


def _row(entry: dict[str, Any], where: str) -> PublishedRow:
    try:
        return PublishedRow(name=entry["name"], source=entry["source"],
                            values={str(k): float(v) for k, v in entry["values"].items()},
                            group=entry.get("group"), match=entry.get("match"), protocol=entry.get("protocol"),
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
