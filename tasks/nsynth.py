"""NSynth test split: 4,096 musical notes, classified into instrument families (accuracy).

By default (``classes="test"``) the task scores the 10 families present in the test split, the
ReCLAP paper's list (nsynth.txt): every family but synth_lead, which has no test note.
``classes="all"`` scores all 11 (a note can then also be predicted as a synth lead, so the two
accuracies differ). Notes of a family that is not scored (none in the official test split) are
dropped with a warning, and their count is recorded in ``Task.coverage`` (``dropped_notes``).
Labels are the families of ``labels/nsynth.json`` in NSynth's id order, underscores turned to
spaces (``synth_lead`` -> ``synth lead``); the chosen set is recorded in ``Task.params``.

Expected layout (the official release, magenta.tensorflow.org/datasets/nsynth, nsynth-test.jsonwav.tar.gz):
  <root>/nsynth-test/examples.json         {note_str: {"instrument_family_str": ..., ...}, ...}
  <root>/nsynth-test/audio/<note_str>.wav  4,096 wav files, 16 kHz, 4 s
"""

from __future__ import annotations

import json
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

from zsbench.data.datasets import Archive, DatasetSource
from zsbench.tasks import metadata
from zsbench.tasks.base import Task, TaskMeta, register_task

TASK_ID = "nsynth"
META = TaskMeta(
    id=TASK_ID, version="2", metric="accuracy",
    description="NSynth test split, 4,096 notes, the 10 instrument families present in it (classes=all: 11), "
                "accuracy",
    citation="@inproceedings{engel2017neural, author={Engel, Jesse and Resnick, Cinjon and Roberts, Adam and "
             "Dieleman, Sander and Norouzi, Mohammad and Eck, Douglas and Simonyan, Karen}, title={Neural Audio "
             "Synthesis of Musical Notes with {WaveNet} Autoencoders}, booktitle={Proc. ICML}, pages={1068--1077}, "
             "year={2017}}",
    license="CC BY 4.0",
    homepage="https://magenta.tensorflow.org/datasets/nsynth",
    splits="test (4,096 notes); classes=all scores all 11 families",
    leaderboard_order=70,
    # no checksum is published: a copy is verified by `zsbench data verify` (counts and headers) only
    source=DatasetSource(archives=(
        Archive("http://download.magenta.tensorflow.org/datasets/nsynth/nsynth-test.jsonwav.tar.gz"),)),
)


CLASS_SETS = ("test", "all")  # the 10 families of the test split (default), or all 11


def class_set(classes: Any = None) -> str:
    """The ``classes`` option checked: "test" (default, also for None or "") or "all"."""
    choice = "test" if classes is None or str(classes).strip() == "" else str(classes).strip().lower()
    if choice not in CLASS_SETS:
        raise ValueError(f"task {TASK_ID!r}: classes={classes!r}: expected 'test' (the 10 instrument families "
                         f"present in the test split, the default) or 'all' (all 11, with synth_lead)")
    return choice


def families(classes: Any = None) -> list[str]:
    """The scored families in the dataset's spelling and id order (``labels/nsynth.json``)."""
    sidecar = metadata.load_sidecar(TASK_ID)
    if class_set(classes) == "all":
        return list(sidecar["instrument_family"])
    absent = set(sidecar["not_in_test_split"])
    return [f for f in sidecar["instrument_family"] if f not in absent]


def read_metadata(root: str | Path, classes: Any = None) -> metadata.Metadata:
    """Parse ``nsynth-test/examples.json`` (no audio is touched); notes of a family that is not
    scored (``classes``) become no entry, and are counted in ``notes["dropped"]``."""
    root = Path(root)
    hint = metadata.download_hint(TASK_ID)
    scored = families(classes)
    (path,) = metadata.require(TASK_ID, root, ["nsynth-test/examples.json"], hint)
    every = metadata.load_sidecar(TASK_ID)["instrument_family"]
    index = {f: i for i, f in enumerate(every)}  # NSynth's own ids, to check instrument_family
    position = {f: i for i, f in enumerate(scored)}
    with open(path, encoding="utf-8") as f:
        try:
            notes = json.load(f, object_pairs_hook=_no_duplicates(path))
        except json.JSONDecodeError as e:
            raise metadata.MetadataError(f"{path}, line {e.lineno}: not valid JSON ({e.msg})") from None
    if not isinstance(notes, dict):
        raise metadata.MetadataError(f"{path}: expected an object mapping note_str to its attributes")
    audio = root / "nsynth-test" / "audio"
    entries = []
    dropped: Counter[str] = Counter()
    dropped_paths = []
    for note, attrs in notes.items():
        where = f"note {note!r}"
        if not isinstance(attrs, dict):
            raise metadata.MetadataError(f"{path}, {where}: expected an object of attributes")
        metadata.check_required(path, attrs, ["instrument_family_str"], where)
        family_id = metadata.label_index(path, where, attrs["instrument_family_str"], index, "labels/nsynth.json")
        if "instrument_family" in attrs and attrs["instrument_family"] != family_id:
            raise metadata.MetadataError(
                f"{path}, {where}: instrument_family {attrs['instrument_family']} does not match "
                f"instrument_family_str {attrs['instrument_family_str']!r} (id {family_id})")
        family = attrs["instrument_family_str"]
        if family not in position:
            dropped[family] += 1
            dropped_paths.append(audio / f"{note}.wav")
            continue
        entries.append(metadata.Entry(id=note, paths=(audio / f"{note}.wav",), targets=(position[family],)))
    return metadata.Metadata(TASK_ID, root, path, [metadata.spaced(f) for f in scored], list(scored), entries, hint,
                             audio_dirs=(audio,), also_listed=frozenset(dropped_paths),
                             notes={"classes": class_set(classes), "dropped": dict(sorted(dropped.items()))})


def _no_duplicates(path: Path):
    def hook(pairs: list[tuple[str, object]]) -> dict:
        out: dict = {}
        for key, value in pairs:
            if key in out:
                raise metadata.MetadataError(f"{path}: duplicated note (key) {key!r}")
            out[key] = value
        return out
    return hook


def label_names(task_id: str = TASK_ID, classes: Any = None) -> list[str]:
    """The scored instrument families as the task names them, without the data
    (``labels/nsynth.json``): the 10 of the test split, or all 11 with ``classes="all"``."""
    return [metadata.spaced(f) for f in families(classes)]


@register_task(META, "NSynth test: 4,096 notes, the 10 instrument families of the test split "
                         "(classes=all: 11), accuracy")
def load_nsynth(data_root: str | Path | None = None, classes: str | None = None,
                allow_missing: bool | None = None) -> Task:
    md = read_metadata(metadata.resolve_root(TASK_ID, data_root), classes)
    dropped = md.notes["dropped"]
    if dropped:
        warnings.warn(metadata.DataWarning(
            f"task {TASK_ID!r}: {sum(dropped.values())} note(s) in {md.source} belong to families that are not "
            f"scored ({', '.join(f'{k}: {v}' for k, v in dropped.items())}) and were dropped; pass classes=all "
            f"(--task-option classes=all) to score all 11 families"), stacklevel=2)
    task = metadata.build_task(META, md, allow_missing=allow_missing, params={"classes": md.notes["classes"]})
    task.coverage["dropped_notes"] = sum(dropped.values())
    if dropped:
        task.coverage["dropped_families"] = dropped
    return task
