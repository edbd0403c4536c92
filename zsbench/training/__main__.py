"""``python -m zsbench.training CONFIG [options]``: the entry point torchrun launches on each rank.

    torchrun --nproc-per-node 8 -m zsbench.training reclap-base --set train_csv=train.csv --out runs/reclap
    python -m zsbench.training reclap-base --synthetic --max-steps 300     # GPU throughput and memory
    python -m zsbench.training tiny-cpu --out runs/tiny                     # the offline demo's model

It is ``zsbench train`` itself (the same command, options declared once), without the
``train`` word so that torchrun's ``-m`` can launch it.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    import typer

    from zsbench.cli.main import train_cmd

    solo = typer.Typer(add_completion=False)
    solo.command()(train_cmd)
    try:
        solo(list(sys.argv[1:] if argv is None else argv), prog_name="python -m zsbench.training")
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
