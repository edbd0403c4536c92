"""Figures: the N-sweep curve (the paper's Table IV as a line) and per-class accuracy of two runs
side by side (the paper's Fig. 2).

matplotlib's object API (``Figure``) with no pyplot: no global backend state, nothing opens a
window, and it works headless. Files are written atomically; the format follows the suffix.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

from zsbench.runtime.fsutil import atomic_write
from zsbench.leaderboard.table import Table
from zsbench.evaluation.results import RunRecord

FORMATS = ("png", "svg", "pdf")


def _figure(width: float, height: float):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ValueError("plots need matplotlib: pip install 'zsbench[plots]'") from None
    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def sweep_figure(table: Table):
    """Average (and each task) against the swept value, error bars = std over seeds; published
    columns dashed."""
    if table.shape != "sweep":
        raise ValueError("the sweep curve needs --table sweep")
    rows = table.rows()
    try:
        xs = [float(r.label) for r in rows]
    except ValueError:
        raise ValueError(f"the sweep curve needs one numeric swept parameter; this sweep's rows are "
                         f"{', '.join(r.label for r in rows)} ({table.row_header})") from None
    fig = _figure(6.0, 3.8)
    ax = fig.add_subplot()
    ours = [c for c in table.columns if c.kind == "ours" and c.key != "average"]
    for col in table.columns:
        if col.kind == "delta" or (len(ours) == 1 and col is ours[0]):
            continue  # with one task its line is the average's
        pts = [(x, r.cells[col.key]) for x, r in zip(xs, rows) if col.key in r.cells
               and not math.isnan(r.cells[col.key].value)]
        if not pts:
            continue
        style = {"linestyle": "--", "marker": "s"} if col.kind == "published" else {"marker": "o"}
        width = 2.4 if col.key == "average" else 1.2
        ax.errorbar([x for x, _ in pts], [c.value for _, c in pts], yerr=[c.std or 0.0 for _, c in pts],
                    label=col.label, linewidth=width, capsize=3, **style)
    ax.set_xlabel(table.row_header)
    ax.set_ylabel("score (%)")
    ax.set_xticks(xs)
    ax.set_title(table.title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def per_class_figure(a: RunRecord, b: RunRecord, label_a: str, label_b: str):
    """Horizontal bars per class for two runs on the same task, sorted by the difference b - a."""
    if a.task["id"] != b.task["id"]:
        raise ValueError(f"per-class comparison needs two runs on one task; {a.run_id} is on {a.task['id']}, "
                         f"{b.run_id} on {b.task['id']}")
    pa, pb = a.metrics.get("per_class") or {}, b.metrics.get("per_class") or {}
    labels = [lab for lab in pa if lab in pb and pa[lab] is not None and pb[lab] is not None]
    if not labels:
        raise ValueError(f"runs {a.run_id} and {b.run_id} have no per-class metrics in common")
    labels.sort(key=lambda lab: (pb[lab] - pa[lab], lab))
    fig = _figure(7.0, max(2.5, 0.28 * len(labels) + 1.2))
    ax = fig.add_subplot()
    ys = range(len(labels))
    ax.barh([y - 0.2 for y in ys], [100 * pa[lab] for lab in labels], height=0.4, label=label_a)
    ax.barh([y + 0.2 for y in ys], [100 * pb[lab] for lab in labels], height=0.4, label=label_b)
    ax.set_yticks(list(ys), labels, fontsize=7)
    ax.set_xlabel(f"per-class {'AP' if a.metrics.get('headline') == 'mAP' else 'accuracy'} (%)")
    ax.set_title(f"{a.task['id']}: per class, sorted by difference", fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    return fig


def to_bytes(fig, fmt: str) -> bytes:
    if fmt not in FORMATS:
        raise ValueError(f"plot format {fmt!r}: choose {', '.join(FORMATS)} (from the file's suffix)")
    buf = io.BytesIO()
    # A fixed date and no hash salt keep SVG/PDF output reproducible for the same data.
    meta = {"Date": None} if fmt in ("svg", "pdf") else {}
    fig.savefig(buf, format=fmt, metadata=meta)
    return buf.getvalue()


def svg_text(fig) -> str:
    """Inline SVG (no XML prolog), for embedding in the HTML page."""
    import matplotlib

    with matplotlib.rc_context({"svg.hashsalt": "zsbench", "svg.fonttype": "path"}):
        text = to_bytes(fig, "svg").decode("utf-8")
    return text[text.index("<svg"):]


def write(fig, path: Path | str) -> Path:
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    data = to_bytes(fig, fmt)
    with atomic_write(path, "wb") as f:
        f.write(data)
    return path
