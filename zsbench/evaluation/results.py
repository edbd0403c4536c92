"""Run records and the results store.

One JSON file per run, written atomically (temporary file, then rename), so concurrent runs and
crashes can neither corrupt nor silently replace a result: re-running a configuration adds a
record, and the leaderboard decides between latest and mean.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

from zsbench.runtime.fsutil import atomic_write
from zsbench.runtime.paths import results_dir


@dataclass
class RunRecord:
    run_id: str
    created: str  # ISO 8601, UTC
    config: dict[str, Any]  # every parameter of the run, as given
    model: dict[str, Any]  # name, fingerprint, meta
    task: dict[str, Any]  # id, version, params, counts (items, scored, skipped files)
    prompts: dict[str, Any]  # strategy, params, bank hash, prompts per label
    preprocessing: dict[str, Any]  # rate, clip policy, crop mode, seed, key
    metrics: dict[str, Any]  # MetricReport.to_dict()
    timings: dict[str, float]  # seconds per stage
    cache: dict[str, Any]  # hits and computed counts, or why it was off
    packages: dict[str, str]
    git_revision: str | None = None
    seed: int = 0
    sweep_id: str | None = None
    schema: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def headline(self) -> tuple[str, float | None]:
        key = self.metrics["headline"]
        return key, self.metrics["values"].get(key)

    @property
    def inference(self) -> tuple[str, bool]:
        """(precision, compiled): bf16/fp16 autocast and torch.compile change embeddings in the
        last bits and may move a metric, so such runs are reported and ranked apart from fp32
        eager ones. Records from before these options ran fp32 eager."""
        return self.config.get("precision", "fp32"), bool(self.config.get("compile", False))

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True, allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunRecord":
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


class ResultsStore:
    def __init__(self, root: Path | str | None = None):
        self.root = Path(root) if root is not None else results_dir()

    def append(self, record: RunRecord) -> Path:
        stamp = record.created.replace(":", "").replace("-", "")
        path = self.root / f"{stamp}-{record.run_id}.json"
        with atomic_write(path) as f:
            f.write(record.to_json())
        return path

    def records(self) -> Iterator[RunRecord]:
        """Every stored record, oldest first; a damaged file is reported, never dropped silently."""
        if not self.root.exists():
            return
        for path in sorted(self.root.glob("*.json")):
            try:
                yield RunRecord.from_dict(json.loads(path.read_text(encoding="utf-8")))
            except (json.JSONDecodeError, TypeError, KeyError) as exc:
                raise ValueError(f"{path}: not a zsbench run record ({exc}). Move it out of {self.root}.") from None
