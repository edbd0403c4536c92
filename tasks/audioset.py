"""AudioSet evaluation segments: 20,371 listed 10-second YouTube segments, 527 classes,
multi-label (mAP).

Labels are ``class_labels_indices.csv``'s display names in index order (the same 527 names
LAION-CLAP uses; ReCLAP's audioset.txt lists all 632 ontology nodes instead). AudioSet is
distributed as YouTube ids, so copies are partial: clips missing on disk are reported
(``Task.coverage`` and a warning) and the clips present are scored (``partial_data="score-present"``);
``allow_missing=false`` makes them an error.

Expected layout (one file per segment, wav or flac, any sample rate):
  <root>/class_labels_indices.csv        index,mid,display_name
  <root>/eval_segments.csv               3 header lines, then YTID, start_seconds, end_seconds, "mid,mid"
  <root>/eval_segments/Y<YTID>.wav       e.g. eval_segments/Y--4gqARaEJE.wav (or .flac), or
  <root>/eval_segments/<YTID>_<start>.wav   start in whole seconds: --4gqARaEJE_0.wav (or as written: _0.000)
"""

from __future__ import annotations

from pathlib import Path

from zsbench.tasks import metadata
from zsbench.tasks.base import Task, TaskMeta, register_task

TASK_ID = "audioset"
SUFFIXES = (".wav", ".flac")
META = TaskMeta(
    id=TASK_ID, version="1", metric="map",
    description="AudioSet eval segments, 527 classes, 20,371 listed (those found on disk are scored), mAP",
    citation="@inproceedings{gemmeke2017audioset, author={Gemmeke, Jort F. and Ellis, Daniel P. W. and Freedman, "
             "Dylan and Jansen, Aren and Lawrence, Wade and Moore, R. Channing and Plakal, Manoj and Ritter, "
             "Marvin}, title={Audio Set: An ontology and human-labeled dataset for audio events}, "
             "booktitle={Proc. ICASSP}, pages={776--780}, year={2017}}",
    license="CC BY 4.0 (labels); the audio belongs to its YouTube uploaders",
    homepage="https://research.google.com/audioset/",
    partial_data="score-present",  # YouTube-sourced: never complete
    splits="eval_segments (20,371 listed segments)",
    leaderboard_order=60,
    source=metadata.youtube_source(TASK_ID),  # no archive: the layout to provide
)


def read_metadata(root: str | Path) -> metadata.Metadata:
    """Parse the class list and ``eval_segments.csv`` (no audio is touched)."""
    root = Path(root)
    hint = metadata.youtube_hint("AudioSet", __doc__)
    classes_path, seg_path = metadata.require(TASK_ID, root, ["class_labels_indices.csv", "eval_segments.csv"], hint)
    classes = metadata.read_table(classes_path, ["index", "mid", "display_name"])
    metadata.check_unique(classes_path, classes, "mid", what="class")
    for k, r in enumerate(classes):
        if r["index"] != str(k):
            raise metadata.MetadataError(f"{classes_path}, line {r.line}: index {r['index']!r}, expected {k}")
    index = {r["mid"]: k for k, r in enumerate(classes)}
    labels = [r["display_name"] for r in classes]

    rows = metadata.read_table(seg_path, ["YTID", "start_seconds", "positive_labels"], skip_comments=True)
    metadata.check_unique(seg_path, rows, "YTID", what="segment")
    audio = root / "eval_segments"
    entries = []
    for r in rows:
        mids = [m.strip() for m in r["positive_labels"].split(",") if m.strip()]
        if not mids:
            raise metadata.MetadataError(f"{seg_path}, line {r.line}: segment {r['YTID']} has no labels")
        targets = tuple(sorted({metadata.label_index(seg_path, r.line, m, index, classes_path.name) for m in mids}))
        entries.append(metadata.Entry(id=r["YTID"], paths=_candidates(audio, r["YTID"], r["start_seconds"]),
                                      targets=targets, line=r.line))
    return metadata.Metadata(TASK_ID, root, seg_path, labels, list(labels), entries, hint, audio_dirs=(audio,))


def _candidates(audio: Path, ytid: str, start: str) -> tuple[Path, ...]:
    try:
        starts = [str(int(float(start)))]
    except ValueError:
        starts = []
    if start not in starts:
        starts.append(start)
    stems = [f"Y{ytid}"] + [f"{ytid}_{s}" for s in starts]
    return tuple(audio / f"{stem}{suffix}" for stem in stems for suffix in SUFFIXES)


def label_names(task_id: str = TASK_ID) -> list[str]:
    """The 527 labels as the task names them, without the data (``labels/audioset.json``)."""
    return list(metadata.load_sidecar(TASK_ID)["display_names"])


@register_task(META, "AudioSet eval: 527 classes, 20,371 listed YouTube segments (coverage recorded), mAP")
def load_audioset(data_root: str | Path | None = None, allow_missing: bool | None = None) -> Task:
    md = read_metadata(metadata.resolve_root(TASK_ID, data_root))
    return metadata.build_task(META, md, allow_missing=allow_missing)
