"""Leaderboard tables from stored run records.

Cells only aggregate records that are comparable: the same model fingerprint, task version,
prompt bank and preprocessing. Mixing them would average different experiments into one
number, so the leaderboard refuses and names the runs.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from typing import Iterable, Literal

from zsbench.results import RunRecord

Aggregate = Literal["latest", "mean"]


class IncomparableRunsError(ValueError):
    pass


@dataclass
class Cell:
    value: float  # headline, in percent
    std: float | None
    ci: tuple[float, float] | None
    runs: list[str] = field(default_factory=list)


def row_name(record: RunRecord) -> str:
    strategy = record.prompts["strategy"]
    params = record.prompts.get("params", {})
    extra = f" N={params['n']}" if params.get("n") else ""
    templates = params.get("templates") or []
    if len(templates) > 1:
        extra += f" ×{len(templates)}"
    elif templates and list(templates) != list(record.model.get("meta", {}).get("templates", templates)):
        extra += f" “{templates[0]}”"
    pooling = params.get("pooling", "embedding-mean")
    extra += "" if pooling == "embedding-mean" else f" ({pooling})"
    return f"{record.model['name']} · {strategy}{extra}"


def comparability_key(record: RunRecord) -> tuple:
    return (record.model["fingerprint"], record.task["version"], record.prompts["bank_hash"],
            record.preprocessing["key"])


def build(records: Iterable[RunRecord], aggregate: Aggregate = "latest", tasks: list[str] | None = None,
          models: list[str] | None = None) -> tuple[list[str], list[str], dict[tuple[str, str], Cell]]:
    groups: dict[tuple[str, str], list[RunRecord]] = {}
    for rec in records:
        if tasks and rec.task["id"] not in tasks or models and rec.model["name"] not in models:
            continue
        groups.setdefault((row_name(rec), rec.task["id"]), []).append(rec)
    cells: dict[tuple[str, str], Cell] = {}
    for key, recs in groups.items():
        recs.sort(key=lambda r: r.created)
        if aggregate == "latest":
            recs = [recs[-1]]
        elif len({comparability_key(r) for r in recs}) > 1:
            raise IncomparableRunsError(
                f"cell {key[0]} / {key[1]}: runs {', '.join(r.run_id for r in recs)} differ in model weights, "
                "task version, prompt bank or preprocessing; use --aggregate latest or filter the runs")
        values = [100.0 * (r.headline[1] if r.headline[1] is not None else math.nan) for r in recs]
        mean = sum(values) / len(values)
        std = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5 if len(values) > 1 else None
        ci = recs[-1].metrics.get("ci") if len(recs) == 1 else None
        cells[key] = Cell(mean, std, tuple(100 * c for c in ci) if ci else None, [r.run_id for r in recs])
    rows = sorted({r for r, _ in cells})
    cols = sorted({c for _, c in cells}, key=lambda t: (tasks.index(t) if tasks and t in tasks else 0, t))
    return rows, cols, cells


def _fmt(cell: Cell | None, show_ci: bool) -> str:
    if cell is None:
        return "–"
    text = f"{cell.value:.2f}"
    if cell.std is not None:
        text += f" ± {cell.std:.2f}"
    if show_ci and cell.ci:
        text += f" [{cell.ci[0]:.1f}, {cell.ci[1]:.1f}]"
    return text


def render(records: Iterable[RunRecord], fmt: str = "md", aggregate: Aggregate = "latest", show_ci: bool = False,
           tasks: list[str] | None = None, models: list[str] | None = None, explain: bool = False) -> str:
    rows, cols, cells = build(records, aggregate, tasks, models)
    if not cells:
        return "No runs stored yet: `zsbench run` adds one.\n"
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["model · prompts", *cols])
        for r in rows:
            writer.writerow([r, *[f"{cells[(r, c)].value:.4f}" if (r, c) in cells else "" for c in cols]])
        return buf.getvalue()
    if fmt != "md":
        raise ValueError(f"--format {fmt!r}: choose md or csv")
    best = {c: max((cells[(r, c)].value for r in rows if (r, c) in cells), default=None) for c in cols}
    lines = ["| model · prompts | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    for r in rows:
        out = []
        for c in cols:
            cell = cells.get((r, c))
            text = _fmt(cell, show_ci)
            out.append(f"**{text}**" if cell is not None and cell.value == best[c] else text)
        lines.append(f"| {r} | " + " | ".join(out) + " |")
    text = "\n".join(lines) + "\n"
    if explain:
        text += "\n" + "\n".join(f"- {r} / {c}: runs {', '.join(cell.runs)}" for (r, c), cell in sorted(cells.items())) + "\n"
    return text
