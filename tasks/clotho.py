"""Clotho v2.1 evaluation split as audio-text retrieval: 1,045 clips x 5 captions (5,225), R@k.

``Task.captions`` holds every caption (caption_1 .. caption_5 of each row, in file order) and
``Task.caption_item`` the clip each describes.

Expected layout (the Zenodo release, record 4783391):
  <root>/clotho_captions_evaluation.csv   file_name,caption_1,...,caption_5
  <root>/evaluation/<file_name>           1,045 wav files
"""

from __future__ import annotations

from pathlib import Path

from zsbench.data.datasets import Archive, DatasetSource
from zsbench.data.hub import HubLayout
from zsbench.tasks import metadata
from zsbench.tasks.base import Task, TaskMeta, register_task

TASK_ID = "clotho"
CAPTION_COLUMNS = tuple(f"caption_{k}" for k in range(1, 6))
META = TaskMeta(
    id=TASK_ID, version="1", metric="retrieval",
    description="Clotho v2.1 evaluation, 1,045 clips x 5 captions, text-to-audio and audio-to-text retrieval (R@k)",
    citation="@inproceedings{drossos2020clotho, author={Drossos, Konstantinos and Lipping, Samuel and Virtanen, "
             "Tuomas}, title={Clotho: an Audio Captioning Dataset}, booktitle={Proc. ICASSP}, pages={736--740}, "
             "year={2020}}",
    license="audio: Freesound clips under their own Creative Commons licences (clotho_metadata_evaluation.csv); "
            "captions: see the Zenodo record",
    homepage="https://zenodo.org/record/4783391",
    revision="v2.1 (Zenodo record 4783391)",
    splits="evaluation (1,045 clips)",
    leaderboard_order=90,
    source=DatasetSource(archives=(
        Archive(f"{metadata.ZENODO}/4783391/files/clotho_captions_evaluation.csv", md5="1b16b9e57cf7bdb7f13a13802aeb57e2"),
        Archive(f"{metadata.ZENODO}/4783391/files/clotho_audio_evaluation.7z", md5="4569624ccadf96223f19cb59fe4f849f"),
                         ), checks={"clotho_captions_evaluation.csv": "1b16b9e57cf7bdb7f13a13802aeb57e2"}),
    hub=HubLayout("clotho_captions_evaluation.csv", ("file_name", *CAPTION_COLUMNS), "evaluation/{file_name}"),
)


def read_metadata(root: str | Path) -> metadata.Metadata:
    """Parse ``clotho_captions_evaluation.csv`` (no audio is touched)."""
    root = Path(root)
    hint = metadata.download_hint(TASK_ID)
    (path,) = metadata.require(TASK_ID, root, ["clotho_captions_evaluation.csv"], hint)
    rows = metadata.read_table(path, ["file_name", *CAPTION_COLUMNS])
    metadata.check_unique(path, rows, "file_name")
    audio = root / "evaluation"
    entries, captions, owner = [], [], []
    for r in rows:
        for column in CAPTION_COLUMNS:
            if not r[column]:
                raise metadata.MetadataError(f"{path}, line {r.line}: empty {column} for {r['file_name']}")
            captions.append(r[column])
            owner.append(len(entries))
        entries.append(metadata.Entry(id=r["file_name"], paths=(audio / r["file_name"],), targets=(), line=r.line))
    return metadata.Metadata(TASK_ID, root, path, [], [], entries, hint, audio_dirs=(audio,),
                             captions=captions, caption_entry=owner)


@register_task(META, "Clotho v2.1 evaluation: 1,045 clips x 5 captions, audio-text retrieval")
def load_clotho(data_root: str | Path | None = None, allow_missing: bool | None = None) -> Task:
    md = read_metadata(metadata.resolve_root(TASK_ID, data_root))
    return metadata.build_task(META, md, allow_missing=allow_missing)
