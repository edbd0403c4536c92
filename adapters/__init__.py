"""Model adapters (installed as ``zsbench.adapters``); importing this package registers them."""

from zsbench.adapters import demo, hf_clap, laion, msclap, reclap  # noqa: F401
