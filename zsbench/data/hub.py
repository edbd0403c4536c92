"""A dataset from a Hugging Face ``datasets`` repository, laid out as its official release.

Some datasets have faithful copies on the Hub as Parquet files (an ``audio`` column holding each
clip's original file bytes beside the official metadata columns). ``zsbench data download TASK
--source hf:OWNER/NAME[@REVISION]`` fetches one through ``huggingface_hub`` (its cache, token and
offline mode apply) and writes the official layout from it: the same metadata file, the same audio
paths. The task then loads and scores it exactly as it scores the official release, and a marker
file in the data root records where the copy came from (repository, commit, file hashes), which
every run record carries as ``task.source``.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from zsbench.data.download import file_digest
from zsbench.runtime.fsutil import atomic_write
from zsbench.runtime.progress import bar

MARKER = ".zsbench-source.json"


@dataclass(frozen=True)
class HubLayout:
    """How a Hub copy's rows map onto a task's official release. Each task that supports
    ``--source hf:`` declares its own in its module (``TaskMeta.hub``), read through the task
    registry (:func:`zsbench.tasks.catalog.hub_layout`), which hands it to :func:`fetch`."""

    metadata: str  # the official metadata file, relative to the data root
    columns: tuple[str, ...]  # its columns in official order; the Hub copy must have them all
    audio: str  # each clip's official path, formatted with the row's columns


def parse_source(source: str) -> tuple[str, str | None]:
    """``hf:owner/name[@revision]`` -> (repository, revision)."""
    if not source.startswith("hf:") or source.count("/") != 1 or not source[3:].split("@")[0].strip("/"):
        raise ValueError(f"--source {source!r}: expected hf:OWNER/NAME or hf:OWNER/NAME@REVISION")
    repo, _, revision = source[3:].partition("@")
    return repo, revision or None


def fetch(layout: HubLayout, source: str, root: Path) -> Path:
    """Fetch the repository's Parquet files and write ``layout`` (a task's official layout) under
    ``root``. Which layout a task has is the task's own fact: ``tasks.catalog.download_from_hub``."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    repo, revision = parse_source(source)
    try:
        snapshot = Path(snapshot_download(repo, repo_type="dataset", revision=revision,
                                          allow_patterns=["*.parquet", "**/*.parquet"]))
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as exc:
        raise ValueError(f"hf:{repo}: could not fetch the dataset repository ({exc}). Check the name and your "
                         "network or HF_TOKEN; offline, the repository must already be in the Hugging Face cache.") from None
    files = sorted(snapshot.rglob("*.parquet"))
    if not files:
        raise ValueError(f"hf:{repo} ({snapshot}) has no Parquet files; it is not a `datasets` repository zsbench can read")
    rows = _materialise(layout, files, Path(root), f"hf:{repo}")
    marker = {"source": f"hf:{repo}", "revision": snapshot.name, "rows": rows,
              "files": {str(f.relative_to(snapshot)): file_digest(f, "sha256") for f in files}}
    with atomic_write(Path(root) / MARKER) as f:
        f.write(json.dumps(marker, indent=2, sort_keys=True))
    return Path(root)


def _materialise(layout: HubLayout, files: list[Path], root: Path, what: str) -> int:
    import pyarrow.parquet as pq

    total = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    out_rows: list[dict[str, Any]] = []
    with bar(f"writing {what} as the official layout", total) as advance:
        for path, row in _rows(files):
            missing = [c for c in (*layout.columns, "audio") if c not in row]
            if missing:
                raise ValueError(f"{path}: column(s) {', '.join(missing)} missing; the official layout needs "
                                 f"{', '.join(layout.columns)} and an audio column of file bytes")
            data = row["audio"].get("bytes") if isinstance(row["audio"], dict) else None
            if not data:
                raise ValueError(f"{path}: row {row.get(layout.columns[0])!r} has no audio bytes "
                                 "(the audio column must hold each clip's file, as `datasets` Audio stores it)")
            target = root / layout.audio.format(**row)
            if not (target.exists() and target.stat().st_size == len(data)):  # resume: done files stay
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(target.name + ".part")
                tmp.write_bytes(data)
                os.replace(tmp, target)
            out_rows.append({c: row[c] for c in layout.columns})
            advance(1)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(layout.columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(out_rows)
    with atomic_write(root / layout.metadata) as f:
        f.write(buf.getvalue())
    return len(out_rows)


def _rows(files: list[Path]) -> Iterator[tuple[Path, dict[str, Any]]]:
    import pyarrow.parquet as pq

    for path in files:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=64):
            for row in batch.to_pylist():
                yield path, row


def data_source(root: Path | str | None) -> dict[str, Any] | None:
    """Where a data root's copy came from, when it is not the official release (else None)."""
    marker = Path(root) / MARKER if root else None
    if marker is None or not marker.exists():
        return None
    try:
        info = json.loads(marker.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        raise ValueError(f"{marker}: damaged source marker; delete it and re-run `zsbench data download --source ...`") from None
    return {k: info.get(k) for k in ("source", "revision", "rows")}
