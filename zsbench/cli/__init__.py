"""The command line: it parses, then calls the API (``zsbench.api``, ``runner``, ``sweep``,
the leaderboard); decisions live below it."""

from zsbench.cli.main import main

__all__ = ["main"]
