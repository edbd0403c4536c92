"""``zsbench prompts ...``: list strategies; show, measure, import and generate prompt banks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from zsbench.cli.common import USER_ERRORS, console, fail, print_entries, report_failures

prompts_app = typer.Typer(help="Prompt strategies and prompt banks.")


@prompts_app.callback(invoke_without_command=True)
def prompts_cmd(ctx: typer.Context) -> None:
    """List prompt strategies (subcommands: show, stats, import, generate, rewrite-captions)."""
    if ctx.invoked_subcommand is None:
        from zsbench.registry import PROMPTS

        print_entries(PROMPTS)


@prompts_app.command("show")
def prompts_show_cmd(bank: str = typer.Argument(..., help="a shipped bank (task id, e.g. esc50) or a bank file"),
                     label: Optional[str] = typer.Option(None, "--label", help="one label's entry")) -> None:
    """Print a prompt bank's provenance, or one label's descriptions and captions."""
    from zsbench.prompt_strategies.bank import BankError, load_bank

    try:
        loaded = load_bank(bank)
        entry = loaded.labels if label is None else {label: loaded._entry(label)}
    except BankError as exc:
        fail(str(exc))
    out = console()
    out.print(f"[bold]{loaded.path}[/] task {loaded.task}, {len(loaded.labels)} labels, sha256 {loaded.sha256}",
              markup=True, highlight=False)
    if label is None:
        for key, value in loaded.provenance.items():
            out.print(f"  {key}: {value}", markup=False)
        return
    for lab, descriptions in entry.items():
        out.print(f"[bold]{lab}[/]", markup=True)
        for i, d in enumerate(descriptions, start=1):
            out.print(f"  {i}. {d['text']}", markup=False)
            for caption in d.get("captions", []):
                out.print(f"       - {caption}", markup=False)


STATS_COLUMNS = [("bank", "name"), ("labels", "labels"), ("desc/label min", "descriptions_min"),
                 ("desc/label median", "descriptions_median"), ("captions/label min", "captions_min"),
                 ("captions/label median", "captions_median"), ("exact dup", "exact_duplicates"),
                 ("near dup", "near_duplicates"), ("words/prompt", "mean_words"),
                 ("distinct words", "distinct_word_ratio"), ("avoided words", "avoided_words"),
                 ("leaks", "leaks"), ("leaks allowed", "leaks_allowed"), ("empty", "empty"),
                 ("over-long", "over_long")]


@prompts_app.command("stats")
def prompts_stats_cmd(
    banks: Optional[List[str]] = typer.Argument(None, help="shipped banks (task ids) or bank files; default: every shipped bank"),
    leaks: bool = typer.Option(False, "--leaks", help="also list each prompt that names another label"),
    fmt: str = typer.Option("md", "--format", help="md or json"),
) -> None:
    """Measure prompt banks: counts, duplicates, length, vocabulary, avoided words, cross-label leakage.

    Duplicates are within a label, after lower-casing and stripping punctuation ("near"); avoided
    words count captions with "heard" or "sound(s)"; a leak is a prompt for one label that names
    another label of the task, beyond the bank's declared synonyms and reasoned allowances."""
    from zsbench.prompt_strategies.bank import BANKS_DIR, BankError, load_bank
    from zsbench.prompt_strategies.quality import bank_stats

    names = banks or sorted(p.stem for p in BANKS_DIR.glob("*.json"))
    rows, found = [], {}
    try:
        for name in names:
            bank = load_bank(name)
            stats, bank_leaks = bank_stats(Path(name).stem, bank.labels, bank.synonyms, bank.allowances)
            rows.append(stats.row())
            found[stats.name] = bank_leaks
    except BankError as exc:
        fail(str(exc))
    if fmt == "json":
        console().print_json(json.dumps({"banks": rows, "leaks": {k: [vars(x) for x in v] for k, v in found.items()}
                                         if leaks else {}}))
        return
    if fmt != "md":
        fail(f"--format {fmt!r}: choose md or json")
    lines = ["| " + " | ".join(h for h, _ in STATS_COLUMNS) + " |", "|---|" + "---:|" * (len(STATS_COLUMNS) - 1)]
    lines += ["| " + " | ".join(f"{row[key]:g}" if isinstance(row[key], float) else str(row[key])
                                for _, key in STATS_COLUMNS) + " |" for row in rows]
    if leaks:
        lines += [f"{name}: {leak.label!r} names {leak.other!r} ({leak.name!r}): {leak.prompt}"
                  for name, bank_leaks in found.items() for leak in bank_leaks]
    typer.echo("\n".join(lines))  # a Markdown table: never wrapped to the terminal's width


@prompts_app.command("import")
def prompts_import_cmd(
    stage2: Path = typer.Argument(..., help="the authors' stage-2 output: JSON lines {label, rewrites}"),
    task: str = typer.Option(..., "--task", help="task whose label names the bank uses"),
    stage1: Optional[Path] = typer.Option(None, "--stage1", help="the authors' stage-1 output (descriptions), same line order"),
    out: Path = typer.Option(..., "--output", "-o", help="bank file to write"),
    data_root: Optional[Path] = typer.Option(None, "--data-root", help="the task's data (only for tasks whose labels live in it)"),
) -> None:
    """Write a bank from the ReCLAP authors' two-stage JSON lines (prompts/stage_1.py, stage_2.py)."""
    from zsbench.runtime.fsutil import atomic_write
    from zsbench.prompt_strategies.bank import BankError
    from zsbench.prompt_strategies.import_bank import import_authors_bank

    try:
        bank, report = import_authors_bank(stage2, task, task_labels(task, data_root), stage1)
    except (*USER_ERRORS, BankError, OSError) as exc:
        fail(str(exc))
    with atomic_write(out) as f:
        f.write(bank.to_json() + "\n")
    say = typer.echo  # plain lines: file paths and label lists are never wrapped
    say(f"wrote {out}: {report.labels} labels, {report.captions} captions, sha256 {bank.sha256}")
    if report.errors:
        say(f"  skipped {len(report.errors)} \"Error\" replies (descriptions kept without captions), "
            f"e.g. {report.errors[0]}")
    if report.unknown_labels:
        say(f"  skipped {len(report.unknown_labels)} label(s) task {task} does not have: "
            f"{', '.join(report.unknown_labels[:10])}")
    if report.missing_labels:
        say(f"  {len(report.missing_labels)} task label(s) have no entry: {', '.join(report.missing_labels[:10])}")


def task_labels(task: str, data_root: Path | None) -> list[str]:
    """A task's labels: its fixed list where it has one, else read from its data."""
    from zsbench.registry import TASKS
    from zsbench.tasks.metadata import label_names

    try:
        return label_names(task)
    except ValueError:
        return TASKS.get(task)(data_root=str(data_root) if data_root else None).labels


@prompts_app.command("generate")
def prompts_generate_cmd(
    task: str = typer.Option(..., "--task", help="task whose labels get prompts"),
    llm: str = typer.Option(..., "--llm", help="openai:MODEL (any OpenAI-compatible endpoint) or hf:MODEL_ID"),
    preset: str = typer.Option("paper", "--preset", help="paper (what the paper's two stages ask) or strict"),
    t: int = typer.Option(5, "--t", help="descriptions per label (stage 1)"),
    n: int = typer.Option(10, "--n", help="scene captions per description (stage 2)"),
    out: Optional[Path] = typer.Option(None, "--out", help="bank file to write (default: <task>.json here)"),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="vLLM, Ollama, llama.cpp server ..."),
    api_key_env: str = typer.Option("OPENAI_API_KEY", "--api-key-env", help="environment variable with the key"),
    concurrency: int = typer.Option(4, "--concurrency"),
    data_root: Optional[Path] = typer.Option(None, "--data-root", help="where the task's data lives"),
) -> None:
    """Write a prompt bank with the paper's two-stage LLM pipeline (resumes from its cache)."""
    from zsbench.prompt_strategies.generate import generate_bank
    from zsbench.prompt_strategies.llm import LLMError, make_llm

    try:
        labels = task_labels(task, data_root)
        report = generate_bank(task, labels, make_llm(llm, base_url=base_url, api_key_env=api_key_env),
                               out=out or Path(f"{task}.json"), t=t, n=n, concurrency=concurrency, preset=preset)
    except (*USER_ERRORS, LLMError) as exc:
        fail(str(exc))
    report_failures(report.out, report.failures.items(), len(labels), report.ok)


@prompts_app.command("rewrite-captions")
def prompts_rewrite_cmd(
    csv_in: Path = typer.Argument(..., help="CSV with path, caption columns"),
    llm: str = typer.Option(..., "--llm", help="openai:MODEL or hf:MODEL_ID (the paper: Llama-3.1-8B-Instruct)"),
    out: Path = typer.Option(..., "--out", help="CSV to write, with a rewritten_captions JSON column"),
    k: int = typer.Option(4, "--k", help="rewrites per caption"),
    base_url: Optional[str] = typer.Option(None, "--base-url"),
    api_key_env: str = typer.Option("OPENAI_API_KEY", "--api-key-env"),
) -> None:
    """Rewrite training captions to describe each sound's characteristics (for the training recipe)."""
    from zsbench.prompt_strategies.generate import rewrite_captions
    from zsbench.prompt_strategies.llm import LLMError, make_llm

    try:
        report = rewrite_captions(csv_in, out, make_llm(llm, base_url=base_url, api_key_env=api_key_env), k=k)
    except (*USER_ERRORS, LLMError) as exc:
        fail(str(exc))
    report_failures(report.out, ((f"row {f.row} ({f.path})", f.reason) for f in report.failures), report.rows,
                    report.ok)
