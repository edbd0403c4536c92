"""``python -m zsbench.cli``: the ``zsbench`` command (what torchrun launches with ``-m``)."""

from zsbench.cli.main import main

main()
