"""Prompt strategies (installed as ``zsbench.prompt_strategies``); importing registers them."""

from zsbench.prompt_strategies import augmented, description, file, template  # noqa: F401
