"""Model adapters (installed as ``zsbench.adapters``); importing this package registers them.

Every module here is imported (no hand-kept list): an adapter module registers itself as it is
imported, so adding a model is adding its module. Third-party adapters use the
``zsbench.adapters`` entry-point group instead.
"""

from zsbench.registry import import_modules

MODULES = import_modules(__name__, __path__, helpers=("base", "training_data"))
