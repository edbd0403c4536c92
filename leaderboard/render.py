"""Leaderboards from stored run records: pick a table shape, a format, and optionally plots.

The pieces live beside this module: ``cells.py`` (aggregation and what may share a cell),
``shapes.py`` (the paper's table shapes), ``published.py`` (published numbers), ``table.py``
(Markdown / CSV / JSON), ``html.py`` (the sharable page) and ``plots.py`` (figures).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from zsbench.leaderboard import shapes
from zsbench.leaderboard.cells import Aggregate, Cell, IncomparableRunsError, comparability_key  # noqa: F401
from zsbench.leaderboard.table import Table, to_csv, to_json, to_markdown
from zsbench.leaderboard.shapes import row_name  # noqa: F401
from zsbench.evaluation.results import RunRecord

TABLES = ("classification", "retrieval", "sweep")
FORMATS = ("md", "csv", "html", "json")
AGGREGATES = ("latest", "mean")  # the latest run per cell, or mean ± std of comparable runs


def build_table(records: Iterable[RunRecord], table: str = "classification", aggregate: Aggregate = "latest",
                tasks: list[str] | None = None, models: list[str] | None = None, published: bool = False,
                sweep: str | None = None) -> Table:
    from zsbench.leaderboard import published as pub

    numbers = pub.load() if published else None
    if table == "classification":
        return shapes.classification(records, aggregate, tasks, models, numbers)
    if table == "retrieval":
        return shapes.retrieval(records, aggregate, tasks, models, numbers)
    if table == "sweep":
        try:
            return shapes.sweep(records, sweep, tasks, models, numbers)
        except LookupError as exc:
            raise ValueError(str(exc)) from None
    raise ValueError(f"--table {table!r}: choose one of {', '.join(TABLES)}")


def render(records: Iterable[RunRecord], fmt: str = "md", aggregate: Aggregate = "latest", show_ci: bool = False,
           tasks: list[str] | None = None, models: list[str] | None = None, explain: bool = False,
           table: str = "classification", published: bool = False, sweep: str | None = None,
           compare: list[str] | None = None) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if aggregate not in AGGREGATES:
        raise ValueError(f"--aggregate {aggregate!r}: choose one of {', '.join(AGGREGATES)}")
    records = list(records)
    if fmt == "html":
        return render_html(records, aggregate, show_ci, tasks, models, table, published, sweep, compare)
    built = build_table(records, table, aggregate, tasks, models, published, sweep)
    if built.empty:
        return _nothing(table, records)
    if fmt == "csv":
        return to_csv(built)
    if fmt == "json":
        return to_json(built)
    return to_markdown(built, show_ci, explain)


def _nothing(table: str, records: list[RunRecord]) -> str:
    if not records:
        return "No runs stored yet: `zsbench run` adds one.\n"
    other = "retrieval" if table == "classification" else "classification"
    return f"No {table} runs match: `zsbench run` adds one (the store has others: try --table {other}).\n"


def find_runs(records: list[RunRecord], ids: list[str]) -> list[RunRecord]:
    """Records by run id or a unique prefix of one."""
    out = []
    for wanted in ids:
        found = [r for r in records if r.run_id == wanted] or [r for r in records if r.run_id.startswith(wanted)]
        if len(found) != 1:
            raise ValueError(f"--compare {wanted!r}: {'ambiguous run id prefix' if found else 'no stored run has this id'}"
                             " (`zsbench leaderboard --explain` lists the runs behind each cell)")
        out.append(found[0])
    return out


def figures(records: list[RunRecord], table: Table | None, compare: list[str] | None,
            strict: bool = True) -> list[tuple[str, object]]:
    """(caption, matplotlib figure): the per-class comparison when two runs are named, the
    sweep curve for a sweep table over one numeric parameter (``strict=False``: skipped when the
    swept parameter is not numeric, instead of an error)."""
    from zsbench.leaderboard import plots

    out = []
    if compare:
        if len(compare) != 2:
            raise ValueError("--compare takes exactly two run ids (repeat the option: --compare A --compare B)")
        a, b = find_runs(records, compare)
        out.append((f"Per-class {a.task['id']}: {row_name(a)} ({a.run_id}) vs {row_name(b)} ({b.run_id})",
                    plots.per_class_figure(a, b, f"{row_name(a)} ({a.run_id})", f"{row_name(b)} ({b.run_id})")))
    if table is not None and table.shape == "sweep" and not table.empty:
        try:
            out.append((f"{table.title}: score against {table.row_header}", plots.sweep_figure(table)))
        except ValueError:
            if strict:
                raise
    return out


def write_plot(records: Iterable[RunRecord], path: Path | str, table: str = "classification",
               aggregate: Aggregate = "latest", tasks: list[str] | None = None, models: list[str] | None = None,
               published: bool = False, sweep: str | None = None, compare: list[str] | None = None) -> Path:
    from zsbench.leaderboard import plots

    records = list(records)
    built = build_table(records, table, aggregate, tasks, models, published, sweep) if table == "sweep" else None
    figs = figures(records, built, compare)
    if not figs:
        raise ValueError("--plot draws the sweep curve (--table sweep) or two runs' per-class scores "
                         "(--compare RUN_A --compare RUN_B)")
    return plots.write(figs[0][1], path)


def render_html(records: list[RunRecord], aggregate: Aggregate = "latest", show_ci: bool = False,
                tasks: list[str] | None = None, models: list[str] | None = None, table: str = "classification",
                published: bool = False, sweep: str | None = None, compare: list[str] | None = None) -> str:
    """Every table shape the store has data for (the one asked for first) and the plots."""
    from zsbench.leaderboard import html, plots

    built: list[Table] = []
    for shape in [table] + [s for s in TABLES if s != table]:
        if shape == "sweep" and not shapes.sweep_ids(records):
            continue
        t = build_table(records, shape, aggregate, tasks, models, published, sweep if shape == "sweep" else None)
        if t.has_runs or (shape == table and not t.empty):  # other shapes only with runs of ours
            built.append(t)
    sweep_table = next((t for t in built if t.shape == "sweep"), None)
    figs = []
    for caption, fig in figures(records, sweep_table, compare, strict=False):
        figs.append((caption, plots.svg_text(fig)))
    return html.page(built, figs, subtitle=f"{len(records)} stored runs", show_ci=show_ci)
