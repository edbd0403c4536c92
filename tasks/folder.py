"""A user's own data: a ``root/<label>/*.wav`` tree, or a CSV of ``path,label[,label...]``.

Labels are taken as written; a CSV row with several labels makes the task multi-label (mAP).
Data with a single label is scored, with a warning: every clip is then that label, so accuracy
is trivially 100 %.
"""

from __future__ import annotations

import csv
import dataclasses
import warnings
from pathlib import Path

from zsbench.tasks.base import Item, MissingDataError, Task, TaskMeta, register_task

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".aiff", ".aif", ".mp3"}
LAYOUT = "a folder with one subfolder of audio files per label (root/<label>/*.wav), or a CSV file of " \
         "path,label[,label...] rows"


META = TaskMeta(id="folder", version="1", description="user data (--data-root)", metric="accuracy",
                splits="every clip found")  # per load: the data root in the description, mAP if multi-label


class SingleLabelWarning(UserWarning):
    """The data has one label only: accuracy is trivially 100 %."""


def accepted_extensions() -> str:
    return ", ".join(f"*{s}" for s in sorted(AUDIO_SUFFIXES))


@register_task(META, "your own data: root/<label>/*.wav, or a CSV path,label[,label...] (--data-root)")
def load_folder(data_root: str | Path | None = None) -> Task:
    if data_root is None:
        raise MissingDataError("folder", [], "Pass --data-root ROOT (a folder of label subfolders) or a CSV file.")
    root = Path(data_root).expanduser()
    if not root.exists():
        raise MissingDataError("folder", [root], "Pass --data-root pointing at a folder of label subfolders or a CSV.")
    if root.is_file() and _is_audio(root):
        raise ValueError(f"{root} is an audio file, not a dataset: --data-root for the folder task expects {LAYOUT}. "
                         f"Put it (and the other clips) in a subfolder named after its label and pass the folder.")
    rows = _rows_from_csv(root) if root.is_file() else _rows_from_tree(root)
    labels = sorted({lab for _, labs in rows for lab in labs})
    if len(labels) == 1:
        warnings.warn(SingleLabelWarning(
            f"folder task: {root} has only one label ({labels[0]!r}): every clip is that label, so accuracy is "
            f"trivially 100 %. Add the other classes (more label folders or CSV labels) for a meaningful score."),
                      stacklevel=2)
    index = {lab: i for i, lab in enumerate(labels)}
    items = [Item(id=str(path), path=path, targets=tuple(index[lab] for lab in labs)) for path, labs in rows]
    multi = any(len(it.targets) > 1 for it in items)
    meta = dataclasses.replace(META, description=f"user data at {root}", metric="map" if multi else "accuracy")
    return Task(meta=meta, labels=labels, items=items, data_root=root, params={"source": str(root.resolve())})


def _rows_from_tree(root: Path) -> list[tuple[Path, list[str]]]:
    rows = [(p, [d.name]) for d in sorted(root.iterdir()) if d.is_dir()
            for p in sorted(d.rglob("*")) if p.suffix.lower() in AUDIO_SUFFIXES]
    if not rows:
        loose = [p.name for p in sorted(root.iterdir()) if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES]
        where = (f"{len(loose)} audio file(s) lie directly in {root} (e.g. {loose[0]}), outside a label folder. "
                 if loose else "")
        raise MissingDataError("folder", [root / "<label>" / f"*{s}" for s in sorted(AUDIO_SUFFIXES)],
                               f"No audio file with an accepted extension ({accepted_extensions()}) in a label "
                               f"subfolder of {root}. {where}Put each class's audio files in a subfolder named "
                               f"after the class.")
    return rows


def _is_audio(path: Path) -> bool:
    """An audio file by its extension, or by its first bytes whatever its name (WAV, AIFF, FLAC,
    Ogg, MP3 with an ID3 tag or a bare frame header)."""
    if path.suffix.lower() in AUDIO_SUFFIXES:
        return True
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return False
    return ((head[:4] in (b"RIFF", b"RIFX", b"RF64") and head[8:12] == b"WAVE")
            or (head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"))
            or head[:4] in (b"fLaC", b"OggS")
            or (head[:3] == b"ID3" and len(head) > 3 and head[3] < 5)
            or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"))


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
