"""CochlScene test split: crowdsourced recordings of 13 acoustic scenes (accuracy).

The release has no list file: a clip's scene is the folder it is in. Each folder under
``Test/`` must be one of the 13 scenes of ``labels/cochlscene.json``; labels split the CamelCase
and lowercase it (``ResidentialArea`` -> ``residential area``). Audio directly under ``Test/``
(outside a scene folder) is warned about and not scored.

Expected layout (the official release, github.com/cochlearai/cochlscene):
  <root>/CochlScene/Test/<Scene>/*.wav     e.g. CochlScene/Test/Bus/Bus_user0001_14977.wav
"""

from __future__ import annotations

from pathlib import Path

from zsbench.data.datasets import DatasetSource, ZenodoRecord
from zsbench.tasks import metadata
from zsbench.tasks.base import MissingDataError, Task, TaskMeta, register_task

TASK_ID = "cochlscene"
META = TaskMeta(
    id=TASK_ID, version="1", metric="accuracy",
    description="CochlScene test split, 13 acoustic scenes, accuracy",
    citation="@inproceedings{jeong2022cochlscene, author={Jeong, Il-Young and Park, Jeongsoo}, title={{CochlScene}: "
             "Acquisition of acoustic scene data using crowdsourcing}, booktitle={Proc. APSIPA ASC}, "
             "pages={17--21}, year={2022}}",
    license="CC BY-SA 3.0",
    homepage="https://github.com/cochlearai/cochlscene",
    splits="Test (the release's Train and Val are not scored)",
    # The whole release (Train, Val, Test) is one 54 GB split zip; only Test is scored.
    source=DatasetSource(zenodo=ZenodoRecord("7080122", ("CochlScene.z*",))),
)


def read_metadata(root: str | Path) -> metadata.Metadata:
    """List ``CochlScene/Test/<Scene>/`` (folder listings only; no audio file is opened)."""
    root = Path(root)
    hint = metadata.download_hint(TASK_ID)
    test = root / "CochlScene" / "Test"
    if not test.is_dir():
        raise MissingDataError(TASK_ID, [test / "<Scene>" / "*.wav"], hint)
    scenes = metadata.load_sidecar(TASK_ID)["scenes"]
    index = {s: i for i, s in enumerate(scenes)}
    folders = sorted(d for d in test.iterdir() if d.is_dir())
    entries = []
    for folder in folders:
        target = metadata.label_index(test, f"folder {folder.name!r}", folder.name, index, "labels/cochlscene.json")
        for clip in sorted(p for p in folder.iterdir() if p.suffix.lower() in metadata.AUDIO_SUFFIXES):
            entries.append(metadata.Entry(id=f"{folder.name}/{clip.name}", paths=(clip,), targets=(target,)))
    return metadata.Metadata(TASK_ID, root, test, [metadata.decamel(s) for s in scenes], list(scenes), entries, hint,
                             audio_dirs=(test,), notes={"missing_scenes": [s for s in scenes if not (test / s).is_dir()]})


def label_names(task_id: str = TASK_ID) -> list[str]:
    """The 13 scenes as the task names them, without the data (``labels/cochlscene.json``)."""
    return [metadata.decamel(s) for s in metadata.load_sidecar(TASK_ID)["scenes"]]


@register_task(META, "CochlScene test: 13 acoustic scenes, accuracy")
def load_cochlscene(data_root: str | Path | None = None, allow_missing: bool | None = None) -> Task:
    md = read_metadata(metadata.resolve_root(TASK_ID, data_root))
    absent = md.notes["missing_scenes"]
    if absent and not metadata.allows_missing(META, allow_missing):
        raise metadata.MissingAudioError(
            f"Task {TASK_ID!r}: {len(absent)} of the {len(md.labels)} scene folders are missing under {md.source}: "
            f"{', '.join(absent)}\nPass allow_missing=true (--task-option allow_missing=true) to score the scenes "
            f"present, with the coverage recorded.\n{md.hint}")
    task = metadata.build_task(META, md, allow_missing=allow_missing)
    if absent:
        task.coverage["missing_scenes"] = absent
    return task
