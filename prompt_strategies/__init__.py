"""Prompt strategies (installed as ``zsbench.prompt_strategies``); importing registers them.

Every strategy module here is imported (no hand-kept list), so adding a strategy is adding its
module; the bank, quality and generation helpers are not strategies and load when used.
"""

from zsbench.registry import import_modules

MODULES = import_modules(__name__, __path__, helpers=("base", "bank", "quality", "generate", "llm", "presets",
                                                      "import_bank"))
