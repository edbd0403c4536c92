"""The ``zsbench`` command: parses arguments, calls the API, prints. No logic of its own."""

from __future__ import annotations

import functools
import inspect
import sys
import typing
from pathlib import Path
from typing import Any, Callable, List, Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Zero-shot audio classification and retrieval benchmarks for CLAP-family models.")

from zsbench.cli.common import USER_ERRORS, console as _console, fail as _fail  # noqa: E402
from zsbench.cli.common import print_entries as _print_entries  # noqa: E402
from zsbench.registry import UnknownNameError  # noqa: E402


@app.callback()
def _each_command(ctx: typer.Context) -> None:
    # Warnings (partial data, a cache turned off) as one clean "warning: ..." line each, for the
    # command line only: restored when the command ends, so zsbench.evaluate keeps Python's own.
    from zsbench.cli.common import install_warning_format

    ctx.call_on_close(install_warning_format())


EXPERIMENT, EXECUTION = "Experiment (identifies the run)", "Execution (where and how it runs)"


# The options `run` and `sweep` share, declared once: (parameter, type, option). Experiment
# options come first (what identifies a run), then execution ones (zsbench/config.py).
def _shared_options() -> list[tuple[str, Any, Any]]:
    O, exp, how = typer.Option, EXPERIMENT, EXECUTION  # noqa: E741
    return [
        ("model", str, O("demo", "--model", "-m", help="adapter name (zsbench models)", rich_help_panel=exp)),
        ("checkpoint", Optional[str], O(None, "--checkpoint", help="local path, URL or Hub id of the weights",
                                        rich_help_panel=exp)),
        ("model_option", List[str], O([], "--model-option", help="KEY=VALUE passed to the adapter", rich_help_panel=exp)),
        ("task", str, O("synthworld", "--task", "-t", help="task name (zsbench tasks)", rich_help_panel=exp)),
        ("data_root", Optional[Path], O(None, "--data-root", help="where the task's data lives", rich_help_panel=exp)),
        ("folds", Optional[str], O(None, "--folds", help="ESC-50 / US8K folds to score, e.g. 1 or 1,2 "
                                   "(= --task-option folds=...)", rich_help_panel=exp)),
        ("task_option", List[str], O([], "--task-option", help="KEY=VALUE passed to the task loader", rich_help_panel=exp)),
        ("prompts", str, O("template", "--prompts", "-p", help="prompt strategy (zsbench prompts)", rich_help_panel=exp)),
        ("prompt_option", List[str], O([], "--prompt-option", help="KEY=VALUE passed to the prompt strategy; a wrong "
                                       "KEY is refused with the strategy's parameters", rich_help_panel=exp)),
        ("n", Optional[int], O(None, "--n", help="prompts sampled per label (augmented); same as --prompt-option n=N",
                               rich_help_panel=exp)),
        ("template", Optional[List[str]], O(None, "--template", help="template(s), repeat to average several; "
                                            "same as --prompt-option templates=...", rich_help_panel=exp)),
        ("bank", Optional[str], O(None, "--bank", help="prompt bank for description/augmented (default: the task's); "
                                  "same as --prompt-option bank=...", rich_help_panel=exp)),
        ("prompt_file", Optional[Path], O(None, "--prompt-file", help="JSON {label: \\[prompts]} for --prompts file; "
                                          "same as --prompt-option path=...", rich_help_panel=exp)),
        ("seed", int, O(0, "--seed", help="seed for prompt sampling and bootstrap", rich_help_panel=exp)),
        ("pooling", str, O("embedding-mean", "--pooling", help="embedding-mean or score-mean", rich_help_panel=exp)),
        ("crop", str, O("seeded", "--crop", help="long clips: seeded, centre, start, chunks, or random (reference)",
                        rich_help_panel=exp)),
        ("crop_seed", int, O(0, "--crop-seed", help="seed for --crop seeded (each clip's crop)", rich_help_panel=exp)),
        ("precision", str, O("fp32", "--precision", help="fp32 (default), bf16 or fp16 autocast for torch models; "
                             "cached apart", rich_help_panel=exp)),
        ("compile_", bool, O(False, "--compile", help="torch.compile the audio tower once per loaded model (inductor, "
                             "dynamic=False): faster on large tasks after a one-off compile; cached apart",
                             rich_help_panel=exp)),
        ("on_bad_audio", str, O("error", "--on-bad-audio", help="error or skip", rich_help_panel=exp)),
        ("bootstrap", int, O(0, "--bootstrap", help="bootstrap resamples for a CI on the headline metric",
                             rich_help_panel=exp)),
        ("device", str, O("auto", "--device", help="auto (cuda:0 where CUDA is available, else cpu), cpu, cuda, "
                                                  "cuda:N or mps", rich_help_panel=how)),
        ("batch_size", int, O(32, "--batch-size", help="clips per forward pass", rich_help_panel=how)),
        ("workers", Optional[int], O(None, "--workers", help="decoding worker processes (default: 0 on CPU, up to 4 "
                                     "with a GPU)", rich_help_panel=how)),
        ("cache_dir", Optional[Path], O(None, "--cache-dir", envvar="ZSBENCH_CACHE", help="embedding cache folder",
                                        rich_help_panel=how)),
        ("no_cache", bool, O(False, "--no-cache", help="neither read nor write the embedding cache", rich_help_panel=how)),
        ("results", Optional[Path], O(None, "--results", envvar="ZSBENCH_RESULTS", help="results store folder",
                                      rich_help_panel=how)),
        ("quiet", bool, O(False, "--quiet", "-q", help="no progress bars", rich_help_panel=how)),
    ]


def _text(path: Optional[Path]) -> Optional[str]:
    return str(path) if path else None


def _run_params(v: dict[str, Any]) -> dict[str, Any]:
    """The shared options' values as RunConfig keywords."""
    from zsbench.config import parse_options

    task_options = parse_options(v["task_option"], "--task-option")
    if v["folds"]:
        task_options["folds"] = v["folds"]
    return dict(model=v["model"], task=v["task"], prompts=v["prompts"], n=v["n"], seed=v["seed"],
                templates=list(v["template"] or []) or None, prompt_file=_text(v["prompt_file"]), bank=v["bank"],
                pooling=v["pooling"], checkpoint=v["checkpoint"], data_root=_text(v["data_root"]),
                batch_size=v["batch_size"], workers=v["workers"], device=v["device"], precision=v["precision"],
                compile=v["compile_"], crop=v["crop"], crop_seed=v["crop_seed"], cache_dir=_text(v["cache_dir"]),
                use_cache=not v["no_cache"], on_bad_audio=v["on_bad_audio"], bootstrap=v["bootstrap"],
                results_dir=_text(v["results"]), progress=not v["quiet"],
                model_options=parse_options(v["model_option"], "--model-option"), task_options=task_options,
                prompt_options=parse_options(v["prompt_option"], "--prompt-option"))


def _with_run_options(command: Callable) -> Callable:
    """Give ``command`` the shared options after its own arguments: it gets their values as
    ``params``, RunConfig keywords (a malformed KEY=VALUE fails as one line)."""
    hints = typing.get_type_hints(command)
    own = [p.replace(annotation=hints.get(p.name, p.annotation))
           for p in inspect.signature(command).parameters.values() if p.name != "params"]
    arguments = [p for p in own if isinstance(p.default, typer.models.ArgumentInfo)]
    shared = [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=option, annotation=kind)
              for name, kind, option in _shared_options()]
    names = [p.name for p in shared]

    @functools.wraps(command)
    def wrapper(**values: Any) -> Any:
        try:
            params = _run_params({name: values.pop(name) for name in names})
        except USER_ERRORS as exc:
            _fail(str(exc))
        return command(params=params, **values)

    signature = [*arguments, *shared, *(p for p in own if p not in arguments)]
    wrapper.__signature__ = inspect.Signature(signature)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in signature}
    return wrapper


@app.command("run")
@_with_run_options
def run_cmd(
    params: dict,
    shard: bool = typer.Option(False, "--shard", help="under torchrun: each rank embeds its share into the shared "
                               "cache; rank 0 writes the one record", rich_help_panel=EXECUTION),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="also write this run's record here",
                                          rich_help_panel=EXECUTION),
    save_predictions: Optional[Path] = typer.Option(None, "--save-predictions", help="per-clip CSV or .parquet",
                                                    rich_help_panel=EXECUTION),
) -> None:
    """Evaluate one model on one task with one prompt strategy, and store the run record."""
    from zsbench.api import evaluate

    console = _console()
    try:
        result = evaluate(**params, shard=shard, output=_text(output), save_predictions=_text(save_predictions))
    except KeyboardInterrupt:
        _fail("interrupted. Embeddings of the batches already finished are cached; run the same command again "
              "to resume.", code=130)
    except USER_ERRORS as exc:
        _fail(str(exc))
    from zsbench.evaluation.report import print_run

    print_run(console, result)


@app.command("models")
def models_cmd() -> None:
    """List model adapters."""
    from zsbench.registry import MODELS

    _print_entries(MODELS, extra=_model_columns)


@app.command("check-model")
def check_model_cmd(
    name: str = typer.Argument(..., help="adapter name (zsbench models) or package.module:Class"),
    checkpoint: Optional[str] = typer.Option(None, "--checkpoint", help="local path, URL or Hub id of the weights"),
    model_option: List[str] = typer.Option([], "--model-option", help="KEY=VALUE passed to the adapter"),
    device: str = typer.Option("auto", "--device", help="auto (cuda:0 where CUDA is available, else cpu), cpu, "
                                                      "cuda, cuda:N or mps"),
    crop: str = typer.Option("seeded", "--crop", help="long clips: the run's crop (seeded, centre, start, chunks, "
                             "random)"),
) -> None:
    """Check that an adapter keeps the model contract (shapes, unit norm, determinism, batch
    invariance, short and long clips) on generated audio; exit status 1 if any check fails."""
    from zsbench.config import RunConfig, load_options, parse_options
    from zsbench.conformance import failures, load_model, results_table, run_checks

    try:
        config = RunConfig(model=name, checkpoint=checkpoint, device=device, crop=crop,
                           model_options=parse_options(model_option, "--model-option"))
        config.validate()  # --crop
        model = load_model(name, load_options(config))
    except USER_ERRORS as exc:
        _fail(str(exc))
    results = run_checks(model, crop=crop)
    console = _console()
    console.print(results_table(results))
    failed = failures(results)
    console.print(f"{name}: {len(failed)} of {len(results)} checks failed" if failed else
                  f"{name}: all {len(results)} checks passed", markup=False)
    if failed:
        raise typer.Exit(1)


@app.command("tasks")
def tasks_cmd() -> None:
    """List tasks."""
    from zsbench.registry import TASKS

    _print_entries(TASKS)


from zsbench.cli.prompts import prompts_app  # noqa: E402

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
    from zsbench.runtime.fsutil import atomic_write
    from zsbench.leaderboard.render import render, write_plot
    from zsbench.evaluation.results import ResultsStore

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
@_with_run_options
def sweep_cmd(
    params: dict,
    grid: List[str] = typer.Argument(..., help="NAME=VALUES axes: N=1..5, seed=0,1,2, model=a,b, task=..., prompts=..., "
                                    "task_options.KEY=..., prompt_options.KEY=..."),
    sweep_id: Optional[str] = typer.Option(None, "--sweep-id", help="name the sweep (default: a hash of the command's settings, so re-running resumes)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="list the points in run order and exit"),
) -> None:
    """Run a grid of configurations, one stored record per point; re-running resumes.

    The options set the base every point starts from; a grid axis overrides its option."""
    from zsbench.api import plan_sweep, run_sweep

    console = _console()

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
        plan = plan_sweep(list(grid), sweep_id, **params)
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


class _DownloadCommand(typer.core.TyperCommand):
    """`data download --help` ends with the tasks it fetches, read from the task registry when shown."""

    @property
    def epilog(self) -> str:
        from zsbench.tasks.catalog import download_help

        return download_help()

    @epilog.setter
    def epilog(self, value) -> None:  # click sets it on construction; the registry's list is the epilog
        pass


@data_app.command("download", cls=_DownloadCommand)
def data_download_cmd(task: str = typer.Argument(..., help="task id, e.g. esc50"),
                      data_root: Optional[Path] = typer.Option(None, "--data-root"),
                      source_opt: Optional[str] = typer.Option(
                          None, "--source", help="hf:OWNER/NAME[@REV]: a faithful copy in a Hugging Face datasets "
                                                 "repository instead of the official archive")) -> None:
    """Download, verify (md5/sha256) and extract a dataset; resumes after an interruption."""
    from zsbench.data.datasets import CorruptArchive
    from zsbench.data.download import DownloadError
    from zsbench.tasks.catalog import fetch

    try:
        root = fetch(task, source_opt, data_root)
    except (UnknownNameError, DownloadError, CorruptArchive, ValueError) as exc:
        _fail(str(exc))
    _console().print(f"{task}: ready in {root}. Check it with `zsbench data verify {task}`.")


@data_app.command("verify")
def data_verify_cmd(task: str = typer.Argument(..., help="task id, e.g. esc50"),
                    data_root: Optional[Path] = typer.Option(None, "--data-root")) -> None:
    """Count listed and present clips, check known checksums, and read every audio header."""
    from zsbench.data.datasets import verify
    from zsbench.tasks import catalog

    try:
        report = verify(task, catalog.source(task), data_root)
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


@app.command("train")
def train_cmd(
    config: str = typer.Argument(..., help="training configuration: tiny-cpu (the demo's model, minutes on a CPU), "
                                           "reclap-base, laion-base (the recipe at GPU scale)"),
    out: Optional[Path] = typer.Option(None, "--out", help="run folder (default runs/CONFIG)"),
    overrides: Optional[List[str]] = typer.Option(None, "--set", metavar="KEY=VALUE",
                                                  help="override a config field (JSON values; model.KEY for model "
                                                       "options); repeatable"),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", help="shorthand for --set max_steps=N (also caps "
                                            "warmup_steps at N/10 and checkpoint_every at N)"),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="global batch size (shorthand for --set)"),
    resume: bool = typer.Option(False, "--resume", help="continue the run in --out from its last checkpoint"),
    stop_after: Optional[int] = typer.Option(None, "--stop-after", help="stop after N steps of this session, with a "
                                             "checkpoint (resume later)"),
    synthetic: bool = typer.Option(False, "--synthetic", help="random inputs of the real shapes, no data or "
                                   "tokenizer (throughput/memory)"),
    device: Optional[str] = typer.Option(None, "--device", help="default: cuda:LOCAL_RANK when CUDA is available, "
                                         "else cpu"),
    threads: Optional[int] = typer.Option(None, "--threads", help="torch CPU threads"),
    no_save: bool = typer.Option(False, "--no-save", help="write no checkpoints or export (throughput runs)"),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bars"),
) -> None:
    """Train a CLAP with the ReCLAP recipe; on N GPUs: torchrun --nproc-per-node N -m zsbench.training
    CONFIG (the same options)."""
    import json
    import os

    from zsbench.training.launch import launch

    try:
        result = launch(config, out, overrides or [], max_steps, batch_size, resume, stop_after, synthetic, device,
                        threads, save=not no_save, progress=not quiet)
    except (ValueError, FileExistsError, FileNotFoundError) as exc:
        _fail(str(exc))
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(result, indent=1))


def main() -> None:
    app()

