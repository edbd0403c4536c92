"""Tasks (installed as ``zsbench.tasks``); importing this package registers them."""

from zsbench.tasks import folder, synthworld  # noqa: F401
