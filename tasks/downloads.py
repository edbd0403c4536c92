"""Where each dataset is published: ``SOURCES``, a live view of the registry.

Each task module declares its own download source (``TaskMeta.source``, with the checksums its
publisher lists); this mapping reads them from the task registry at each access
(:mod:`zsbench.tasks.catalog`), for code that asks ``SOURCES.get(task)``.
"""

from __future__ import annotations

from zsbench.tasks.catalog import SOURCES

__all__ = ["SOURCES"]
