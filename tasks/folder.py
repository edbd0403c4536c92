"""A user's own data: a ``root/<label>/*.wav`` tree, or a CSV of ``path,label[,label...]``.

Labels are taken as written; a CSV row with several labels makes the task multi-label (mAP).
"""

from __future__ import annotations

import csv
from pathlib import Path

from zsbench.registry import TASKS
from zsbench.tasks.base import Item, MissingDataError, Task, TaskMeta

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".aiff", ".aif", ".mp3"}


@TASKS.register("folder", "your own data: root/<label>/*.wav, or a CSV path,label[,label...] (--data-root)")
def load_folder(data_root: str | Path | None = None) -> Task:
    if data_root is None:
        raise MissingDataError("folder", [], "Pass --data-root ROOT (a folder of label subfolders) or a CSV file.")
    root = Path(data_root).expanduser()
    if not root.exists():
        raise MissingDataError("folder", [root], "Pass --data-root pointing at a folder of label subfolders or a CSV.")
    rows = _rows_from_csv(root) if root.is_file() else _rows_from_tree(root)
    labels = sorted({lab for _, labs in rows for lab in labs})
    index = {lab: i for i, lab in enumerate(labels)}
    items = [Item(id=str(path), path=path, targets=tuple(index[lab] for lab in labs)) for path, labs in rows]
    multi = any(len(it.targets) > 1 for it in items)
    meta = TaskMeta(id="folder", version="1", description=f"user data at {root}", metric="map" if multi else "accuracy")
    return Task(meta=meta, labels=labels, items=items, data_root=root, params={"source": str(root.resolve())})


def _rows_from_tree(root: Path) -> list[tuple[Path, list[str]]]:
    rows = [(p, [d.name]) for d in sorted(root.iterdir()) if d.is_dir()
            for p in sorted(d.rglob("*")) if p.suffix.lower() in AUDIO_SUFFIXES]
    if not rows:
        raise MissingDataError("folder", [root / "<label>" / "*.wav"],
                               "Put each class's audio files in a subfolder named after the class.")
    return rows


def _rows_from_csv(path: Path) -> list[tuple[Path, list[str]]]:
    try:
        return _read_rows(path)
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc}); save the file as UTF-8") from None
    except csv.Error as exc:
        raise ValueError(f"{path}: not a readable CSV file ({exc}); each row is path,label[,label...]") from None


def _read_rows(path: Path) -> list[tuple[Path, list[str]]]:
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        for n, row in enumerate(csv.reader(f), start=1):
            if not row or (n == 1 and row[0].strip().lower() == "path"):
                continue
            labels = [c.strip() for c in row[1:] if c.strip()]
            if not labels:
                raise ValueError(f"{path}, line {n}: no label after the path; each row is path,label[,label...]")
            audio = Path(row[0].strip())
            rows.append((audio if audio.is_absolute() else path.parent / audio, labels))
    if not rows:
        raise ValueError(f"{path}: no rows; each row is path,label[,label...]")
    return rows
