"""zsbench: zero-shot audio classification and retrieval benchmarks for CLAP-family models."""

from __future__ import annotations

__version__ = "0.1.0"


def evaluate(*args, **kwargs):
    """See :func:`zsbench.api.evaluate` (imported lazily to keep ``import zsbench`` light)."""
    from zsbench.api import evaluate as _evaluate

    return _evaluate(*args, **kwargs)


__all__ = ["evaluate", "__version__"]
