"""What every ``zsbench`` sub-command shares: how it prints, fails and lists a registry."""

from __future__ import annotations

import sys
import warnings

import typer

from zsbench.registry import UnknownNameError

# Errors that mean "the input is wrong": printed as one clear line, exit status 2. Anything
# else is a bug and keeps its traceback.
USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, FileNotFoundError, UnknownNameError, NotImplementedError)


def console():
    from rich.console import Console

    return Console(stderr=False, highlight=False)


def fail(message: str, code: int = 2) -> None:
    from rich.console import Console
    from rich.markup import escape

    # escaped: messages quote paths and forms such as hf://REPO[/FILE], which are not markup
    Console(stderr=True, highlight=False).print(f"[bold red]error:[/] {escape(message)}", markup=True, soft_wrap=True)
    raise typer.Exit(code)


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """``warnings.showwarning`` for the command line: ``warning: <message>`` on stderr, no
    category, file, line number or source line. A message's own line breaks (hints) are kept."""
    from rich.console import Console
    from rich.markup import escape

    text = str(message).rstrip("\n")
    if file is not None and file is not sys.stderr:  # someone asked for another stream: plain text there
        try:
            file.write(f"warning: {text}\n")
        except OSError:
            pass
        return
    Console(stderr=True, highlight=False).print(f"[bold yellow]warning:[/] {escape(text)}", markup=True, soft_wrap=True)


def install_warning_format():
    """Show warnings as :func:`show_warning` does, until the returned function is called.

    For the command line only (installed when a ``zsbench`` command starts, restored when it
    ends); the library API (``zsbench.evaluate``) keeps Python's own warning display."""
    previous = warnings.showwarning
    warnings.showwarning = show_warning

    def restore() -> None:
        if warnings.showwarning is show_warning:
            warnings.showwarning = previous

    return restore


def report_failures(out, failures, total: int, ok: bool) -> None:
    say = console().print
    failures = list(failures)
    say(f"wrote {out} ({total - len(failures)} of {total} done)" if out else "nothing written", markup=False)
    for what, reason in failures[:50]:
        say(f"  failed: {what}: {reason}", markup=False)
    if not ok:
        raise typer.Exit(1)


def print_entries(registry, extra=None) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("name", no_wrap=True)
    if extra:
        for col in ("rate", "clip", "template"):
            table.add_column(col, no_wrap=col != "template")
    table.add_column("description")
    for entry in registry.entries():
        cells = [entry.name]
        if extra:
            cells += extra(registry.get(entry.name))
        table.add_row(*map(escape, cells), escape(entry.description))
    console().print(table)
