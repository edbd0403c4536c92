"""Banks written by anyone else, in the ReCLAP authors' two-stage output format.

The paper's scripts (Sreyan88/ReCLAP ``prompts/stage_1.py`` and ``stage_2.py``) write JSON lines:

- stage 1, one line per label in the label file's order: ``{"1": description, "2": ...}``;
- stage 2, one line per label: ``{"label": "sea waves", "rewrites": {description: {"1": caption,
  ...} or "Error"}}``, where "Error" stands for a reply their script could not parse.

Stage 2 alone holds everything a bank needs (its keys are the descriptions); stage 1, when given,
fixes the descriptions' order and keeps descriptions whose stage-2 request failed (they keep no
captions). Line i of stage 1 belongs to line i of stage 2, as in their script. Labels are matched
to the task's by case and underscores; "Error" entries and labels the task does not have are
counted and skipped, never written.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from zsbench.prompt_strategies.bank import Bank, BankError


@dataclass
class ImportReport:
    labels: int = 0
    captions: int = 0
    errors: list[str] = field(default_factory=list)          # "label: description" whose reply was "Error"
    unknown_labels: list[str] = field(default_factory=list)  # in the file, not in the task
    missing_labels: list[str] = field(default_factory=list)  # in the task, not in the file
    empty_captions: int = 0


def _key(label: str) -> str:
    return re.sub(r"\s+", " ", label.replace("_", " ")).strip().lower()


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BankError(f"{path}, line {line_no}: not a JSON object ({exc.msg}); each line of the "
                                "authors' output is one JSON object") from None
            if not isinstance(row, dict):
                raise BankError(f"{path}, line {line_no}: expected a JSON object, got {type(row).__name__}")
            rows.append({"_line": line_no, **row})
    return rows


def _numbered(values: dict[str, Any]) -> list[Any]:
    """A reply's ``{"1": ..., "2": ...}`` in numeric order (other keys after, as they came)."""
    return [values[k] for k in sorted(values, key=lambda k: (0, int(k)) if str(k).isdigit() else (1, 0))]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def import_authors_bank(stage2: Path, task: str, task_labels: list[str],
                        stage1: Path | None = None) -> tuple[Bank, ImportReport]:
    """Build a bank for ``task`` from the authors' stage-2 (and optionally stage-1) JSON lines."""
    stage2, stage1 = Path(stage2), Path(stage1) if stage1 else None
    rows = _read_jsonl(stage2)
    firsts = _read_jsonl(stage1) if stage1 else None
    if firsts is not None and len(firsts) != len(rows):
        raise BankError(f"{stage1} has {len(firsts)} lines and {stage2} has {len(rows)}: line i of stage 1 must "
                        "be the descriptions of line i's label in stage 2 (as the authors' stage_2.py pairs them)")
    by_key = {_key(label): label for label in task_labels}
    report = ImportReport()
    labels: dict[str, list[dict[str, Any]]] = {}
    for i, row in enumerate(rows):
        where = f"{stage2}, line {row['_line']}"
        if not isinstance(row.get("label"), str) or not isinstance(row.get("rewrites"), dict):
            raise BankError(f"{where}: expected {{\"label\": ..., \"rewrites\": {{description: {{\"1\": caption}}}}}}")
        label = by_key.get(_key(row["label"]))
        if label is None:
            report.unknown_labels.append(row["label"])
            continue
        if label in labels:
            raise BankError(f"{where}: label {row['label']!r} appears twice (as {label!r})")
        rewrites = row["rewrites"]
        descriptions = ([d for d in _numbered({k: v for k, v in firsts[i].items() if k != "_line"})
                         if isinstance(d, str) and d.strip()] if firsts is not None else list(rewrites))
        entries = []
        for description in descriptions:
            reply = rewrites.get(description)
            captions: list[str] = []
            if reply == "Error":
                report.errors.append(f"{label}: {description}")
            elif isinstance(reply, dict):
                for caption in _numbered(reply):
                    if isinstance(caption, str) and caption.strip():
                        captions.append(caption.strip())
                    else:
                        report.empty_captions += 1
            entries.append({"text": description.strip(), "captions": list(dict.fromkeys(captions))})
        if entries:
            labels[label] = entries
            report.captions += sum(len(e["captions"]) for e in entries)
    if not labels:
        raise BankError(f"{stage2}: no line names a label of task {task!r} (e.g. {task_labels[:3]}); "
                        "is it the stage-2 output for another task?")
    report.labels = len(labels)
    report.missing_labels = [label for label in task_labels if label not in labels]
    sources = {"stage2": {"file": stage2.name, "sha256": _sha256(stage2)}}
    if stage1:
        sources["stage1"] = {"file": stage1.name, "sha256": _sha256(stage1)}
    provenance = {
        "generator": "imported",
        "source": sources,
        "format": "ReCLAP authors' two-stage JSON lines (Sreyan88/ReCLAP prompts/stage_1.py, stage_2.py)",
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "t": max(len(v) for v in labels.values()),
        "n": max(len(d["captions"]) for v in labels.values() for d in v),
        "skipped": {"error_replies": len(report.errors), "unknown_labels": report.unknown_labels,
                    "empty_captions": report.empty_captions},
        "notes": f"{report.labels} of {len(task_labels)} task labels, {report.captions} captions",
    }
    if report.missing_labels:
        provenance["incomplete"] = report.missing_labels
    return Bank(task=task, labels=labels, provenance=provenance), report
