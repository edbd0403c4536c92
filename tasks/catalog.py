"""The task registry read as data: each registered task's :class:`TaskMeta` and what follows
from it (download sources, Hub layouts, leaderboard column order, the ``data download`` help).

Every task module declares its ``TaskMeta`` and registers it with its loader
(:func:`zsbench.tasks.base.register_task`); nothing here lists tasks by hand, so a new task
module (found by :mod:`zsbench.tasks`' discovery, or a plug-in through the ``zsbench.tasks``
entry-point group) shows up in the CLI, ``zsbench data download``, the Hub import and the
leaderboard without another file changing.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from zsbench.registry import TASKS
from zsbench.tasks.base import TaskMeta

if TYPE_CHECKING:
    from zsbench.data.datasets import DatasetSource
    from zsbench.data.hub import HubLayout


def meta(task_id: str) -> TaskMeta | None:
    """The registered task's metadata (None for a plug-in loader that declares none).
    An unknown id raises the registry's UnknownNameError, which lists the valid ones."""
    return getattr(TASKS.get(task_id), "meta", None)


def metas() -> dict[str, TaskMeta]:
    """Every registered task that declares its metadata, by id, in id order."""
    out = {}
    for name in TASKS.names():
        m = meta(name)
        if m is not None:
            out[name] = m
    return out


def source(task_id: str) -> DatasetSource | None:
    """Where ``zsbench data download`` gets the task's data (None: no download known)."""
    m = meta(task_id)
    return m.source if m is not None else None


def hub_layout(task_id: str) -> HubLayout | None:
    """How a Hugging Face copy of the task's dataset maps onto its official layout (None: not supported)."""
    m = meta(task_id) if task_id in TASKS else None
    return m.hub if m is not None else None


def download_from_hub(task_id: str, source: str, root: Path) -> Path:
    """``zsbench data download TASK --source hf:OWNER/NAME``: the task's Hub layout, fetched and
    written as its official release under ``root``."""
    from zsbench.data.hub import fetch

    layout = hub_layout(task_id)
    if layout is None:
        raise ValueError(f"--source hf: is known for {', '.join(hub_tasks())}, not {task_id!r}; "
                         f"download {task_id} from its official release instead (`zsbench data download {task_id}`)")
    return fetch(layout, source, root)


def fetch(task_id: str, hub_source: str | None = None, data_root: Path | None = None) -> Path:
    """``zsbench data download``: the task's data from a Hub copy when ``hub_source`` names one,
    else from its official release (downloaded, verified, extracted; resumable). Returns where it
    is. Raises ValueError for a task with no known download (its files go under the data root
    by hand) and the registry's error, listing the valid ids, for an unknown task."""
    from zsbench.data.datasets import download_dataset
    from zsbench.runtime.paths import data_dir

    if hub_source:
        return download_from_hub(task_id, hub_source, Path(data_root) if data_root else data_dir() / task_id)
    known = source(task_id)
    if known is None:
        raise ValueError(f"no download is known for {task_id!r}; put its files under --data-root yourself")
    return download_dataset(task_id, known, data_root)


def hub_tasks() -> list[str]:
    """Tasks that ``--source hf:OWNER/NAME`` can take from a Hub copy."""
    return [t for t, m in metas().items() if m.hub is not None]


def downloadable() -> list[str]:
    """Tasks whose data ``zsbench data download`` fetches (archives or Zenodo records)."""
    return [t for t, m in metas().items() if m.source is not None and not m.source.manual]


def by_hand() -> list[str]:
    """Tasks whose data cannot be downloaded (YouTube sets): their source says how to lay it out."""
    return [t for t, m in metas().items() if m.source is not None and m.source.manual]


def leaderboard_position(task_id: str) -> float:
    """The task's column position in the leaderboard (``TaskMeta.leaderboard_order``);
    infinity for tasks without one, and for task ids no longer registered (old run records)."""
    if task_id not in TASKS:
        return math.inf
    m = meta(task_id)
    order = m.leaderboard_order if m is not None else None
    return math.inf if order is None else float(order)


def leaderboard_order(task_ids: Iterator[str] | list[str] | set[str]) -> list[str]:
    """``task_ids`` in leaderboard column order: by position, then alphabetically."""
    return sorted(set(task_ids), key=lambda t: (leaderboard_position(t), t))


def download_help() -> str:
    """The end of ``zsbench data download --help``: which tasks it fetches, read from the registry."""
    lines = [f"Tasks it downloads: {', '.join(downloadable()) or 'none'}."]
    hub = hub_tasks()
    if hub:
        lines.append(f"From a Hugging Face datasets copy (--source hf:OWNER/NAME): {', '.join(hub)}.")
    manual = by_hand()
    if manual:
        lines.append("Not downloadable (YouTube; lay the audio out as `zsbench tasks` describes): "
                     f"{', '.join(manual)}.")
    return "\n\n".join(lines)


class _Sources(Mapping):
    """``{task id: DatasetSource}`` for every registered task that has one, read from the
    registry at each access (so plug-ins registered later are in it)."""

    def _all(self) -> dict[str, DatasetSource]:
        return {t: m.source for t, m in metas().items() if m.source is not None}

    def __getitem__(self, task_id: str) -> DatasetSource:
        found = source(task_id) if task_id in TASKS else None
        if found is None:
            raise KeyError(task_id)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    def __contains__(self, task_id: object) -> bool:
        return isinstance(task_id, str) and task_id in TASKS and source(task_id) is not None


SOURCES: Mapping[str, DatasetSource] = _Sources()
