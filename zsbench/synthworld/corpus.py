"""The training corpus of the tiny CLAP: seen classes only, as the ReCLAP recipe's CSV.

Whole classes are held out (``HELD_OUT``): their clips are never rendered into the corpus and
their names never occur in its captions (``check_held_out`` refuses a corpus where one does), so
zero-shot accuracy on them measures transfer through property and scene words shared with the
seen classes, which is what the paper's description prompts rely on.

The CSV has the columns of the authors' data loader (``path, caption, dataset,
rewritten_captions``), the last a JSON list: the procedural rewrites stand in for the LLM
rewrites that ``zsbench prompts rewrite-captions`` produces in the same format.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

from zsbench.runtime.progress import bar
from zsbench.synthworld.classes import CLASSES
from zsbench.synthworld.render import SAMPLE_RATE, clip_seed, render, slug

# Chosen so that each has seen classes sharing its property words: the siren's pitch sweeps
# ("rising and falling", "up and down"), the bell's ringing decay (glasses), knocks' dull thumps
# (heartbeat, footsteps), the kettle's high whistle (bird), applause's dense crackle (rain).
HELD_OUT: tuple[str, ...] = ("siren", "church bell", "door knock", "kettle whistle", "applause")
SEEN: tuple[str, ...] = tuple(c.name for c in CLASSES if c.name not in HELD_OUT)
COLUMNS = ("path", "caption", "dataset", "rewritten_captions")
CORPUS_VERSION = "2"  # part of the corpus folder name: bump when captions or audio change


def class_subset(which: str) -> tuple[str, ...]:
    """``all``, ``seen``, ``held-out``, or a comma-separated list of class names."""
    names = tuple(c.name for c in CLASSES)
    if which == "all":
        return names
    if which == "seen":
        return SEEN
    if which == "held-out":
        return HELD_OUT
    chosen = tuple(s.strip() for s in which.split(",") if s.strip())
    unknown = [s for s in chosen if s not in names]
    if unknown or not chosen:
        raise ValueError(f"classes={which!r}: unknown class(es) {unknown}; use all, seen, held-out or a "
                         f"comma-separated list of: {', '.join(names)}")
    return chosen


def held_out_mentions(captions: Iterable[str], held_out: Sequence[str] = HELD_OUT) -> list[tuple[str, str]]:
    """(label, caption) for every caption that names a held-out class (case-insensitive substring)."""
    return [(lab, cap) for cap in captions for lab in held_out if lab.lower() in cap.lower()]


def check_held_out(captions: Iterable[str], held_out: Sequence[str] = HELD_OUT, source: str = "corpus") -> None:
    hits = held_out_mentions(captions, held_out)
    if hits:
        lab, cap = hits[0]
        raise ValueError(f"{source}: {len(hits)} training caption(s) name a held-out class, e.g. {lab!r} in "
                         f"{cap!r}; remove those clips or reword the captions")


def write_corpus(root: Path, n_per_class: int, seed: int, classes: Sequence[str] = SEEN,
                 split: str = "train", progress: bool = True) -> Path:
    """Render ``classes`` x ``n_per_class`` clips into ``root`` with ``train.csv``; returns the CSV.

    Rendered into a temporary sibling and renamed into place, so a crash never leaves a partial
    corpus that a later run would take for a finished one; an existing corpus is reused.
    """
    root = Path(root)
    csv_path = root / "train.csv"
    if csv_path.exists():
        return csv_path
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=root.parent, prefix=f".{root.name}-"))
    import soundfile as sf

    try:
        rows = []
        with bar("rendering the training corpus (once)", n_per_class * len(classes), progress) as advance:
            for label in classes:
                for i in range(n_per_class):
                    clip = render(label, clip_seed(seed, split, label, i))
                    name = f"{split}-{slug(label)}-{i:04d}.flac"
                    sf.write(tmp / name, clip.audio, SAMPLE_RATE, subtype="PCM_16")
                    rows.append({"path": name, "caption": clip.caption, "dataset": "synthworld",
                                 "rewritten_captions": json.dumps(list(clip.rewrites))})
                    advance(1)
        held = [h for h in HELD_OUT if h not in classes]
        check_held_out((t for r in rows for t in [r["caption"], *json.loads(r["rewritten_captions"])]), held)
        with open(tmp / "train.csv", "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(COLUMNS))
            writer.writeheader()
            writer.writerows(rows)
        try:
            os.rename(tmp, root)
        except OSError:  # another process finished first: its corpus is identical
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return csv_path
