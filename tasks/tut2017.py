"""TUT Acoustic Scenes 2017 (DCASE2017 task 1): 10-second binaural recordings of 15 acoustic
scenes (accuracy).

The 15 scenes are those of ReCLAP's label file tut.txt (the ``tut2018`` task keeps the paper's
TUT column, which is the 2018 edition's 10 scenes). By default (``split="development"``) the
task scores the development set's fold-1 evaluate list (1,170 clips); ``split="evaluation"``
scores the evaluation set (1,620 clips, listed in its ``meta.txt``). Lists are tab-separated,
headerless, LF or CRLF, with file names relative to the set's folder; every clip is checked
against the set's ``meta.txt``. Labels are the scene names of ``labels/tut2017.json`` with
underscores turned to spaces (``city_center`` -> ``city center``; ``cafe/restaurant`` stays).

``zsbench data download tut2017`` fetches both sets through Zenodo's API (development: record
400515, about 11 GB; evaluation: record 1040168, about 4 GB), md5-checked against the records.

Expected layout:
  <root>/TUT-acoustic-scenes-2017-development/meta.txt                          audio/<file>.wav<TAB><scene><TAB><id>
  <root>/TUT-acoustic-scenes-2017-development/evaluation_setup/fold1_evaluate.txt   audio/<file>.wav<TAB><scene>
  <root>/TUT-acoustic-scenes-2017-development/audio/<file>.wav               e.g. audio/b020_90_100.wav
  <root>/TUT-acoustic-scenes-2017-evaluation/meta.txt                           audio/<n>.wav<TAB><scene>
  <root>/TUT-acoustic-scenes-2017-evaluation/audio/<n>.wav
<root> may also be the chosen set's folder itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zsbench.data.datasets import DatasetSource, ZenodoRecord
from zsbench.tasks import metadata
from zsbench.tasks.base import Task, TaskMeta, register_task

TASK_ID = "tut2017"
FOLD = 1
SPLITS = {"development": "TUT-acoustic-scenes-2017-development",
          "evaluation": "TUT-acoustic-scenes-2017-evaluation"}
_ALIASES = {"dev": "development", "eval": "evaluation"}
META = TaskMeta(
    id=TASK_ID, version="1", metric="accuracy",
    description="TUT Acoustic Scenes 2017 (DCASE2017 task 1), 15 scenes, development fold-1 evaluate list "
                "(split=evaluation: the evaluation set), accuracy",
    citation="@inproceedings{mesaros2017dcase, author={Mesaros, Annamaria and Heittola, Toni and Diment, Aleksandr "
             "and Elizalde, Benjamin and Shah, Ankit and Vincent, Emmanuel and Raj, Bhiksha and Virtanen, Tuomas}, "
             "title={{DCASE} 2017 Challenge Setup: Tasks, Datasets and Baseline System}, "
             "booktitle={Proc. DCASE Workshop}, pages={85--92}, year={2017}}",
    license="non-commercial research use (the dataset's own licence; see the Zenodo record)",
    homepage="https://zenodo.org/record/400515",
    splits="development set, fold-1 evaluate list (split=evaluation: the evaluation set)",
    # Both sets, so that split=development (default) and split=evaluation each find their files.
    source=DatasetSource(zenodo=(
        ZenodoRecord("400515", ("TUT-acoustic-scenes-2017-development.meta.zip",
                                "TUT-acoustic-scenes-2017-development.audio.*.zip")),
        ZenodoRecord("1040168", ("TUT-acoustic-scenes-2017-evaluation.meta.zip",
                                 "TUT-acoustic-scenes-2017-evaluation.audio.*.zip")))),
)


def split_name(split: Any = None) -> str:
    """The ``split`` option checked: "development" (default) or "evaluation" ("dev"/"eval" too)."""
    choice = "development" if split is None or str(split).strip() == "" else str(split).strip().lower()
    choice = _ALIASES.get(choice, choice)
    if choice not in SPLITS:
        raise ValueError(f"task {TASK_ID!r}: split={split!r}: expected 'development' (the fold-1 evaluate list, "
                         f"the default) or 'evaluation' (the evaluation set)")
    return choice


def read_metadata(root: str | Path, split: Any = None) -> metadata.Metadata:
    """Parse the chosen set's ``meta.txt`` and, for the development set, the fold-1 evaluate
    list (no audio is touched)."""
    split = split_name(split)
    folder = SPLITS[split]
    root = Path(root)
    base = root if (root / "meta.txt").is_file() and not (root / folder).is_dir() else root / folder
    hint = metadata.download_hint(TASK_ID)
    setup = f"evaluation_setup/fold{FOLD}_evaluate.txt"
    wanted = ["meta.txt", setup] if split == "development" else ["meta.txt"]
    found = metadata.require(TASK_ID, base, wanted, hint)
    meta_path = found[0]

    scenes = metadata.load_sidecar(TASK_ID)["scenes"]
    index = {s: i for i, s in enumerate(scenes)}
    source = "labels/tut2017.json"
    listed = metadata.read_table(meta_path, ["filename", "scene_label"], delimiter="\t",
                                 fieldnames=["filename", "scene_label", "identifier"])
    metadata.check_unique(meta_path, listed, "filename")
    for r in listed:
        metadata.label_index(meta_path, r.line, r["scene_label"], index, source)
    scene_of = {r["filename"]: (r["scene_label"], r.line) for r in listed}

    if split == "evaluation":
        rows, list_path = listed, meta_path
    else:
        list_path = found[1]
        rows = metadata.read_table(list_path, ["filename", "scene_label"], delimiter="\t",
                                   fieldnames=["filename", "scene_label"])
        metadata.check_unique(list_path, rows, "filename")
    entries = []
    for r in rows:
        name, scene = r["filename"], r["scene_label"]
        target = metadata.label_index(list_path, r.line, scene, index, source)
        if name not in scene_of:
            raise metadata.MetadataError(f"{list_path}, line {r.line}: {name} is not listed in {meta_path}")
        if scene_of[name][0] != scene:
            raise metadata.MetadataError(f"{list_path}, line {r.line}: {name} is {scene!r} here but "
                                      f"{scene_of[name][0]!r} in {meta_path}, line {scene_of[name][1]}")
        entries.append(metadata.Entry(id=name, paths=(base / name,), targets=(target,), line=r.line, group=split))
    return metadata.Metadata(TASK_ID, base, list_path, [metadata.spaced(s) for s in scenes], list(scenes), entries, hint,
                             audio_dirs=(base / "audio",), also_listed=frozenset(base / n for n in scene_of))


def label_names(task_id: str = TASK_ID) -> list[str]:
    """The 15 scenes as the task names them, without the data (``labels/tut2017.json``)."""
    return [metadata.spaced(s) for s in metadata.load_sidecar(TASK_ID)["scenes"]]


@register_task(META, "TUT Acoustic Scenes 2017: 15 scenes, development fold-1 evaluate list "
                         "(split=evaluation: the evaluation set), accuracy")
def load_tut2017(data_root: str | Path | None = None, split: str | None = None,
                 allow_missing: bool | None = None) -> Task:
    chosen = split_name(split)
    md = read_metadata(metadata.resolve_root(TASK_ID, data_root), chosen)
    params: dict[str, Any] = {"split": chosen}
    if chosen == "development":
        params["fold"] = FOLD
    return metadata.build_task(META, md, allow_missing=allow_missing, params=params)
