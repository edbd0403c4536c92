"""The paper's table shapes built from run records (and, with ``published``, beside its numbers).

- classification (Table II): rows model · prompt strategy, grouped without / with prompt
  augmentation, columns tasks, the headline metric;
- retrieval (Table I): rows model, columns R@1/5/10 text-to-audio and audio-to-text per task;
- sweep (Table IV): rows the swept parameter's values, columns tasks and their average, mean ±
  std across the sweep's seeds.
"""

from __future__ import annotations

from typing import Callable, Iterable

from zsbench.leaderboard.cells import Aggregate, Cell, aggregate, mean_of, metric_value
from zsbench.leaderboard.compare import OVERLAP_MARKER, overlap
from zsbench.leaderboard.published import Published, PublishedRow
from zsbench.leaderboard.table import Column, Group, Row, Table
from zsbench.prompt_strategies.base import augments  # a strategy's own ``augmenting``: Table II's lower half
from zsbench.evaluation.results import RunRecord

WITHOUT_AUG, WITH_AUG = "w/o prompt aug.", "w/ prompt aug."
RETRIEVAL_METRICS = [("t2a_R@1", "T2A R@1"), ("t2a_R@5", "T2A R@5"), ("t2a_R@10", "T2A R@10"),
                     ("a2t_R@1", "A2T R@1"), ("a2t_R@5", "A2T R@5"), ("a2t_R@10", "A2T R@10")]


def row_name(record: RunRecord) -> str:
    """model · strategy, plus whatever makes the prompts differ from the strategy's default."""
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


def is_retrieval(record: RunRecord) -> bool:
    return record.task.get("metric") == "retrieval" or record.metrics.get("headline") == "t2a_R@1"


def _keep(records: Iterable[RunRecord], tasks: list[str] | None, models: list[str] | None,
          want: Callable[[RunRecord], bool]) -> list[RunRecord]:
    return [r for r in records if want(r) and (not tasks or r.task["id"] in tasks)
            and (not models or r.model["name"] in models)]


def _task_order(found: Iterable[str], tasks: list[str] | None) -> list[str]:
    """``tasks`` as given, else Table II's column order: each task's ``TaskMeta.leaderboard_order``
    (from the task registry), then the other tasks alphabetically."""
    from zsbench.tasks.catalog import leaderboard_order

    found = set(found)
    if tasks:
        return [t for t in tasks if t in found]
    return leaderboard_order(found)


def _published_row(pub: PublishedRow, columns: list[Column]) -> Row | None:
    cells = {c.key: Cell(pub.values[c.key], source=pub.source, kind="published")
             for c in columns if c.key in pub.values}
    return Row(f"{pub.name} (published)", cells, kind="published") if cells else None


def _delta_rows(row: Row, groups_of: dict[str, list[RunRecord]], published: Published, shape: str,
                task_of: Callable[[str], str | None]) -> list[Row]:
    """For each published row set beside ours: our value minus the published one where the two
    are the same experiment, else a marker for each difference (compare.py)."""
    out = []
    for pub in published.rows(shape):
        cells = {}
        for key, ours in row.cells.items():
            if key not in pub.values or not published.pairs(pub, groups_of[key]):
                continue
            diffs = published.differences(pub, groups_of[key], task_of(key))
            source = f"{pub.name}: {pub.source}"
            cells[key] = (Cell(ours.value - pub.values[key], runs=ours.runs, source=source, kind="delta") if not diffs
                          else Cell(float("nan"), runs=ours.runs, source=source, kind="differs",
                                    markers=[d.marker for d in diffs], why=[d.words for d in diffs]))
        if cells:
            out.append(Row(f"Δ vs {pub.name}", cells, kind="delta"))
    return out


def _mark_overlap(cell: Cell, records: list[RunRecord]) -> Cell:
    """Mark a cell of ours whose task the model was trained or selected on (compare.overlap)."""
    reasons = overlap([r for r in records if r.run_id in cell.runs])
    if reasons:
        cell.markers.append(OVERLAP_MARKER)
        cell.why.extend(reasons)
    return cell


def classification(records: Iterable[RunRecord], how: Aggregate = "latest", tasks: list[str] | None = None,
                   models: list[str] | None = None, published: Published | None = None) -> Table:
    recs = _keep(records, tasks, models, lambda r: not is_retrieval(r))
    by_cell: dict[tuple[str, str], list[RunRecord]] = {}
    group_of: dict[str, str] = {}
    for r in recs:
        name = row_name(r)
        by_cell.setdefault((name, r.task["id"]), []).append(r)
        group_of[name] = WITH_AUG if augments(r.prompts["strategy"]) else WITHOUT_AUG
    found = {t for _, t in by_cell}
    if published:
        found |= {t for p in published.rows("classification") for t in p.values}
    columns = [Column(t, t) for t in _task_order(found, tasks)]
    groups = {WITHOUT_AUG: Group(WITHOUT_AUG), WITH_AUG: Group(WITH_AUG)}
    for name in sorted(group_of):
        cells = {c.key: _mark_overlap(aggregate(by_cell[(name, c.key)], how, where=f"{name} / {c.key}"),
                                      by_cell[(name, c.key)])
                 for c in columns if (name, c.key) in by_cell}
        row = Row(name, cells)
        groups[group_of[name]].rows.append(row)
        if published:
            used = {t: [r for r in by_cell[(name, t)] if r.run_id in cells[t].runs] for t in cells}
            groups[group_of[name]].rows += _delta_rows(row, used, published, "classification", lambda k: k)
    if published:
        for pub in published.rows("classification"):
            prow = _published_row(pub, columns)
            if prow:
                groups[pub.group if pub.group in groups else WITHOUT_AUG].rows.append(prow)
    return Table("classification", "Zero-shot classification (headline metric, %)", "model · prompts", columns,
                 [groups[WITHOUT_AUG], groups[WITH_AUG]])


def retrieval(records: Iterable[RunRecord], how: Aggregate = "latest", tasks: list[str] | None = None,
              models: list[str] | None = None, published: Published | None = None) -> Table:
    recs = _keep(records, tasks, models, is_retrieval)
    by_row: dict[tuple[str, str], list[RunRecord]] = {}
    for r in recs:
        by_row.setdefault((row_name(r), r.task["id"]), []).append(r)
    found = {t for _, t in by_row}
    if published:
        found |= {k.split(":")[0] for p in published.rows("retrieval") for k in p.values}
    columns = [Column(f"{t}:{m}", f"{t} {label}") for t in _task_order(found, tasks) for m, label in RETRIEVAL_METRICS]
    group = Group(None)
    for name in sorted({n for n, _ in by_row}):
        cells, used = {}, {}
        for col in columns:
            task, metric = col.key.split(":")
            if (name, task) in by_row:
                cells[col.key] = _mark_overlap(aggregate(by_row[(name, task)], how, metric=metric,
                                                         where=f"{name} / {col.label}"), by_row[(name, task)])
                used[col.key] = [r for r in by_row[(name, task)] if r.run_id in cells[col.key].runs]
        row = Row(name, cells)
        group.rows.append(row)
        if published:
            group.rows += _delta_rows(row, used, published, "retrieval", lambda k: k.split(":")[0])
    if published:
        group.rows += [r for r in (_published_row(p, columns) for p in published.rows("retrieval")) if r]
    return Table("retrieval", "Audio-text retrieval (Recall@k, %)", "model", columns, [group])


def sweep_ids(records: Iterable[RunRecord]) -> list[str]:
    """Sweep ids, newest last."""
    latest: dict[str, str] = {}
    for r in records:
        if r.sweep_id and "sweep" in r.extra:
            latest[r.sweep_id] = max(latest.get(r.sweep_id, ""), r.created)
    return sorted(latest, key=latest.get)


def sweep(records: Iterable[RunRecord], sweep_id: str | None = None, tasks: list[str] | None = None,
          models: list[str] | None = None, published: Published | None = None) -> Table:
    records = list(records)
    ids = sweep_ids(records)
    if not ids:
        raise LookupError("no sweep runs stored yet: `zsbench sweep N=1..5 --prompts augmented` makes one")
    if sweep_id is None:
        sweep_id = ids[-1]
    else:
        chosen = [i for i in ids if i == sweep_id] or [i for i in ids if i.startswith(sweep_id)]
        if len(chosen) != 1:
            raise LookupError(f"--sweep {sweep_id!r}: {'ambiguous' if chosen else 'not found'}; stored sweeps: "
                              f"{', '.join(ids)}")
        sweep_id = chosen[0]
    recs = _keep([r for r in records if r.sweep_id == sweep_id and "sweep" in r.extra], tasks, models, lambda r: True)
    recs.sort(key=lambda r: r.extra["sweep"]["index"])
    axes = recs[-1].extra["sweep"]["axes"] if recs else []
    row_axes = [a for a in axes if a not in ("seed", "task")]
    header = ", ".join("N" if a == "n" else a for a in row_axes) or "sweep"

    def row_key(r: RunRecord) -> str:
        return ", ".join(str(r.extra["sweep"]["point"][a]) for a in row_axes) or sweep_id

    task_cols = _task_order({r.task["id"] for r in recs}, tasks) if tasks else list(dict.fromkeys(r.task["id"] for r in recs))
    by_cell: dict[tuple[str, str], list[RunRecord]] = {}
    for r in recs:
        by_cell.setdefault((row_key(r), r.task["id"]), []).append(r)
    columns = [Column(t, t) for t in task_cols] + [Column("average", "average")]
    rows: list[Row] = []
    for key in dict.fromkeys(row_key(r) for r in recs):
        cells = {t: _mark_overlap(aggregate(by_cell[(key, t)], "mean", where=f"{header} {key} / {t}"), by_cell[(key, t)])
                 for t in task_cols if (key, t) in by_cell}
        cells["average"] = _average(by_cell, key, task_cols)
        rows.append(Row(key, {k: v for k, v in cells.items() if v is not None}))
    table = Table("sweep", f"Sweep {sweep_id} (headline metric, %, mean ± std over seeds)", header, columns,
                  [Group(None, rows)])
    seeds = sorted({r.seed for r in recs})
    table.notes.append(f"Sweep {sweep_id}: {len(recs)} runs, seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}; "
                       f"average = mean over {', '.join(task_cols)} per seed, then mean ± std over seeds.")
    others = [i for i in ids if i != sweep_id]
    if others:
        table.notes.append(f"Other stored sweeps (--sweep ID): {', '.join(others)}.")
    if published and row_axes == ["n"]:
        _published_sweep_columns(table, by_cell, task_cols, published)
    return table


def _average(by_cell: dict[tuple[str, str], list[RunRecord]], key: str, task_cols: list[str]) -> Cell | None:
    """Mean over tasks per seed (only seeds every task has), then mean ± std over those seeds."""
    per_seed: dict[int, dict[str, RunRecord]] = {}
    for t in task_cols:
        for r in by_cell.get((key, t), []):
            per_seed.setdefault(r.seed, {})[t] = r
    complete = {s: rs for s, rs in per_seed.items() if len(rs) == len(task_cols)}
    if not complete:
        return None
    values = [sum(metric_value(r) for r in rs.values()) / len(rs) for _, rs in sorted(complete.items())]
    mean, std = mean_of(values)
    return Cell(mean, std, None, [r.run_id for _, rs in sorted(complete.items()) for r in rs.values()])


def _published_sweep_columns(table: Table, by_cell, task_cols: list[str], published: Published) -> None:
    for pub in published.rows("sweep"):
        if pub.axis != "n":
            continue
        col = Column(f"published:{pub.name}", f"{pub.name} {pub.column} (published)", kind="published")
        delta = Column(f"delta:{pub.name}", f"Δ {pub.column} vs {pub.name}", kind="delta")
        same_tasks = sorted(task_cols) == sorted(pub.tasks)
        any_delta, withheld = False, {}
        for row in table.rows():
            if row.label in pub.values:
                row.cells[col.key] = Cell(pub.values[row.label], source=pub.source, kind="published")
                used = [r for t in task_cols for r in by_cell.get((row.label, t), [])]
                ours = row.cells.get(pub.column or "average")
                if not (ours and same_tasks and published.pairs(pub, used)):
                    continue
                diffs = {d.marker: d for r in used for d in published.differences(pub, [r], r.task["id"])}
                if diffs:
                    withheld.update(diffs)
                    continue
                row.cells[delta.key] = Cell(ours.value - pub.values[row.label], runs=ours.runs,
                                            source=pub.source, kind="delta")
                any_delta = True
        table.columns.append(col)
        if any_delta:
            table.columns.append(delta)
        table.notes.append(f"{col.label}: {pub.source}.")
        if withheld:
            table.notes.append(f"{delta.label} not shown: {' '.join(withheld)} "
                               f"({'; '.join(d.words for d in withheld.values())}).")

