"""Prompt banks: per label, t acoustic descriptions and, per description, n scene captions.

A bank is a versioned JSON file with its provenance and a content hash. The hash covers the
labels' text only, so editing one caption changes it, and the run record carries it: two runs
with different banks never share a leaderboard cell.

    {"format": "zsbench-prompt-bank/1",
     "task": "esc50",
     "provenance": {"generator": ..., "instructions": {"stage1": ..., "stage2": ...},
                    "temperature": ..., "date": ..., "t": 5, "n": 10, "notes": ...},
     "quality": {"synonyms": {"rooster": ["crow"]},
                 "allow": [{"names": [...], "labels": [...], "reason": "..."}]},
     "labels": {"dog": [{"text": "...", "captions": ["...", ...]}, ...], ...},
     "sha256": "<sha256 of the canonical JSON of labels>"}

``quality`` only explains what the leakage check (``quality.py``, ``zsbench prompts stats``)
should not count; it changes no prompt, so it is outside the hash.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zsbench.prompt_strategies.quality import AVOIDED, Allowance

FORMAT = "zsbench-prompt-bank/1"
BANKS_DIR = Path(__file__).resolve().parent / "banks"
# The paper asked its LLM to avoid these in stage-2 captions: counted and warned about, never refused.
BANNED = AVOIDED


class BankError(ValueError):
    pass


@dataclass
class Bank:
    task: str
    labels: dict[str, list[dict[str, Any]]]  # label -> [{"text": description, "captions": [...]}]
    provenance: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    quality: dict[str, Any] = field(default_factory=dict)  # {"synonyms": {...}, "allow": [...]}

    @property
    def synonyms(self) -> dict[str, list[str]]:
        return dict(self.quality.get("synonyms") or {})

    @property
    def allowances(self) -> list[Allowance]:
        return [Allowance.parse(e, str(self.path or "bank")) for e in self.quality.get("allow") or []]

    def prompts(self) -> dict[str, list[str]]:
        """Per label, every prompt a strategy can send: its descriptions, then its captions."""
        return {label: self.descriptions(label) + self.captions(label) for label in self.labels}

    @property
    def sha256(self) -> str:
        return content_hash(self.labels)

    def descriptions(self, label: str) -> list[str]:
        return [d["text"] for d in self._entry(label)]

    def captions(self, label: str) -> list[str]:
        return [c for d in self._entry(label) for c in d.get("captions", [])]

    def _entry(self, label: str) -> list[dict[str, Any]]:
        if label not in self.labels:
            raise BankError(f"{self.path or 'prompt bank'}: no entry for label {label!r}; the bank's labels must "
                            f"match the task's (it has {len(self.labels)} labels, e.g. {sorted(self.labels)[:3]})")
        return self.labels[label]

    def to_json(self) -> str:
        body = {"format": FORMAT, "task": self.task, "provenance": self.provenance}
        if self.quality:
            body["quality"] = self.quality
        return json.dumps({**body, "labels": self.labels, "sha256": self.sha256}, indent=1, ensure_ascii=False)


def content_hash(labels: dict[str, Any]) -> str:
    canonical = json.dumps(labels, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def bank_path(name_or_path: str | Path) -> Path:
    """A shipped bank by task id (``esc50``) or any file path."""
    path = Path(name_or_path)
    if path.suffix == ".json" or path.exists():
        return path
    return BANKS_DIR / f"{name_or_path}.json"


def task_bank(task_id: str | None) -> str:
    """The bank a task uses unless ``--bank`` names another: its ``TaskMeta.bank`` (a task can
    share another's bank or ship a file), else the bank named like the task."""
    from zsbench.registry import TASKS
    from zsbench.tasks import catalog

    meta = catalog.meta(task_id) if task_id and task_id in TASKS else None
    return meta.bank_name if meta is not None else (task_id or "")


def load_bank(name_or_path: str | Path) -> Bank:
    path = bank_path(name_or_path)
    if not path.exists():
        shipped = sorted(p.stem for p in BANKS_DIR.glob("*.json"))
        raise BankError(f"prompt bank {path} not found. Shipped banks: {', '.join(shipped) or 'none'}; "
                        "or pass --bank FILE.json (zsbench prompts generate writes one)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BankError(f"{path}: not a readable JSON prompt bank ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BankError(f"{path}: not a zsbench prompt bank (expected \"format\": \"{FORMAT}\")")
    bank = Bank(task=str(data.get("task", "")), labels=data.get("labels") or {},
                provenance=data.get("provenance") or {}, path=path, quality=data.get("quality") or {})
    problems = validate(bank.labels, require_captions=False)
    try:
        bank.allowances
    except ValueError as exc:
        problems.append(str(exc))
    if problems:
        raise BankError(f"{path}: invalid bank: " + "; ".join(problems[:5]))
    avoided = sum(1 for label in bank.labels for c in bank.captions(label) if AVOIDED.search(c))
    if avoided:
        warnings.warn(f"{path}: {avoided} caption(s) use 'heard' or 'sound(s)', which the paper asked its LLM to "
                      "avoid in captions (counted by zsbench prompts stats; not an error)", stacklevel=2)
    if data.get("sha256") != bank.sha256:
        raise BankError(f"{path}: content hash mismatch (file says {data.get('sha256')}, content is "
                        f"{bank.sha256}): the bank was edited without updating its hash")
    return bank


def validate(labels: dict[str, Any], t: int | None = None, n: int | None = None,
             require_captions: bool = True) -> list[str]:
    """Everything wrong with a bank's labels, as messages naming the label (empty when valid)."""
    problems: list[str] = []
    if not isinstance(labels, dict) or not labels:
        return ["no labels"]
    for label, descs in labels.items():
        if not isinstance(descs, list) or not descs:
            problems.append(f"{label!r}: no descriptions")
            continue
        if t is not None and len(descs) != t:
            problems.append(f"{label!r}: {len(descs)} descriptions, expected {t}")
        texts = [d.get("text", "") if isinstance(d, dict) else "" for d in descs]
        if any(not isinstance(x, str) or not x.strip() for x in texts):
            problems.append(f"{label!r}: an empty description")
        if len({x.strip().lower() for x in texts}) != len(texts):
            problems.append(f"{label!r}: duplicated descriptions")
        captions = [c for d in descs if isinstance(d, dict) for c in d.get("captions", [])]
        for i, d in enumerate(descs):
            caps = d.get("captions", []) if isinstance(d, dict) else []
            if require_captions and not caps:
                problems.append(f"{label!r}: description {i + 1} has no captions")
            if n is not None and require_captions and len(caps) != n:
                problems.append(f"{label!r}: description {i + 1} has {len(caps)} captions, expected {n}")
        if any(not isinstance(c, str) or not c.strip() for c in captions):
            problems.append(f"{label!r}: an empty caption")
        elif len({c.strip().lower() for c in captions}) != len(captions):
            problems.append(f"{label!r}: duplicated captions")
    return problems
