"""The run pipeline above the plug-ins: embed (with its cache), score, compute metrics, store
the record; sweeps over it. ``zsbench.api`` and the CLI call ``runner.run`` and ``sweep``."""
