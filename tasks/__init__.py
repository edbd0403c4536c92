"""Tasks (installed as ``zsbench.tasks``); importing this package registers them.

Every module of this package is imported here (found with :mod:`pkgutil`, no hand-kept list):
a task module registers its loader and its :class:`~zsbench.tasks.base.TaskMeta` as it is
imported. Modules whose name starts with ``_`` are helpers and are not imported here.
Third-party tasks register through the ``zsbench.tasks`` entry-point group instead.
"""

import importlib
import pkgutil


def _discover() -> list[str]:
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
    for name in names:
        importlib.import_module(f"{__name__}.{name}")
    return names


MODULES = _discover()  # the modules imported, in name order
