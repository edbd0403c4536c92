"""Per-clip outputs of a run (``--save-predictions``), for error analysis and per-class comparisons.

Takes a run's plain pieces (its score matrix, its task, the indices of the items it scored), not
the runner's result object, so it depends on nothing above the task layer."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from zsbench.runtime.fsutil import atomic_write

if TYPE_CHECKING:
    from zsbench.tasks.base import Task

TOP = 5


def prediction_rows(scores: np.ndarray, task: "Task", scored: Sequence[int]) -> list[dict]:
    """One row per scored clip (classification) or caption query (retrieval); ``scores`` is the
    run's (N scored, C) matrix, ``scored`` the indices into ``task.items`` it covers."""
    if task.meta.metric == "retrieval":
        return _retrieval_rows(scores, task, scored)
    labels = task.labels
    k = min(TOP, len(labels))
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    rows = []
    for r, i in enumerate(scored):
        item = task.items[i]
        row = {"clip_id": item.id, "path": str(item.path), "targets": "|".join(labels[t] for t in item.targets)}
        for j, c in enumerate(order[r], start=1):
            row[f"top{j}_label"] = labels[c]
            row[f"top{j}_score"] = round(float(scores[r, c]), 6)
        rows.append(row)
    return rows


def _retrieval_rows(scores: np.ndarray, task: "Task", scored: Sequence[int]) -> list[dict]:
    """One row per caption query: the clip it describes and the top clips retrieved."""
    items = [task.items[i] for i in scored]
    kept = {i for i in scored}
    captions = [(c, o) for c, o in zip(task.captions, task.caption_item) if o in kept]
    order = np.argsort(-scores, axis=1, kind="stable")[:, :TOP]
    rows = []
    for r, (caption, owner) in enumerate(captions):
        row = {"caption": caption, "target_clip": task.items[owner].id}
        for j, c in enumerate(order[r], start=1):
            row[f"top{j}_clip"] = items[c].id
            row[f"top{j}_score"] = round(float(scores[r, c]), 6)
        rows.append(row)
    return rows


def write_predictions(path: Path, scores: np.ndarray, task: "Task", scored: Sequence[int]) -> None:
    """CSV, or Parquet when the name ends in .parquet (needs the ``parquet`` extra)."""
    rows = prediction_rows(scores, task, scored)
    if path.suffix == ".parquet":
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise ValueError(f"{path}: writing Parquet needs pyarrow (pip install 'zsbench[parquet]'), "
                             f"or use a .csv name ({exc})") from None
        with atomic_write(path, "wb") as f:
            pq.write_table(pa.Table.from_pylist(rows), f)
        return
    with atomic_write(path) as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
