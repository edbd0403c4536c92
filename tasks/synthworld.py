"""The procedural sound world as a task: the offline demo, scored like any real dataset.

Clips are rendered once to FLAC under the data dir and then read back through the same audio
I/O as real data, so the demo exercises decode, resample, crop and the cache for real.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import shutil
import tempfile
from pathlib import Path

from zsbench.runtime.paths import data_dir
from zsbench.runtime.progress import bar
from zsbench.tasks.base import Item, Task, TaskMeta, register_task

VERSION = "3"  # 2: the manifest carries each clip's rewrites (retrieval captions); 3: scenes (synthworld-v2)
META = TaskMeta(id="synthworld", version=VERSION, metric="accuracy",
                description="procedural sound world, test split (zsbench.synthworld)", license="CC0 (generated)",
                revision="synthworld-v2", splits="test (generated; classes= picks all, seen or held-out)")
CAPTIONS_META = TaskMeta(id="synthworld-captions", version=VERSION, metric="retrieval",
                         description="procedural sound world, test split, caption retrieval "
                                     "(AudioCaps-style, 5 per clip)",
                         license="CC0 (generated)", revision="synthworld-v2", splits="test (generated)")


def _manifest(data_root: str | Path | None, n_per_class: int, seed: int) -> tuple[Path, list[dict]]:
    base = Path(data_root) if data_root else data_dir() / "synthworld"
    root = base / f"v{VERSION}-seed{seed}-n{n_per_class}"
    if not (root / "manifest.csv").exists():
        _render(root, n_per_class, seed)
    with open(root / "manifest.csv", newline="", encoding="utf-8") as f:
        return root, list(csv.DictReader(f))


def label_names(task_id: str = "synthworld") -> list[str]:
    """The 18 sound classes, without rendering anything."""
    from zsbench.synthworld import CLASSES

    return [c.name for c in CLASSES]


@register_task(META, "procedural sound world (offline demo): 18 synthesised sound classes, accuracy")
def load_synthworld(data_root: str | Path | None = None, n_per_class: int = 20, seed: int = 0,
                    classes: str = "all") -> Task:
    """``classes``: ``all``, ``seen`` or ``held-out`` (the tiny CLAP's training split of the
    classes, :data:`zsbench.synthworld.HELD_OUT`), or a comma-separated list: the label set the
    clips are scored against, and the clips kept."""
    from zsbench import synthworld

    root, rows = _manifest(data_root, n_per_class, seed)
    labels = list(synthworld.class_subset(classes))
    index = {lab: i for i, lab in enumerate(labels)}
    items = [Item(id=r["id"], path=root / r["file"], targets=(index[r["label"]],)) for r in rows
             if r["label"] in index]
    meta = META if classes == "all" else dataclasses.replace(META,
                                                             description=f"{META.description}, classes: {classes}")
    params = {"n_per_class": n_per_class, "seed": seed, **({} if classes == "all" else {"classes": classes})}
    return Task(meta=meta, labels=labels, items=items, data_root=root, params=params)


@register_task(CAPTIONS_META, "procedural sound world as audio-text retrieval: 5 captions per clip, R@k")
def load_synthworld_captions(data_root: str | Path | None = None, n_per_class: int = 20, seed: int = 0) -> Task:
    root, rows = _manifest(data_root, n_per_class, seed)
    items, captions, owner = [], [], []
    for i, r in enumerate(rows):
        items.append(Item(id=r["id"], path=root / r["file"], targets=()))
        for caption in [r["caption"], *json.loads(r["rewrites"])]:
            captions.append(caption)
            owner.append(i)
    return Task(meta=CAPTIONS_META, labels=[], items=items, data_root=root, captions=captions, caption_item=owner,
                params={"n_per_class": n_per_class, "seed": seed})


def _render(root: Path, n_per_class: int, seed: int) -> None:
    """Render into a temporary sibling folder and rename it into place, so a crash never
    leaves a half-written task that later runs would mistake for the real one."""
    import soundfile as sf

    from zsbench import synthworld

    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=root.parent, prefix=f".{root.name}-"))
    try:
        rows = []
        with bar("rendering synthworld (once)", n_per_class * len(synthworld.CLASSES)) as advance:
            for clip_id, clip in synthworld.generate(n_per_class, seed, split="test"):
                name = f"{clip_id}.flac"
                sf.write(tmp / name, clip.audio, synthworld.SAMPLE_RATE, subtype="PCM_16")
                rows.append({"id": clip_id, "file": name, "label": clip.label, "caption": clip.caption,
                             "rewrites": json.dumps(list(clip.rewrites))})
                advance(1)
        with open(tmp / "manifest.csv", "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=["id", "file", "label", "caption", "rewrites"])
            writer.writeheader()
            writer.writerows(rows)
        try:
            os.rename(tmp, root)
        except OSError:  # another process finished first: theirs is identical
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
