"""UrbanSound8K: 8732 urban sound excerpts (<= 4 s) in 10 classes, 10 folds (accuracy).

All 8732 clips are scored by default; ``folds="1,2"`` picks folds. Labels are the ``class``
column with underscores turned to spaces (``air_conditioner`` -> ``air conditioner``), ordered
by ``classID``.

Expected layout (the official release):
  <root>/metadata/UrbanSound8K.csv          slice_file_name,fsID,start,end,salience,fold,classID,class
  <root>/audio/fold<k>/<slice_file_name>    8732 wav files in fold1 .. fold10
"""

from __future__ import annotations

from pathlib import Path

from zsbench.data.datasets import Archive, DatasetSource
from zsbench.data.hub import HubLayout
from zsbench.tasks import metadata
from zsbench.tasks.base import Task, TaskMeta, register_task

TASK_ID = "us8k"
FOLDS = tuple(range(1, 11))
META = TaskMeta(
    id=TASK_ID, version="1", metric="accuracy",
    description="UrbanSound8K, 10 urban sound classes, all 10 folds (8732 clips) unless folds= is given",
    citation="@inproceedings{salamon2014dataset, author={Salamon, Justin and Jacoby, Christopher and Bello, "
             "Juan Pablo}, title={A Dataset and Taxonomy for Urban Sound Research}, booktitle={Proc. ACM "
             "Multimedia}, pages={1041--1044}, year={2014}}",
    license="CC BY-NC 3.0",
    homepage="https://urbansounddataset.weebly.com/urbansound8k.html",
    splits="folds 1-10, all scored by default (folds= picks)",
    leaderboard_order=20,
    source=DatasetSource(
        archives=(Archive(f"{metadata.ZENODO}/1203745/files/UrbanSound8K.tar.gz",
                          md5="9aa69802bbf37fb986f71ec1483a196e"),),
        strip="UrbanSound8K"),
    hub=HubLayout("metadata/UrbanSound8K.csv",
                  ("slice_file_name", "fsID", "start", "end", "salience", "fold", "classID", "class"),
                  "audio/fold{fold}/{slice_file_name}"),
)


def read_metadata(root: str | Path) -> metadata.Metadata:
    """Parse ``metadata/UrbanSound8K.csv`` (no audio is touched); the fold of each row is its ``group``."""
    root = Path(root)
    hint = metadata.download_hint(TASK_ID)
    (path,) = metadata.require(TASK_ID, root, ["metadata/UrbanSound8K.csv"], hint)
    rows = metadata.read_table(path, ["slice_file_name", "fold", "classID", "class"])
    labels, index = metadata.classes_by_id(path, rows, "classID", "class")
    metadata.check_unique(path, rows, "slice_file_name")
    audio = root / "audio"
    entries = []
    for r in rows:
        fold = metadata.fold_of(path, r, FOLDS)
        entries.append(metadata.Entry(id=r["slice_file_name"], paths=(audio / f"fold{fold}" / r["slice_file_name"],),
                                      targets=(index[r["classID"]],), line=r.line, group=fold))
    return metadata.Metadata(TASK_ID, root, path, [metadata.spaced(c) for c in labels], labels, entries, hint,
                             audio_dirs=tuple(audio / f"fold{k}" for k in FOLDS))


def label_names(task_id: str = TASK_ID) -> list[str]:
    """The 10 labels as the task names them, without the data (``labels/us8k.json``)."""
    return [metadata.spaced(c) for c in metadata.load_sidecar(TASK_ID)["classes"]]


@register_task(META, "UrbanSound8K: 10 urban sound classes, 8732 clips (all folds; folds= to pick), accuracy")
def load_us8k(data_root: str | Path | None = None, folds: int | str | list[int] | None = None,
              allow_missing: bool | None = None) -> Task:
    md = read_metadata(metadata.resolve_root(TASK_ID, data_root))
    return metadata.select_folds(META, md, folds, FOLDS, allow_missing)
