"""ESC-50: 2000 five-second environmental recordings in 50 classes, 5 folds (accuracy).

Every fold is test data in zero-shot evaluation, so all 2000 clips are scored by default (as
MS-CLAP and MTEB do); ``folds="1"`` scores fold 1 only, as LAION-CLAP's README example does.
Labels are the ``category`` column with underscores turned to spaces (``sea_waves`` ->
``sea waves``), ordered by ``target``.

Expected layout (the official release, github.com/karolpiczak/ESC-50):
  <root>/meta/esc50.csv      filename,fold,target,category,esc10,src_file,take
  <root>/audio/<filename>    2000 wav files, 44.1 kHz mono
"""

from __future__ import annotations

from pathlib import Path

from zsbench.data.datasets import Archive, DatasetSource
from zsbench.data.hub import HubLayout
from zsbench.tasks import metadata
from zsbench.tasks.base import Task, TaskMeta, register_task

TASK_ID = "esc50"
FOLDS = (1, 2, 3, 4, 5)
META = TaskMeta(
    id=TASK_ID, version="1", metric="accuracy",
    description="ESC-50 environmental sounds, 50 classes, all 5 folds (2000 clips) unless folds= is given",
    citation="@inproceedings{piczak2015esc, author={Piczak, Karol J.}, title={{ESC}: Dataset for "
             "Environmental Sound Classification}, booktitle={Proc. ACM Multimedia}, pages={1015--1018}, year={2015}}",
    license="CC BY-NC 3.0",
    homepage="https://github.com/karolpiczak/ESC-50",
    revision="master (GitHub archive; meta/esc50.csv md5 54a0d0055a10bb7df84ad340a148722e)",
    splits="folds 1-5, all scored by default (folds= picks)",
    leaderboard_order=10,
    # GitHub generates archive/master.zip and may regenerate its bytes: its md5 is only recorded,
    # and a copy is verified by its content (the metadata file's md5, every listed clip readable).
    source=DatasetSource(
        archives=(Archive("https://github.com/karoldvl/ESC-50/archive/master.zip",
                          md5="7771e4b9d86d0945acce719c7a59305a"),),
        checks={"meta/esc50.csv": "54a0d0055a10bb7df84ad340a148722e"}, strip="ESC-50-master", by_content=True),
    hub=HubLayout("meta/esc50.csv", ("filename", "fold", "target", "category", "esc10", "src_file", "take"),
                  "audio/{filename}"),
)


def read_metadata(root: str | Path) -> metadata.Metadata:
    """Parse ``meta/esc50.csv`` (no audio is touched); every row, with its fold as ``group``."""
    root = Path(root)
    hint = metadata.download_hint(TASK_ID)
    (path,) = metadata.require(TASK_ID, root, ["meta/esc50.csv"], hint)
    rows = metadata.read_table(path, ["filename", "fold", "target", "category"])
    labels, index = metadata.classes_by_id(path, rows, "target", "category")
    metadata.check_unique(path, rows, "filename")
    audio = root / "audio"
    entries = [metadata.Entry(id=r["filename"], paths=(audio / r["filename"],), targets=(index[r["target"]],),
                              line=r.line, group=metadata.fold_of(path, r, FOLDS)) for r in rows]
    return metadata.Metadata(TASK_ID, root, path, [metadata.spaced(c) for c in labels], labels, entries, hint,
                             audio_dirs=(audio,))


def label_names(task_id: str = TASK_ID) -> list[str]:
    """The 50 labels as the task names them, without the data (``labels/esc50.json``)."""
    return [metadata.spaced(c) for c in metadata.load_sidecar(TASK_ID)["categories"]]


@register_task(META, "ESC-50: 50 environmental sound classes, 2000 clips (all folds; folds= to pick), accuracy")
def load_esc50(data_root: str | Path | None = None, folds: int | str | list[int] | None = None,
               allow_missing: bool | None = None) -> Task:
    md = read_metadata(metadata.resolve_root(TASK_ID, data_root))
    return metadata.select_folds(META, md, folds, FOLDS, allow_missing)
