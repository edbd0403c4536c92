"""Console summary of one run."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from zsbench.evaluation.runner import RunResult


def scored_text(task: dict) -> str:
    """How many clips were scored, with the coverage when the task lists more clips than were
    scored: ``1 of 15,446 listed clips scored (15,445 missing on disk)``."""
    scored, skipped = task["n_scored"], task.get("n_skipped", 0)
    coverage = task.get("coverage") or {}
    listed = coverage.get("listed")
    if isinstance(listed, int) and listed > scored:
        missing = coverage.get("missing", 0)
        text = f"{scored:,} of {listed:,} listed clips scored" + (f" ({missing:,} missing on disk)" if missing else "")
    else:
        text = f"{scored:,} clips scored"
    return text + (f", {skipped:,} skipped as bad audio" if skipped else "")


def print_run(console: "Console", result: "RunResult") -> None:
    from rich.table import Table

    rec = result.record
    meta = rec.model["meta"]
    console.print(f"[bold]model[/]  {rec.model['name']} — {meta['description']} (fingerprint {rec.model['fingerprint']})")
    console.print(f"[bold]task[/]   {rec.task['id']} v{rec.task['version']}: {scored_text(rec.task)}")
    console.print(f"[bold]prompts[/] {rec.prompts['strategy']} ({rec.prompts['n_prompts']} prompts, "
                  f"bank {rec.prompts['bank_hash']}); crop {rec.preprocessing['crop']}, seed {rec.seed}")
    c = rec.cache
    where = c["dir"] if c["disabled_reason"] is None else c["disabled_reason"]
    console.print(f"[bold]audio[/]  {c['audio_computed']} clips embedded, {c['audio_hits']} from cache; "
                  f"text {c['text_computed']} embedded, {c['text_hits']} from cache ({where})")
    # which device ran it: the default follows the machine (a GPU when there is one), so say so
    console.print(f"[bold]device[/] {rec.config.get('device', 'cpu')}")
    precision, compiled = rec.inference
    if (precision, compiled) != ("fp32", False):
        how = " + ".join(([precision] if precision != "fp32" else []) + (["torch.compile"] if compiled else []))
        console.print(f"[bold]inference[/] {how}: embeddings differ from fp32 eager in the last bits; "
                      "cached and ranked apart")
    table = Table(box=None, show_header=True, header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    headline = rec.metrics["headline"]
    for key, value in rec.metrics["values"].items():
        text = "n/a" if value is None else f"{100 * value:.2f}"
        if key == headline and rec.metrics.get("ci"):
            lo, hi = rec.metrics["ci"]
            text += f"  [{100 * lo:.2f}, {100 * hi:.2f}]"
        table.add_row(f"[bold]{key}[/]" if key == headline else key, text)
    console.print(table)
    times = ", ".join(f"{k} {v:.1f}s" for k, v in rec.timings.items())
    console.print(f"[dim]timings: {times}[/]")
    if result.record_path:
        console.print(f"[dim]record: {result.record_path}[/]")
