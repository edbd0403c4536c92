"""NSynth test split: 4,096 musical notes, classified into 11 instrument families (accuracy).

Labels are the families of ``labels/nsynth.json`` in NSynth's id order, underscores turned to
spaces (``synth_lead`` -> ``synth lead``). ReCLAP's nsynth.txt lists 10 families: no test note
is a synth_lead, so the 11-way and 10-way accuracies agree only if no note is predicted as one.

Expected layout (the official release, magenta.tensorflow.org/datasets/nsynth, nsynth-test.jsonwav.tar.gz):
  <root>/nsynth-test/examples.json         {note_str: {"instrument_family_str": ..., ...}, ...}
  <root>/nsynth-test/audio/<note_str>.wav  4,096 wav files, 16 kHz, 4 s
"""

from __future__ import annotations

import json
from pathlib import Path

from zsbench.registry import TASKS
from zsbench.tasks import _meta
from zsbench.tasks.base import Task, TaskMeta

TASK_ID = "nsynth"
META = TaskMeta(
    id=TASK_ID, version="1", metric="accuracy",
    description="NSynth test split, 4,096 notes, 11 instrument families, accuracy",
    citation="@inproceedings{engel2017neural, author={Engel, Jesse and Resnick, Cinjon and Roberts, Adam and "
             "Dieleman, Sander and Norouzi, Mohammad and Eck, Douglas and Simonyan, Karen}, title={Neural Audio "
             "Synthesis of Musical Notes with {WaveNet} Autoencoders}, booktitle={Proc. ICML}, pages={1068--1077}, "
             "year={2017}}",
    license="CC BY 4.0",
    homepage="https://magenta.tensorflow.org/datasets/nsynth",
)


def read_metadata(root: str | Path) -> _meta.Metadata:
    """Parse ``nsynth-test/examples.json`` (no audio is touched)."""
    root = Path(root)
    hint = _meta.download_hint(TASK_ID)
    (path,) = _meta.require(TASK_ID, root, ["nsynth-test/examples.json"], hint)
    families = _meta.load_sidecar(TASK_ID)["instrument_family"]
    index = {f: i for i, f in enumerate(families)}
    with open(path, encoding="utf-8") as f:
        try:
            notes = json.load(f, object_pairs_hook=_no_duplicates(path))
        except json.JSONDecodeError as e:
            raise _meta.MetadataError(f"{path}, line {e.lineno}: not valid JSON ({e.msg})") from None
    if not isinstance(notes, dict):
        raise _meta.MetadataError(f"{path}: expected an object mapping note_str to its attributes")
    audio = root / "nsynth-test" / "audio"
    entries = []
    for note, attrs in notes.items():
        where = f"note {note!r}"
        if not isinstance(attrs, dict):
            raise _meta.MetadataError(f"{path}, {where}: expected an object of attributes")
        _meta.check_required(path, attrs, ["instrument_family_str"], where)
        target = _meta.label_index(path, where, attrs["instrument_family_str"], index, "labels/nsynth.json")
        if "instrument_family" in attrs and attrs["instrument_family"] != target:
            raise _meta.MetadataError(f"{path}, {where}: instrument_family {attrs['instrument_family']} does not "
                                      f"match instrument_family_str {attrs['instrument_family_str']!r} (id {target})")
        entries.append(_meta.Entry(id=note, paths=(audio / f"{note}.wav",), targets=(target,)))
    return _meta.Metadata(TASK_ID, root, path, [_meta.spaced(f) for f in families], list(families), entries, hint,
                          audio_dirs=(audio,))


def _no_duplicates(path: Path):
    def hook(pairs: list[tuple[str, object]]) -> dict:
        out: dict = {}
        for key, value in pairs:
            if key in out:
                raise _meta.MetadataError(f"{path}: duplicated note (key) {key!r}")
            out[key] = value
        return out
    return hook


def label_names(task_id: str = TASK_ID) -> list[str]:
    """The instrument families as the task names them, without the data (``labels/nsynth.json``)."""
    return [_meta.spaced(f) for f in _meta.load_sidecar(TASK_ID)["instrument_family"]]


@TASKS.register(TASK_ID, "NSynth test: 4,096 notes, 11 instrument families, accuracy")
def load_nsynth(data_root: str | Path | None = None, allow_missing: bool = False) -> Task:
    md = read_metadata(_meta.resolve_root(TASK_ID, data_root))
    return _meta.build_task(META, md, allow_missing=allow_missing)
