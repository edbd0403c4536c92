"""The shape every leaderboard table shares, and its text formats (Markdown, CSV, JSON).

Builders (``shapes.py``) decide what goes where; this module only lays it out, so the
classification, retrieval and sweep tables are formatted, ranked and explained alike.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field

from zsbench.leaderboard.cells import Cell


@dataclass
class Column:
    key: str
    label: str
    kind: str = "ours"  # ours | published | delta (only "ours" columns rank bold / underlined)


@dataclass
class Row:
    label: str
    cells: dict[str, Cell]
    kind: str = "ours"  # ours | published | delta


@dataclass
class Group:
    title: str | None
    rows: list[Row] = field(default_factory=list)


@dataclass
class Table:
    shape: str  # classification | retrieval | sweep
    title: str
    row_header: str
    columns: list[Column]
    groups: list[Group]
    notes: list[str] = field(default_factory=list)

    def rows(self) -> list[Row]:
        return [r for g in self.groups for r in g.rows]

    @property
    def empty(self) -> bool:
        return not any(r.cells for r in self.rows())

    @property
    def has_runs(self) -> bool:
        return any(r.kind == "ours" and r.cells for r in self.rows())

    def ranks(self) -> dict[tuple[int, str], int]:
        """(id(row), column key) -> 1 for the best value of its column, 2 for the second best.

        Ours and published rows compete (the paper's bold/underline); difference rows do not."""
        out: dict[tuple[int, str], int] = {}
        for col in self.columns:
            if col.kind != "ours":
                continue
            entries = [(r, r.cells[col.key].value) for r in self.rows()
                       if r.kind != "delta" and col.key in r.cells and not math.isnan(r.cells[col.key].value)]
            distinct = sorted({round(v, 6) for _, v in entries}, reverse=True)
            for r, v in entries:
                if round(v, 6) == distinct[0]:
                    out[(id(r), col.key)] = 1
                elif len(distinct) > 1 and round(v, 6) == distinct[1]:
                    out[(id(r), col.key)] = 2
        return out

    def legend(self) -> list[str]:
        """One line saying what the markers in this table mean, when it has any."""
        seen = {m for r in self.rows() for c in r.cells.values() for m in c.markers}
        if not seen:
            return []
        parts = []
        if any(m.startswith(("≠", "?")) for m in seen):
            parts.append("≠X: our runs differ from the published setting in X, so no difference is shown; "
                         "?X: the source does not say")
        if "†" in seen:
            parts.append("†: the model was trained or its checkpoint selected on data overlapping this task")
        return ["Markers: " + "; ".join(parts) + " (--explain says each in words)."]

    def visible_groups(self) -> list[Group]:
        return [g for g in self.groups if g.rows]


def format_cell(cell: Cell | None, show_ci: bool = False) -> str:
    if cell is None:
        return "–"
    if cell.kind == "differs":  # beside a published number, not the same experiment: say how
        return " ".join(cell.markers)
    if math.isnan(cell.value):
        return "n/a"
    if cell.kind == "published":  # as printed in the source: 10.0 stays 10.0, 92.75 stays 92.75
        return f"{cell.value:.1f}" if round(cell.value, 1) == cell.value else f"{cell.value:.2f}"
    if cell.kind == "delta":
        return f"{cell.value:+.2f}"
    text = f"{cell.value:.2f}"
    if cell.std is not None:
        text += f" ± {cell.std:.2f}"
    if show_ci and cell.ci:
        text += f" [{cell.ci[0]:.1f}, {cell.ci[1]:.1f}]"
    return text + "".join(f" {m}" for m in cell.markers)


def to_markdown(table: Table, show_ci: bool = False, explain: bool = False) -> str:
    ranks = table.ranks()
    cols = table.columns
    lines = [f"| {table.row_header} | " + " | ".join(c.label for c in cols) + " |", "|---|" + "---:|" * len(cols)]
    groups = table.visible_groups()
    for group in groups:
        if len(groups) > 1 and group.title:
            lines.append(f"| *{group.title}* |" + " |" * len(cols))
        for row in group.rows:
            out = []
            for c in cols:
                text = format_cell(row.cells.get(c.key), show_ci)
                rank = ranks.get((id(row), c.key))
                out.append(f"**{text}**" if rank == 1 else f"<u>{text}</u>" if rank == 2 else text)
            lines.append(f"| {row.label} | " + " | ".join(out) + " |")
    text = "\n".join(lines) + "\n"
    if table.notes or table.legend():
        text += "\n" + "\n".join(table.notes + table.legend()) + "\n"
    if explain:
        text += "\n" + "\n".join(explain_lines(table)) + "\n"
    return text


def explain_lines(table: Table) -> list[str]:
    """Which runs (or which publication) each cell came from."""
    out = []
    for row in table.rows():
        if row.kind == "published":
            sources = sorted({c.source for c in row.cells.values() if c.source})
            out.append(f"- {row.label}: published, {'; '.join(sources)}")
            continue
        for col in table.columns:
            cell = row.cells.get(col.key)
            if cell is None:
                continue
            what = f"runs {', '.join(cell.runs)}" if cell.runs else "no runs"
            if cell.source:
                what += f" against {cell.source}"
            if cell.kind == "differs":
                what += "; no difference shown, the settings differ"
            out.append(f"- {row.label} / {col.label}: {what}")
            out += [f"  - {marker}: {why}" for marker, why in zip(cell.markers, cell.why)]
    return out


def to_csv(table: Table) -> str:
    """One line per row: the row label, its group and kind, each column's value, then the std
    of each column that has one (machine-readable: full precision, no markup)."""
    with_std = [c for c in table.columns if any(c.key in r.cells and r.cells[c.key].std is not None
                                                for r in table.rows())]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    marked = bool(table.legend())
    writer.writerow([table.row_header, "group", "kind", *[c.label for c in table.columns],
                     *[f"{c.label} std" for c in with_std], *(["markers"] if marked else [])])
    for group in table.visible_groups():
        for row in group.rows:
            values = [" ".join(cell.markers) if cell is not None and cell.kind == "differs" else _num(cell, "value")
                      for cell in (row.cells.get(c.key) for c in table.columns)]
            stds = [_num(row.cells.get(c.key), "std") for c in with_std]
            markers = "; ".join(f"{c.label}: {' '.join(row.cells[c.key].markers)}" for c in table.columns
                                if c.key in row.cells and row.cells[c.key].markers)
            writer.writerow([row.label, group.title or "", row.kind, *values, *stds, *([markers] if marked else [])])
    return buf.getvalue()


def _num(cell: Cell | None, attr: str) -> str:
    value = getattr(cell, attr) if cell is not None else None
    return "" if value is None or math.isnan(value) else f"{value:.4f}"


def to_dict(table: Table) -> dict:
    def cell(c: Cell) -> dict:
        v = None if math.isnan(c.value) else round(c.value, 6)
        return {"value": v, "std": None if c.std is None else round(c.std, 6), "ci": list(c.ci) if c.ci else None,
                "runs": c.runs, "source": c.source, "kind": c.kind, "markers": c.markers, "why": c.why}

    return {"table": table.shape, "title": table.title, "row_header": table.row_header,
            "columns": [{"key": c.key, "label": c.label, "kind": c.kind} for c in table.columns],
            "groups": [{"title": g.title, "rows": [{"label": r.label, "kind": r.kind,
                                                    "cells": {k: cell(v) for k, v in r.cells.items()}}
                                                   for r in g.rows]} for g in table.visible_groups()],
            "notes": table.notes + table.legend()}


def to_json(table: Table) -> str:
    return json.dumps(to_dict(table), indent=2, ensure_ascii=False) + "\n"
