"""Sweeps: one base run configuration, a grid of parameters over it, one run record per point.

Why a sweep is more than a loop over ``zsbench run``:

- each model is loaded once and kept across its points (``runner.run(config, model=loaded)``),
  and the embedding cache serves every point after the first on the same preprocessing, so a
  point costs text encoding and scoring only;
- the sweep id is a hash of the base configuration and the grid, so running the same command
  again finds the records already stored under that id and runs only the points still missing
  (an interrupted sweep resumes; a finished one is a no-op);
- points run in a stable order: the cartesian product in the order the axes were given, first
  axis outermost, then regrouped so that points sharing a loaded model run together.

Grid syntax (never evaluated): ``N=1..5`` (inclusive integer range, ``1..9..2`` with a step),
``seed=0,1,2`` (list), ``model=laion-clap,reclap``, ``task_options.n_per_class=2,4`` (one key
of a dict field). Any ``RunConfig`` field may be an axis.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
import typing
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable

from zsbench.config import NOT_IDENTITY, identity, load_options, parse_option_value, prompt_parameters, task_arguments
from zsbench.evaluation.runner import RunConfig, RunResult, run

# Short names people write on the command line for RunConfig fields.
ALIASES = {"N": "n", "template": "templates", "prompt": "prompts"}


def _is_list(hint: Any) -> bool:
    return typing.get_origin(hint) is list or any(typing.get_origin(a) is list for a in typing.get_args(hint))


# Fields a grid may not vary: where and how a point runs and is stored (the config's execution
# settings that change no number; the sweep stores each point itself, so a --shard run, whose
# rank 0 writes the record, does not fit a sweep), and list-valued fields (templates), whose
# values a grid's commas cannot spell.
NOT_AXES = NOT_IDENTITY | {f for f, h in typing.get_type_hints(RunConfig).items() if _is_list(h)}


class SweepError(ValueError):
    pass


@dataclass(frozen=True)
class Axis:
    name: str  # a RunConfig field, or "<dict field>.<key>"
    values: tuple[Any, ...]

    @property
    def display(self) -> str:
        return "N" if self.name == "n" else self.name


def _field_types() -> dict[str, Any]:
    return typing.get_type_hints(RunConfig)


def _cast(text: str, hint: Any, axis: str) -> Any:
    """A grid value as the field's type; numbers and booleans only by parsing, never ``eval``."""
    args = set(typing.get_args(hint)) or {hint}
    if text.lower() in ("none", "null") and type(None) in args:
        return None
    if int in args:
        try:
            return int(text)
        except ValueError:
            raise SweepError(f"grid {axis}: {text!r} is not an integer") from None
    if bool in args:
        if text.lower() not in ("true", "false"):
            raise SweepError(f"grid {axis}: {text!r} is not true or false")
        return text.lower() == "true"
    if float in args:
        try:
            return float(text)
        except ValueError:
            raise SweepError(f"grid {axis}: {text!r} is not a number") from None
    return text


def _expand(raw: str, axis: str) -> list[str]:
    if ".." in raw and "," not in raw:
        parts = raw.split("..")
        try:
            lo, hi, *step = (int(p) for p in parts)
        except ValueError:
            raise SweepError(f"grid {axis}: a range is START..END or START..END..STEP with integers") from None
        step_v = step[0] if step else 1
        if len(step) > 1 or step_v < 1 or hi < lo:
            raise SweepError(f"grid {axis}: a range needs START <= END and a positive STEP")
        return [str(v) for v in range(lo, hi + 1, step_v)]
    values = [v.strip() for v in raw.split(",")]
    if not all(values):
        raise SweepError(f"grid {axis}: empty value in the list")
    return values


def parse_axis(spec: str) -> Axis:
    """``NAME=VALUES`` -> Axis, with values typed as the RunConfig field they set."""
    name, sep, raw = spec.partition("=")
    name = name.strip().replace("-", "_")
    if not sep or not name or not raw.strip():
        raise SweepError(f"grid {spec!r}: expected NAME=VALUES, e.g. N=1..5, seed=0,1,2 or model=a,b")
    name = ALIASES.get(name, name)
    hints = _field_types()
    head, dot, key = name.partition(".")
    dicts = {f for f, h in hints.items() if typing.get_origin(h) is dict}
    fields = sorted(set(hints) - NOT_AXES - dicts)
    if dot:
        if not key or typing.get_origin(hints.get(head)) is not dict:
            raise SweepError(f"grid {spec!r}: {head!r} is not a dict field; dotted axes are "
                             "task_options.KEY, model_options.KEY or prompt_options.KEY")
        values = [parse_option_value(v) for v in _expand(raw.strip(), spec)]
    elif name not in hints or name in NOT_AXES or name in dicts:
        raise SweepError(f"grid {spec!r}: {name!r} is not a run parameter a sweep can vary; "
                         f"choose from N, {', '.join(fields)} (or task_options.KEY ...)")
    else:
        values = [_cast(v, hints[name], spec) for v in _expand(raw.strip(), spec)]
    if len(set(map(repr, values))) != len(values):
        raise SweepError(f"grid {spec!r}: a value is listed twice")
    return Axis(name, tuple(values))


def parse_grid(specs: list[str]) -> list[Axis]:
    axes = [parse_axis(s) for s in specs]
    names = [a.name for a in axes]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise SweepError(f"grid axis {', '.join(dup)} given more than once; list its values in one NAME=a,b,c")
    if not axes:
        raise SweepError("a sweep needs at least one grid axis, e.g. N=1..5 or seed=0,1")
    return axes


def apply_point(base: RunConfig, point: dict[str, Any]) -> RunConfig:
    """The run configuration of one point: the base with the point's values set."""
    simple = {k: v for k, v in point.items() if "." not in k}
    config = replace(base, **simple)
    for name, value in point.items():
        if "." in name:
            head, key = name.split(".", 1)
            setattr(config, head, {**getattr(config, head), key: value})
    return config


def _canon(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, default=str, ensure_ascii=False)


def load_key(config: RunConfig) -> str:
    """What decides the loaded adapter: the model name, every LoadOptions field the config sets,
    and whether it is compiled (compiling changes the loaded object, so eager and compiled points
    never share one)."""
    return _canon({"model": config.model, "compile": config.compile, **asdict(load_options(config))})


def load_model(config: RunConfig):
    from zsbench.registry import MODELS

    return MODELS.get(config.model)(load_options(config))


def _preflight(config: RunConfig, where: str) -> None:
    """Fail before the first point, not hours into a sweep, on what can be checked cheaply:
    option values, registered names, and options a prompt strategy or a task does not take."""
    from zsbench.registry import MODELS, PROMPTS, TASKS, UnknownNameError

    try:
        config.validate()
        for registry, name in ((MODELS, config.model), (TASKS, config.task), (PROMPTS, config.prompts)):
            if name not in registry:
                registry.get(name)  # raises, listing the valid names
        task_arguments(config)
    except (ValueError, UnknownNameError) as exc:
        raise SweepError(f"sweep point {where}: {exc}") from None
    try:
        prompt_parameters(config)
    except ValueError as exc:
        hint = "; sweep it separately, or drop the option from the grid" if "does not take" in str(exc) else ""
        raise SweepError(f"sweep point {where}: {exc}{hint}") from None


@dataclass
class Sweep:
    """A planned sweep: the base configuration, its axes, the points in run order, and its id."""

    base: RunConfig
    axes: list[Axis]
    points: list[dict[str, Any]]
    sweep_id: str

    @classmethod
    def plan(cls, base: RunConfig, specs: list[str], sweep_id: str | None = None) -> "Sweep":
        axes = parse_grid(specs)
        points = [dict(zip([a.name for a in axes], combo)) for combo in itertools.product(*(a.values for a in axes))]
        configs = [apply_point(base, p) for p in points]
        for point, c in zip(points, configs):
            _preflight(c, " ".join(f"{a.display}={point[a.name]}" for a in axes))
        # Regroup by loaded model, keeping the product order within and between groups.
        first_seen: dict[str, int] = {}
        for i, c in enumerate(configs):
            first_seen.setdefault(load_key(c), i)
        order = sorted(range(len(points)), key=lambda i: (first_seen[load_key(configs[i])], i))
        digest = hashlib.sha256(_canon({"base": identity(base), "axes": [[a.name, list(a.values)] for a in axes]})
                                .encode()).hexdigest()[:12]
        return cls(base, axes, [points[i] for i in order], sweep_id or f"sw-{digest}")

    def label(self, point: dict[str, Any]) -> str:
        return " ".join(f"{a.display}={point[a.name]}" for a in self.axes)


@dataclass
class PointOutcome:
    index: int
    point: dict[str, Any]
    record: Any  # RunRecord
    reused: bool  # already stored by an earlier, interrupted invocation of this sweep
    seconds: float = 0.0


@dataclass
class SweepReport:
    sweep: Sweep
    outcomes: list[PointOutcome] = field(default_factory=list)
    loads: int = 0  # how many times a model was loaded
    seconds: float = 0.0

    @property
    def ran(self) -> list[PointOutcome]:
        return [o for o in self.outcomes if not o.reused]

    @property
    def audio_embedded(self) -> int:
        return sum(o.record.cache.get("audio_computed", 0) for o in self.ran)

    @property
    def audio_reused(self) -> int:
        return sum(o.record.cache.get("audio_hits", 0) for o in self.ran)

    def summary(self) -> str:
        sw = self.sweep
        done = len(self.outcomes) - len(self.ran)
        text = (f"sweep {sw.sweep_id}: {len(sw.points)} points ({len(self.ran)} run now"
                f"{f', {done} already stored' if done else ''}), {self.loads} model load(s), "
                f"{self.seconds:.1f} s; audio: {self.audio_embedded} clip embeddings computed, "
                f"{self.audio_reused} reused from the cache")
        return text


def stored_points(sweep_id: str, results_dir: str | None) -> dict[str, Any]:
    """Canonical point -> record, for the records already stored under this sweep id."""
    from zsbench.evaluation.results import ResultsStore

    out = {}
    for rec in ResultsStore(results_dir).records():
        if rec.sweep_id == sweep_id and "sweep" in rec.extra:
            out[_canon(rec.extra["sweep"]["point"])] = rec
    return out


def run_sweep(sweep: Sweep, on_point: Callable[[PointOutcome, int], None] | None = None) -> SweepReport:
    """Run the points not yet stored under the sweep id, in order, storing each as it finishes.

    A point's record is written atomically the moment it is done, so an interruption loses at
    most the point in flight (and its finished audio batches are in the embedding cache)."""
    from zsbench.evaluation.results import ResultsStore

    report = SweepReport(sweep)
    start = time.perf_counter()
    base = sweep.base
    done = stored_points(sweep.sweep_id, base.results_dir) if base.store else {}
    store = ResultsStore(base.results_dir)
    model, loaded = None, None
    if getattr(base, "shard", False):
        raise SweepError("a sweep runs its points in one process and stores each itself; run --shard with "
                         "`zsbench run` instead")
    for index, point in enumerate(sweep.points):
        if _canon(point) in done:
            outcome = PointOutcome(index, point, done[_canon(point)], reused=True)
        else:
            t0 = time.perf_counter()
            config = apply_point(base, point)
            config.store, config.output, config.save_predictions = False, None, None
            if load_key(config) != loaded:
                model = None  # let the previous model go before loading the next
                model = load_model(config)  # with --compile, its first run() compiles it once for all points
                loaded = load_key(config)
                report.loads += 1
            result: RunResult = run(config, model=model)
            record = result.record
            record.sweep_id = sweep.sweep_id
            record.extra["sweep"] = {"id": sweep.sweep_id, "index": index, "n_points": len(sweep.points),
                                     "point": point, "axes": [a.name for a in sweep.axes]}
            if base.store:
                store.append(record)
            outcome = PointOutcome(index, point, record, reused=False, seconds=time.perf_counter() - t0)
        report.outcomes.append(outcome)
        if on_point:
            on_point(outcome, len(sweep.points))
    report.seconds = time.perf_counter() - start
    return report
