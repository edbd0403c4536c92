"""A run's settings in one place: what identifies the experiment, kept apart from how it executes.

``RunConfig`` stays one flat dataclass (its fields are a run record's ``config`` and the keywords
of ``zsbench.evaluate``), but every field belongs to one of two parts:

- the **experiment**: what the result depends on. Model, weights (``checkpoint``), model options,
  task, its data and options, prompt strategy and its parameters (``n``, ``templates``, ``bank``,
  ``prompt_file``, ``prompt_options``), ``seed``, ``pooling``, crop mode and crop seed,
  precision, compile, bad-audio policy, bootstrap;
- the **execution**: where and how it runs, which never changes a number. Workers, batch size,
  cache folder and whether to use it, results store, output files, progress, shard. Two
  execution settings can still move a metric in its last digits, the ``device`` (GPU and CPU
  arithmetic differ) and ``cache_dtype`` (float16 cache rows), so they count in a run's identity.

What does not identify a run (``NOT_IDENTITY``, left out of a sweep's id) is read off the fields,
not kept by hand. The three translations of a config every entry point uses live here too:
``load_options`` (what the adapter gets), ``strategy_arguments`` (what the prompt strategy gets)
and ``task_arguments`` (what the task loader gets); ``zsbench run``, ``zsbench sweep`` and
``zsbench.evaluate`` all go through them.
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import asdict, dataclass, field
from typing import Any

EXPERIMENT, EXECUTION = "experiment", "execution"
AUTO_DEVICE = "auto"


def resolve_device(device: str | None) -> str:
    """The device a run gets: ``auto`` (or None) means ``cuda:0`` where torch sees a CUDA GPU and
    ``cpu`` otherwise, so a user with a GPU uses it without asking; any other name (``cpu``,
    ``cuda:1``, ``mps``) is kept as given, so ``--device cpu`` still forces the CPU. The one
    place ``auto`` is resolved: records, sweep ids and the worker default (which follows the
    device) only ever see a concrete name."""
    if device not in (None, AUTO_DEVICE):
        return device
    import torch

    return "cuda:0" if torch.cuda.is_available() else "cpu"


def _execution(default: Any = dataclasses.MISSING, *, moves_numbers: bool = False) -> Any:
    """A field of the execution part. ``moves_numbers``: it can still change a metric (in its last
    digits), so it counts in the run's identity."""
    return field(default=default, metadata={"part": EXECUTION, "moves_numbers": moves_numbers})


@dataclass
class RunConfig:
    """Every parameter of a run; stored verbatim in its record. Fields without a part are the
    experiment's; ``_execution`` marks how the run executes."""

    model: str = "demo"
    task: str = "synthworld"
    prompts: str = "template"
    seed: int = 0
    n: int | None = None  # prompts sampled per label (augmented strategies); shortcut for prompt_options n
    templates: list[str] | None = None
    prompt_file: str | None = None
    bank: str | None = None  # prompt bank (file or shipped name) for description/augmented
    pooling: str = "embedding-mean"
    checkpoint: str | None = None
    # "auto" (the default): the first CUDA GPU where there is one, else the CPU. Resolved when the
    # config is made (``resolve_device``), so a record always names the device that ran.
    device: str = _execution(AUTO_DEVICE, moves_numbers=True)
    crop: str = "seeded"
    # Its own seed, apart from ``seed`` (prompt sampling, bootstrap): a sweep over seeds then
    # reuses every clip's audio embedding, and crop variance is studied on purpose, by crop_seed.
    crop_seed: int = 0
    data_root: str | None = None  # the experiment's: for the folder task, the root is the data
    batch_size: int = _execution(32)
    workers: int | None = _execution(None)
    cache_dir: str | None = _execution(None)
    use_cache: bool = _execution(True)
    # audio rows; float16 halves the cache but can move a metric (cache.py)
    cache_dtype: str = _execution("float32", moves_numbers=True)
    precision: str = "fp32"  # fp32, bf16 or fp16 autocast around torch forwards (zsbench/runtime/precision.py)
    compile: bool = False  # torch.compile the adapter's audio tower (zsbench/runtime/compiling.py); cached apart
    shard: bool = _execution(False)  # split the audio pass across torchrun ranks (zsbench/runtime/shard.py)
    on_bad_audio: str = "error"
    bootstrap: int = 0
    results_dir: str | None = _execution(None)
    store: bool = _execution(True)
    output: str | None = _execution(None)
    save_predictions: str | None = _execution(None)
    progress: bool = _execution(False)
    model_options: dict[str, Any] = field(default_factory=dict)
    task_options: dict[str, Any] = field(default_factory=dict)
    prompt_options: dict[str, Any] = field(default_factory=dict)  # the strategy's parameters by name

    def __post_init__(self) -> None:
        self.device = resolve_device(self.device)

    def validate(self) -> None:
        from zsbench.data.audio import CROP_MODES
        from zsbench.evaluation.cache import STORE_DTYPES
        from zsbench.runtime.precision import check as check_precision
        from zsbench.prompt_strategies.base import POOLINGS

        if self.crop not in CROP_MODES:
            raise ValueError(f"--crop {self.crop!r}: choose one of {', '.join(CROP_MODES)}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"--pooling {self.pooling!r}: choose one of {', '.join(POOLINGS)}")
        if self.on_bad_audio not in ("error", "skip"):
            raise ValueError(f"--on-bad-audio {self.on_bad_audio!r}: choose error or skip")
        check_precision(self.precision)
        if not isinstance(self.compile, bool):
            raise ValueError(f"compile {self.compile!r}: must be true or false")
        if self.cache_dtype not in STORE_DTYPES:
            raise ValueError(f"cache_dtype {self.cache_dtype!r}: choose one of {', '.join(STORE_DTYPES)}")
        if self.batch_size < 1:
            raise ValueError("--batch-size must be at least 1")
        if self.workers is not None and self.workers < 0:
            raise ValueError(f"--workers {self.workers}: must be 0 (decode in the main process) or more")


def part(name: str) -> str:
    """``experiment`` or ``execution``: which part of a run a RunConfig field belongs to."""
    return RunConfig.__dataclass_fields__[name].metadata.get("part", EXPERIMENT)


FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(RunConfig))
EXECUTION_FIELDS: frozenset[str] = frozenset(n for n in FIELDS if part(n) == EXECUTION)
# What changes where or how verbosely a run happens, never its result: left out of a sweep's id.
NOT_IDENTITY: frozenset[str] = frozenset(
    n for n in EXECUTION_FIELDS if not RunConfig.__dataclass_fields__[n].metadata["moves_numbers"])


def experiment(config: RunConfig) -> dict[str, Any]:
    """The experiment part of a config (what its result depends on)."""
    return {k: v for k, v in asdict(config).items() if part(k) == EXPERIMENT}


def execution(config: RunConfig) -> dict[str, Any]:
    """The execution part of a config (where and how it runs)."""
    return {k: v for k, v in asdict(config).items() if part(k) == EXECUTION}


def identity(config: RunConfig) -> dict[str, Any]:
    """What identifies a run: every field that can change a number (the experiment, and the device
    and cache dtype). A sweep's id is a hash of this and its grid."""
    out = {k: v for k, v in asdict(config).items() if k not in NOT_IDENTITY}
    if not out.get("compile"):
        out.pop("compile", None)  # eager sweeps keep the ids they had before --compile existed
    return out


def parse_option_value(text: str) -> Any:
    """A ``KEY=VALUE`` option value from the command line or a sweep grid: int, float, bool or
    text (never ``eval``)."""
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def parse_options(pairs: list[str] | None, flag: str) -> dict[str, Any]:
    """``["KEY=VALUE", ...]`` (``--model-option``, ``--task-option``, ``--prompt-option``) -> a
    dict, keys with ``-`` written as ``_``."""
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"{flag} {pair!r}: expected KEY=VALUE")
        out[key.replace("-", "_")] = parse_option_value(value)
    return out


# --- the adapter --------------------------------------------------------------------------

def load_options(config: RunConfig, device: str | None = None):
    """The adapter's ``LoadOptions`` for this config (``device``: another one, such as a torchrun
    rank's GPU)."""
    from zsbench.adapters.base import LoadOptions

    return LoadOptions(device=config.device if device is None else device, checkpoint=config.checkpoint,
                       extra=dict(config.model_options), crop=config.crop)


# --- the prompt strategy ------------------------------------------------------------------

# Command-line shortcuts for a strategy's parameters: parameter -> (the RunConfig field, its flag).
# Any parameter a strategy declares is also reachable as --prompt-option KEY=VALUE (prompt_options).
PROMPT_SHORTCUTS = {"templates": ("templates", "--template"), "path": ("prompt_file", "--prompt-file"),
                    "n": ("n", "--n"), "bank": ("bank", "--bank")}
SHORTCUT_FLAGS = {param: flag for param, (_, flag) in PROMPT_SHORTCUTS.items()}


def strategy_spec(name: str):
    """The registered strategy's declaration (parameters, run inputs, augmenting)."""
    from zsbench.prompt_strategies.base import strategy_spec as spec_of
    from zsbench.registry import PROMPTS

    return spec_of(name, PROMPTS.get(name))


def prompt_parameters(config: RunConfig) -> dict[str, Any]:
    """The strategy parameters this config sets, checked against what the strategy declares and
    typed: the shortcuts (``--template``, ``--prompt-file``, ``--n``, ``--bank``) and
    ``prompt_options`` (``--prompt-option KEY=VALUE``). Raises ValueError naming what it takes."""
    from zsbench.prompt_strategies.base import RUN_INPUTS

    spec = strategy_spec(config.prompts)
    given: dict[str, tuple[Any, str]] = {}
    for param, (fieldname, flag) in PROMPT_SHORTCUTS.items():
        value = getattr(config, fieldname)
        if value is None:
            continue
        if param not in spec.parameters:
            raise ValueError(f"prompt strategy {config.prompts!r} does not take {flag}; {spec.describe(SHORTCUT_FLAGS)}")
        given[param] = (value, flag)
    for key, value in config.prompt_options.items():
        if key in RUN_INPUTS and key not in spec.parameters:
            raise ValueError(f"prompt strategy {config.prompts!r}: {key!r} is not a prompt option; the run sets it "
                             f"({RUN_INPUTS[key]})")
        if key not in spec.parameters:
            raise ValueError(f"prompt strategy {config.prompts!r} does not take --prompt-option {key}; "
                             f"{spec.describe(SHORTCUT_FLAGS)}")
        if key in given:
            raise ValueError(f"prompt strategy {config.prompts!r}: {key!r} is given twice ({given[key][1]} and "
                             f"--prompt-option {key}); give it once")
        given[key] = (value, f"--prompt-option {key}")
    return {key: spec.coerce(key, value, flag) for key, (value, flag) in given.items()}


def strategy_arguments(config: RunConfig, model_meta: Any, task_id: str | None) -> dict[str, Any]:
    """Every keyword the strategy's factory gets: its parameters (``prompt_parameters``) and the
    run inputs it declares (model meta, task id, seed)."""
    spec = strategy_spec(config.prompts)
    inputs = {"model_meta": model_meta, "task_id": task_id, "seed": config.seed, "pooling": config.pooling}
    return {**prompt_parameters(config), **{k: inputs[k] for k in spec.inputs}}


def build_strategy(config: RunConfig, model_meta: Any, task_id: str | None):
    from zsbench.registry import PROMPTS

    return PROMPTS.get(config.prompts)(**strategy_arguments(config, model_meta, task_id))


# --- the task -----------------------------------------------------------------------------

def task_arguments(config: RunConfig) -> dict[str, Any]:
    """The task loader's keywords: ``data_root`` and the task options, refused when the loader
    does not take one (tasks declare their options as the loader's keyword parameters)."""
    from zsbench.registry import TASKS

    accepted = set(inspect.signature(TASKS.get(config.task)).parameters) - {"data_root"}
    unknown = set(config.task_options) - accepted
    if unknown:
        raise ValueError(f"task {config.task!r} does not take option(s) {', '.join(sorted(unknown))}; "
                         f"it takes: {', '.join(sorted(accepted)) or 'none'}")
    return {"data_root": config.data_root, **config.task_options}
