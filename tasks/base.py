"""What a task is: metadata, label names, and the clips with their targets.

Tasks hold no prompt text (prompt strategies own that) and no scoring code (metrics own that):
a task says which metric kind applies and the harness does the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal

if TYPE_CHECKING:
    from zsbench.data.datasets import DatasetSource
    from zsbench.data.hub import HubLayout

MetricKind = Literal["accuracy", "map", "retrieval"]
# What a task does by default when clips its metadata lists are missing on disk (the
# ``allow_missing`` option overrides it, for every task alike):
#   "refuse"        archive datasets, complete by construction: a missing clip is an error;
#   "score-present" YouTube-sourced sets, never complete: score the clips present, coverage recorded.
PartialData = Literal["score-present", "refuse"]
# The headline number each metric kind reports (zsbench.evaluation.metrics), a task's main score unless it names another.
MAIN_SCORES = {"accuracy": "accuracy", "map": "mAP", "retrieval": "t2a_R@1"}


class MissingDataError(FileNotFoundError):
    """The task's files are not where we looked; the message lists them and how to get them."""

    def __init__(self, task_id: str, looked_for: list[Path], how: str):
        listing = "\n".join(f"  - {p}" for p in looked_for)
        super().__init__(f"Task {task_id!r}: data not found. Looked for:\n{listing}\n{how}")


@dataclass(frozen=True)
class TaskMeta:
    """Everything about a task that holds without its data. A task module declares one and
    registers it with its loader (:func:`register_task`); the CLI, ``zsbench data download``,
    the Hub import, the leaderboard and the tests read it from the registry
    (:mod:`zsbench.tasks.catalog`), so adding a task is its module and its label file."""

    id: str
    version: str
    description: str
    metric: MetricKind
    citation: str = ""
    license: str = ""
    homepage: str = ""
    partial_data: PartialData = "refuse"  # the default for missing clips; see PartialData
    revision: str = ""  # the dataset release the protocol reads, as its publisher names it ("" where unnamed)
    splits: str = ""  # what is scored by default, and which other splits an option picks
    main_score: str = ""  # the headline metric key ("" -> the metric kind's own headline, MAIN_SCORES)
    # the column's place in the leaderboard (Table II's order: 10, 20, ...); None: after those, alphabetically
    leaderboard_order: float | None = None
    bank: str = ""  # the task's prompt bank: a shipped bank name or a .json path; "" -> the bank named like the task
    # where `zsbench data download` gets the data (None: nowhere known; ``manual`` for sets it cannot fetch)
    source: DatasetSource | None = field(default=None, compare=False)
    # how a Hugging Face `datasets` copy maps onto the official layout (`--source hf:`); None: not supported
    hub: HubLayout | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.metric not in ("accuracy", "map", "retrieval"):
            raise ValueError(f"task {self.id}: unknown metric kind {self.metric!r}")
        if self.partial_data not in ("score-present", "refuse"):
            raise ValueError(f"task {self.id}: partial_data {self.partial_data!r}: expected 'score-present' "
                             f"or 'refuse'")

    @property
    def headline(self) -> str:
        """The main score's metric key: ``main_score``, or the metric kind's headline."""
        return self.main_score or MAIN_SCORES[self.metric]

    @property
    def bank_name(self) -> str:
        """The prompt bank this task uses unless ``--bank`` names another."""
        return self.bank or self.id


def register_task(meta: TaskMeta, description: str = "", *, register: bool = True) -> Callable:
    """Decorate a task loader: attach ``meta`` to it (``loader.meta``) and register it under
    ``meta.id`` in the task registry (``description``: one line for ``zsbench tasks``).

    A plug-in loaded through the ``zsbench.tasks`` entry-point group is registered by that
    entry point already: it passes ``register=False`` and only attaches its metadata."""

    def decorate(loader: Callable) -> Callable:
        loader.meta = meta  # type: ignore[attr-defined]
        if register:
            from zsbench.registry import TASKS

            TASKS.register(meta.id, description or meta.description, target=loader)
        return loader

    return decorate


@dataclass(frozen=True)
class Item:
    id: str
    path: Path
    targets: tuple[int, ...]  # class indices into Task.labels (one for single-label tasks)


@dataclass
class Task:
    """A loaded task: label names as the protocol spells them, the raw labels, the items."""

    meta: TaskMeta
    labels: list[str]
    items: list[Item]
    raw_labels: list[str] = field(default_factory=list)
    data_root: Path | None = None
    params: dict[str, Any] = field(default_factory=dict)  # options that change what is scored
    # retrieval tasks: every caption and the index of the item it describes
    captions: list[str] = field(default_factory=list)
    caption_item: list[int] = field(default_factory=list)
    coverage: dict[str, Any] = field(default_factory=dict)  # clips found / listed, where data may be partial

    def __post_init__(self) -> None:
        if not self.raw_labels:
            self.raw_labels = list(self.labels)
        if self.meta.metric != "retrieval" and not self.labels:
            raise ValueError(f"task {self.meta.id}: a classification task needs label names")
        if not self.items:
            raise ValueError(f"task {self.meta.id}: no clips to score (data root {self.data_root})")
        if self.meta.metric == "retrieval" and (not self.captions or len(self.captions) != len(self.caption_item)):
            raise ValueError(f"task {self.meta.id}: a retrieval task needs captions, each with its item index")
