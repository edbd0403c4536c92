"""VGGSound test split: 15,446 listed YouTube clips, 309 classes (accuracy).

VGGSound is distributed as YouTube ids, not audio, and many videos are gone, so every copy is
partial: clips listed but missing on disk are reported (``Task.coverage`` found/listed and a
warning), not silently dropped, and the clips present are scored (``partial_data="score-present"``);
``allow_missing=false`` makes them an error. Labels are the ``test.csv`` label column, checked
against the 309 names in ``labels/vggsound.json``.

Expected layout (extract the audio track of each clip; wav or flac, any sample rate):
  <root>/test.csv (or <root>/data/test.csv)   rows <ytid>_<start>.mp4,<label>, no header
  <root>/audio/<ytid>_<start>.wav             e.g. audio/glLQrEijrKg_000300.wav (or .flac)
"""

from __future__ import annotations

from pathlib import Path

from zsbench.tasks import metadata
from zsbench.tasks.base import Task, TaskMeta, register_task

TASK_ID = "vggsound"
SUFFIXES = (".wav", ".flac")
META = TaskMeta(
    id=TASK_ID, version="1", metric="accuracy",
    description="VGGSound test split, 309 classes, 15,446 listed clips (those found on disk are scored), accuracy",
    citation="@inproceedings{chen2020vggsound, author={Chen, Honglie and Xie, Weidi and Vedaldi, Andrea and "
             "Zisserman, Andrew}, title={{VGGSound}: A Large-scale Audio-Visual Dataset}, booktitle={Proc. ICASSP}, "
             "pages={721--725}, year={2020}}",
    license="CC BY 4.0 (annotations); the audio belongs to its YouTube uploaders",
    homepage="https://www.robots.ox.ac.uk/~vgg/data/vggsound/",
    partial_data="score-present",  # YouTube-sourced: never complete
    splits="test (15,446 listed clips)",
    leaderboard_order=30,
    source=metadata.youtube_source(TASK_ID),  # no archive: the layout to provide
)


def read_metadata(root: str | Path) -> metadata.Metadata:
    """Parse ``test.csv`` (no audio is touched)."""
    root = Path(root)
    hint = metadata.youtube_hint("VGGSound", __doc__)
    (path,) = metadata.require(TASK_ID, root, [("test.csv", "data/test.csv")], hint)
    labels = metadata.load_sidecar(TASK_ID)["labels"]
    index = {lab: i for i, lab in enumerate(labels)}
    rows = metadata.read_table(path, ["file", "label"], fieldnames=["file", "label"])
    metadata.check_unique(path, rows, "file")
    audio = root / "audio"
    entries = []
    for r in rows:
        clip = r["file"].rsplit(".", 1)[0] if r["file"].endswith(".mp4") else r["file"]
        target = metadata.label_index(path, r.line, r["label"], index, "labels/vggsound.json")
        entries.append(metadata.Entry(id=clip, paths=tuple(audio / f"{clip}{s}" for s in SUFFIXES),
                                      targets=(target,), line=r.line))
    return metadata.Metadata(TASK_ID, root, path, list(labels), list(labels), entries, hint, audio_dirs=(audio,))


def label_names(task_id: str = TASK_ID) -> list[str]:
    """The 309 labels, without the data (``labels/vggsound.json``)."""
    return list(metadata.load_sidecar(TASK_ID)["labels"])


@register_task(META, "VGGSound test: 309 classes, 15,446 listed YouTube clips (coverage recorded), accuracy")
def load_vggsound(data_root: str | Path | None = None, allow_missing: bool | None = None) -> Task:
    md = read_metadata(metadata.resolve_root(TASK_ID, data_root))
    return metadata.build_task(META, md, allow_missing=allow_missing)
