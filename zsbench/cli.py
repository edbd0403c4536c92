"""The ``zsbench`` command: parses arguments, calls the API, prints. No logic of its own."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Zero-shot audio classification and retrieval benchmarks for CLAP-family models.")

from zsbench.cli_common import USER_ERRORS, console as _console, fail as _fail  # noqa: E402
from zsbench.cli_common import print_entries as _print_entries  # noqa: E402
from zsbench.registry import UnknownNameError  # noqa: E402


@app.callback()
def _each_command(ctx: typer.Context) -> None:
    # Warnings (partial data, a cache turned off) as one clean "warning: ..." line each, for the
    # command line only: restored when the command ends, so zsbench.evaluate keeps Python's own.
    from zsbench.cli_common import install_warning_format

    ctx.call_on_close(install_warning_format())


def _parse_kv(pairs: list[str], flag: str) -> dict:
    from zsbench.runner import parse_option_value

    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            _fail(f"{flag} {pair!r}: expected KEY=VALUE")
        out[key.replace("-", "_")] = parse_option_value(value)
    return out


@app.command("run")
def run_cmd(
    model: str = typer.Option("demo", "--model", "-m", help="adapter name (zsbench models)"),
    task: str = typer.Option("synthworld", "--task", "-t", help="task name (zsbench tasks)"),
    prompts: str = typer.Option("template", "--prompts", "-p", help="prompt strategy (zsbench prompts)"),
    n: Optional[int] = typer.Option(None, "--n", help="prompts sampled per label (augmented strategies)"),
    seed: int = typer.Option(0, "--seed", help="seed for prompt sampling and bootstrap"),
    crop_seed: int = typer.Option(0, "--crop-seed", help="seed for --crop seeded (each clip's crop)"),
    template: Optional[List[str]] = typer.Option(None, "--template", help="template(s); repeat to average several"),
    prompt_file: Optional[Path] = typer.Option(None, "--prompt-file", help="JSON {label: [prompts]} for --prompts file"),
    bank: Optional[str] = typer.Option(None, "--bank", help="prompt bank for description/augmented (default: the task's)"),
    pooling: str = typer.Option("embedding-mean", "--pooling", help="embedding-mean or score-mean"),
    checkpoint: Optional[str] = typer.Option(None, "--checkpoint", help="local path, URL or Hub id of the weights"),
    data_root: Optional[Path] = typer.Option(None, "--data-root", help="where the task's data lives"),
    folds: Optional[str] = typer.Option(None, "--folds", help="ESC-50 / US8K folds to score, e.g. 1 or 1,2"),
    batch_size: int = typer.Option(32, "--batch-size"),
    workers: Optional[int] = typer.Option(None, "--workers", help="decoding worker processes (default: 0 on CPU, up to 4 with a GPU)"),
    device: str = typer.Option("cpu", "--device"),
    precision: str = typer.Option("fp32", "--precision", help="fp32 (default), bf16 or fp16 autocast for torch models; cached apart"),
    compile_: bool = typer.Option(False, "--compile", help="torch.compile the audio tower (inductor, dynamic=False): "
                                  "faster on large tasks after a one-off compile; cached apart"),
    shard: bool = typer.Option(False, "--shard", help="under torchrun: each rank embeds its share into the shared cache; rank 0 writes the one record"),
    crop: str = typer.Option("seeded", "--crop", help="long clips: seeded, centre, start, chunks, or random (reference)"),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", envvar="ZSBENCH_CACHE"),
    no_cache: bool = typer.Option(False, "--no-cache", help="neither read nor write the embedding cache"),
    on_bad_audio: str = typer.Option("error", "--on-bad-audio", help="error or skip"),
    bootstrap: int = typer.Option(0, "--bootstrap", help="bootstrap resamples for a CI on the headline metric"),
    results: Optional[Path] = typer.Option(None, "--results", envvar="ZSBENCH_RESULTS", help="results store folder"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="also write this run's record here"),
    save_predictions: Optional[Path] = typer.Option(None, "--save-predictions", help="per-clip CSV or .parquet"),
    model_option: List[str] = typer.Option([], "--model-option", help="KEY=VALUE passed to the adapter"),
    task_option: List[str] = typer.Option([], "--task-option", help="KEY=VALUE passed to the task loader"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bars"),
) -> None:
    """Evaluate one model on one task with one prompt strategy, and store the run record."""
    from zsbench.api import evaluate

    console = _console()
    try:
        result = evaluate(
            model=model, task=task, prompts=prompts, n=n, seed=seed, templates=list(template or []) or None,
            prompt_file=str(prompt_file) if prompt_file else None, bank=bank, pooling=pooling, checkpoint=checkpoint,
            data_root=str(data_root) if data_root else None, batch_size=batch_size, workers=workers,
            device=device, precision=precision, compile=compile_, shard=shard, crop=crop, crop_seed=crop_seed,
            cache_dir=str(cache_dir) if cache_dir else None, use_cache=not no_cache,
            on_bad_audio=on_bad_audio, bootstrap=bootstrap, results_dir=str(results) if results else None,
            output=str(output) if output else None,
            save_predictions=str(save_predictions) if save_predictions else None, progress=not quiet,
            model_options=_parse_kv(model_option, "--model-option"),
            task_options={**_parse_kv(task_option, "--task-option"), **({"folds": folds} if folds else {})},
        )
    except KeyboardInterrupt:
        _fail("interrupted. Embeddings of the batches already finished are cached; run the same command again "
              "to resume.", code=130)
    except USER_ERRORS as exc:
        _fail(str(exc))
    from zsbench.report import print_run

    print_run(console, result)


@app.command("models")
def models_cmd() -> None:
    """List model adapters."""
    from zsbench.registry import MODELS

    _print_entries(MODELS, extra=_model_columns)


@app.command("tasks")
def tasks_cmd() -> None:
    """List tasks."""
    from zsbench.registry import TASKS

    _print_entries(TASKS)


from zsbench.cli_prompts import prompts_app  # noqa: E402

app.add_typer(prompts_app, name="prompts")


def _model_columns(target) -> list[str]:
    meta = getattr(target, "meta", None)
    if meta is None:
        return ["", "", ""]
    return [f"{meta.sample_rate / 1000:g} kHz", f"{meta.clip.seconds:g} s", " | ".join(meta.templates)]


@app.command("leaderboard")
def leaderboard_cmd(
    results: Optional[Path] = typer.Option(None, "--results", envvar="ZSBENCH_RESULTS", help="results store folder"),
    table: str = typer.Option("classification", "--table", help="classification (Table II), retrieval (Table I) or sweep (Table IV)"),
    fmt: str = typer.Option("md", "--format", help="md, csv, json, or html (one self-contained page with every table and the plots)"),
    aggregate: str = typer.Option("latest", "--aggregate", help="latest run per cell, or mean ± std of comparable runs"),
    ci: bool = typer.Option(False, "--ci", help="show the bootstrap CI stored with each run"),
    tasks: Optional[List[str]] = typer.Option(None, "--tasks", help="columns, in this order (repeat or comma-separate)"),
    models: Optional[List[str]] = typer.Option(None, "--models", help="only these models (repeat or comma-separate)"),
    explain: bool = typer.Option(False, "--explain", help="list the runs behind each cell"),
    published: bool = typer.Option(False, "--published", help="add the published numbers and our difference to them"),
    sweep: Optional[str] = typer.Option(None, "--sweep", help="sweep id (or prefix) for --table sweep; default: the latest"),
    plot: Optional[Path] = typer.Option(None, "--plot", help="also draw a figure (.png/.svg/.pdf): the sweep curve, or --compare's per-class bars"),
    compare: Optional[List[str]] = typer.Option(None, "--compare", help="two run ids for the per-class figure (repeat)"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="write the table or page here instead of stdout"),
) -> None:
    """Render the stored runs as one of the paper's tables, beside the published numbers if asked."""
    from zsbench.fsutil import atomic_write
    from zsbench.leaderboard.render import render, write_plot
    from zsbench.results import ResultsStore

    if aggregate not in ("latest", "mean"):
        _fail("--aggregate: choose latest or mean")
    split = lambda items: [x.strip() for item in items or [] for x in item.split(",") if x.strip()] or None  # noqa: E731
    opts = dict(table=table, aggregate=aggregate, tasks=split(tasks), models=split(models), published=published,
                sweep=sweep, compare=list(compare or []) or None)
    try:
        records = list(ResultsStore(results).records())
        text = render(records, fmt=fmt, show_ci=ci, explain=explain, **opts)
        if plot:
            write_plot(records, plot, **opts)
    except ValueError as exc:
        _fail(str(exc))
    if output:
        with atomic_write(output) as f:
            f.write(text)
        _console().print(f"wrote {output}", markup=False)
    else:
        sys.stdout.write(text)
    if plot:
        _console().print(f"wrote {plot}", markup=False)


@app.command("sweep")
def sweep_cmd(
    grid: List[str] = typer.Argument(..., help="NAME=VALUES axes: N=1..5, seed=0,1,2, model=a,b, task=..., prompts=..., task_options.KEY=..."),
    model: str = typer.Option("demo", "--model", "-m", help="adapter name, unless the grid varies model"),
    task: str = typer.Option("synthworld", "--task", "-t"),
    prompts: str = typer.Option("template", "--prompts", "-p"),
    n: Optional[int] = typer.Option(None, "--n", help="prompts per label, unless the grid varies N"),
    seed: int = typer.Option(0, "--seed"),
    bank: Optional[str] = typer.Option(None, "--bank"),
    pooling: str = typer.Option("embedding-mean", "--pooling"),
    checkpoint: Optional[str] = typer.Option(None, "--checkpoint"),
    data_root: Optional[Path] = typer.Option(None, "--data-root"),
    batch_size: int = typer.Option(32, "--batch-size"),
    workers: Optional[int] = typer.Option(None, "--workers"),
    device: str = typer.Option("cpu", "--device"),
    precision: str = typer.Option("fp32", "--precision", help="fp32, bf16 or fp16 autocast (or a grid axis precision=...)"),
    compile_: bool = typer.Option(False, "--compile", help="torch.compile each model's audio tower once (or a grid axis compile=false,true)"),
    crop: str = typer.Option("seeded", "--crop"),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", envvar="ZSBENCH_CACHE"),
    on_bad_audio: str = typer.Option("error", "--on-bad-audio"),
    bootstrap: int = typer.Option(0, "--bootstrap"),
    results: Optional[Path] = typer.Option(None, "--results", envvar="ZSBENCH_RESULTS"),
    model_option: List[str] = typer.Option([], "--model-option", help="KEY=VALUE passed to the adapter"),
    task_option: List[str] = typer.Option([], "--task-option", help="KEY=VALUE passed to the task loader"),
    sweep_id: Optional[str] = typer.Option(None, "--sweep-id", help="name the sweep (default: a hash of the command's settings, so re-running resumes)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="list the points in run order and exit"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bars"),
) -> None:
    """Run a grid of configurations, one stored record per point; re-running resumes."""
    from zsbench.runner import RunConfig
    from zsbench.sweep import Sweep, run_sweep

    console = _console()
    base = RunConfig(model=model, task=task, prompts=prompts, n=n, seed=seed, bank=bank, pooling=pooling,
                     checkpoint=checkpoint, data_root=str(data_root) if data_root else None, batch_size=batch_size,
                     workers=workers, device=device, precision=precision, compile=compile_, crop=crop, cache_dir=str(cache_dir) if cache_dir else None,
                     on_bad_audio=on_bad_audio, bootstrap=bootstrap, results_dir=str(results) if results else None,
                     progress=not quiet, model_options=_parse_kv(model_option, "--model-option"),
                     task_options=_parse_kv(task_option, "--task-option"))

    def show(outcome, total: int) -> None:
        rec = outcome.record
        key, value = rec.headline
        score = "n/a" if value is None else f"{100 * value:.2f}"
        what = ("already stored" if outcome.reused else
                f"audio {rec.cache.get('audio_computed', 0)} embedded, {rec.cache.get('audio_hits', 0)} reused; "
                f"{outcome.seconds:.1f} s")
        console.print(f"[{outcome.index + 1}/{total}] {plan.label(outcome.point)}: {rec.task['id']} {key} {score} "
                      f"({what})", markup=False, soft_wrap=True)

    try:
        plan = Sweep.plan(base, list(grid), sweep_id)
        if dry_run:
            for i, point in enumerate(plan.points):
                console.print(f"[{i + 1}/{len(plan.points)}] {plan.label(point)}", markup=False)
            return
        report = run_sweep(plan, on_point=show)
    except KeyboardInterrupt:
        _fail("interrupted. Finished points are stored; run the same command again to resume.", code=130)
    except USER_ERRORS as exc:
        _fail(str(exc))
    console.print(report.summary(), markup=False, soft_wrap=True)
    console.print(f"table: zsbench leaderboard --table sweep --sweep {plan.sweep_id}", markup=False)


data_app = typer.Typer(no_args_is_help=True, help="Download and verify datasets.")
app.add_typer(data_app, name="data")


def _source(task: str):
    from zsbench.registry import TASKS
    from zsbench.tasks.downloads import SOURCES

    if task not in TASKS:
        TASKS.get(task)  # raises with the valid names
    return SOURCES.get(task)


@data_app.command("download")
def data_download_cmd(task: str = typer.Argument(..., help="task id, e.g. esc50"),
                      data_root: Optional[Path] = typer.Option(None, "--data-root"),
                      source_opt: Optional[str] = typer.Option(
                          None, "--source", help="hf:OWNER/NAME[@REV]: a faithful copy in a Hugging Face datasets "
                                                 "repository instead of the official archive")) -> None:
    """Download, verify (md5/sha256) and extract a dataset; resumes after an interruption."""
    from zsbench.datasets import CorruptArchive, download_dataset
    from zsbench.download import DownloadError
    from zsbench.paths import data_dir

    try:
        source = _source(task)
        if source_opt:
            from zsbench.hub_datasets import download_from_hub

            root = download_from_hub(task, source_opt, data_root or data_dir() / task)
        elif source is None:
            _fail(f"no download is known for {task!r}; put its files under --data-root yourself")
        else:
            root = download_dataset(task, source, data_root)
    except (UnknownNameError, DownloadError, CorruptArchive, ValueError) as exc:
        _fail(str(exc))
    _console().print(f"{task}: ready in {root}. Check it with `zsbench data verify {task}`.")


@data_app.command("verify")
def data_verify_cmd(task: str = typer.Argument(..., help="task id, e.g. esc50"),
                    data_root: Optional[Path] = typer.Option(None, "--data-root")) -> None:
    """Count listed and present clips, check known checksums, and read every audio header."""
    from zsbench.datasets import verify

    try:
        report = verify(task, _source(task), data_root)
    except UnknownNameError as exc:
        _fail(str(exc))
    console = _console()
    console.print(f"{task} in {report.root}: {report.present} of {report.listed} listed clips present")
    for rel, status in report.checksums.items():
        console.print(f"  {rel}: {status}")
    for line in report.unreadable[:20]:
        console.print(f"  unreadable: {line}")
    if len(report.unreadable) > 20:
        console.print(f"  ... and {len(report.unreadable) - 20} more unreadable files")
    for problem in report.problems:
        console.print(f"  problem: {problem}")
    if not report.ok:
        raise typer.Exit(1)


@app.command("train", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def train_cmd(ctx: typer.Context, config: str = typer.Argument(..., help="tiny-cpu or reclap-base")) -> None:
    """Train a CLAP with the ReCLAP recipe (options: python -m zsbench.training --help; multi-GPU:
    torchrun --nproc-per-node N -m zsbench.training CONFIG)."""
    from zsbench.training.__main__ import main as train_main

    raise typer.Exit(train_main([config, *ctx.args]))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
