"""FSD50K evaluation split: 10,231 Freesound clips, 200 AudioSet-ontology classes, multi-label (mAP).

Labels follow ``FSD50K.ground_truth/vocabulary.csv`` order. ``Task.raw_labels`` are the
vocabulary's names (``Accelerating_and_revving_and_vroom``); ``Task.labels`` are the display
names LAION-CLAP and ReCLAP use (``Accelerating, revving, vroom``), shipped in
``labels/fsd50k.json`` because 37 of them do not follow from the raw names by any rule.
The metric is mAP over classes, not the top-1 "hit any label" score of CompA's script.

Expected layout (the Zenodo release, record 4060432):
  <root>/FSD50K.ground_truth/vocabulary.csv   index,name,mid (no header)
  <root>/FSD50K.ground_truth/eval.csv         fname,labels,mids (labels comma-joined)
  <root>/FSD50K.eval_audio/<fname>.wav        10,231 wav files
"""

from __future__ import annotations

from pathlib import Path

from zsbench.data.datasets import Archive, DatasetSource
from zsbench.tasks import metadata
from zsbench.tasks.base import Task, TaskMeta, register_task

TASK_ID = "fsd50k"
META = TaskMeta(
    id=TASK_ID, version="1", metric="map",
    description="FSD50K eval split, 10,231 clips, 200 classes, multi-label, mAP (LAION display names)",
    citation="@article{fonseca2022fsd50k, author={Fonseca, Eduardo and Favory, Xavier and Pons, Jordi and Font, "
             "Frederic and Serra, Xavier}, title={{FSD50K}: An Open Dataset of Human-Labeled Sound Events}, "
             "journal={IEEE/ACM Trans. Audio, Speech, and Language Processing}, volume={30}, pages={829--852}, "
             "year={2022}}",
    license="CC BY 4.0 (ground truth); each clip under its own Creative Commons licence",
    homepage="https://zenodo.org/record/4060432",
    revision="v1.0 (Zenodo record 4060432)",
    splits="eval (10,231 clips)",
    leaderboard_order=40,
    source=DatasetSource(archives=(
        Archive(f"{metadata.ZENODO}/4060432/files/FSD50K.ground_truth.zip", md5="ca27382c195e37d2269c4c866dd73485"),
        Archive(f"{metadata.ZENODO}/4060432/files/FSD50K.eval_audio.zip", md5="6fa47636c3a3ad5c7dfeba99f2637982",
                parts=(Archive(f"{metadata.ZENODO}/4060432/files/FSD50K.eval_audio.z01",
                               md5="3090670eaeecc013ca1ff84fe4442aeb"),)),
                         )),
)


def read_metadata(root: str | Path) -> metadata.Metadata:
    """Parse the vocabulary and ``eval.csv`` (no audio is touched)."""
    root = Path(root)
    hint = metadata.download_hint(TASK_ID)
    vocab_path, eval_path = metadata.require(
        TASK_ID, root, ["FSD50K.ground_truth/vocabulary.csv", "FSD50K.ground_truth/eval.csv"], hint)
    raw = _vocabulary(vocab_path)
    display = metadata.load_sidecar(TASK_ID)["display_names"]
    unnamed = [name for name in raw if name not in display]
    if unnamed:
        raise metadata.MetadataError(f"{vocab_path}: no display name for {', '.join(map(repr, unnamed[:5]))} in "
                                  f"{metadata.LABELS_DIR / 'fsd50k.json'} (is this FSD50K v1.0?)")
    index = {name: i for i, name in enumerate(raw)}
    rows = metadata.read_table(eval_path, ["fname", "labels"])
    metadata.check_unique(eval_path, rows, "fname")
    audio = root / "FSD50K.eval_audio"
    entries = []
    for r in rows:
        names = [n.strip() for n in r["labels"].split(",") if n.strip()]
        if not names:
            raise metadata.MetadataError(f"{eval_path}, line {r.line}: clip {r['fname']} has no labels")
        targets = tuple(sorted({metadata.label_index(eval_path, r.line, n, index, vocab_path.name) for n in names}))
        entries.append(metadata.Entry(id=r["fname"], paths=(audio / f"{r['fname']}.wav",), targets=targets, line=r.line))
    return metadata.Metadata(TASK_ID, root, eval_path, [display[n] for n in raw], raw, entries, hint,
                             audio_dirs=(audio,))


def _vocabulary(path: Path) -> list[str]:
    rows = metadata.read_table(path, ["index", "name"], fieldnames=["index", "name", "mid"])
    metadata.check_unique(path, rows, "name", what="class")
    for k, r in enumerate(rows):
        if r["index"] != str(k):
            raise metadata.MetadataError(f"{path}, line {r.line}: index {r['index']!r}, expected {k} "
                                      f"(the vocabulary's order is the label order)")
    return [r["name"] for r in rows]


def label_names(task_id: str = TASK_ID) -> list[str]:
    """The 200 display labels, without the data (``labels/fsd50k.json``)."""
    return list(metadata.load_sidecar(TASK_ID)["display_names"].values())


@register_task(META, "FSD50K eval: 200 sound event classes, 10,231 clips, multi-label, mAP")
def load_fsd50k(data_root: str | Path | None = None, allow_missing: bool | None = None) -> Task:
    md = read_metadata(metadata.resolve_root(TASK_ID, data_root))
    return metadata.build_task(META, md, allow_missing=allow_missing)
