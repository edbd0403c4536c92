"""`zsbench data download TASK --source hf:REPO`: a Hub copy becomes the official layout.

The Hub is out of reach here, so the repository is placed in huggingface_hub's own cache (the
layout `snapshot_download` resolves offline), built from real ESC-50 clips and metadata rows.
"""

from __future__ import annotations

import csv
import json
import os

import pytest

from zsbench.prompt_strategies.bank import load_bank
from zsbench.testing import write_esc50_metadata

SHA = "0123456789abcdef0123456789abcdef01234567"


def hub_repo(repo: str, rows: list[dict]) -> None:
    """A `datasets`-style Parquet repository in the offline Hugging Face cache."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = os.path.join(os.environ["HF_HUB_CACHE"], "datasets--" + repo.replace("/", "--"))
    os.makedirs(os.path.join(folder, "refs"), exist_ok=True)
    with open(os.path.join(folder, "refs", "main"), "w") as f:
        f.write(SHA)
    data = os.path.join(folder, "snapshots", SHA, "data")
    os.makedirs(data, exist_ok=True)
    half = len(rows) // 2
    for k, part in enumerate((rows[:half], rows[half:])):
        pq.write_table(pa.Table.from_pylist(part), os.path.join(data, f"test-0000{k}-of-00002.parquet"))


@pytest.fixture
def esc50_rows(clip_set, tmp_path):
    """Twelve ESC-50 rows as a Hub copy holds them: metadata columns and the audio file's bytes
    (real fold-4 rows and FLAC clips where ``../shared`` has them, else generated ones)."""
    clips = clip_set.esc[:12]
    listing = clip_set.esc50_meta or write_esc50_metadata(tmp_path / "listing" / "esc50.csv", clips,
                                                          list(load_bank("esc50").labels))
    with open(listing, newline="") as f:
        meta = {r["filename"]: r for r in csv.DictReader(f)}
    rows = []
    for flac in clips:
        r = meta[flac.stem + ".wav"]
        rows.append({"filename": r["filename"], "fold": int(r["fold"]), "target": int(r["target"]),
                     "category": r["category"], "esc10": r["esc10"] == "True", "src_file": r["src_file"],
                     "take": r["take"], "audio": {"bytes": flac.read_bytes(), "path": r["filename"]}})
    return rows, meta


def test_hub_copy_is_written_as_the_official_release_and_recorded(isolated, esc50_rows, tmp_path):
    import soundfile as sf
    from typer.testing import CliRunner

    import zsbench
    from zsbench.cli.main import app
    from zsbench.tasks import esc50

    rows, meta = esc50_rows
    hub_repo("someone/esc50-copy", rows)
    root = tmp_path / "esc50"
    out = CliRunner().invoke(app, ["data", "download", "esc50", "--source", "hf:someone/esc50-copy",
                                   "--data-root", str(root)])
    assert out.exit_code == 0, out.output
    with open(root / "meta" / "esc50.csv", newline="") as f:
        written = list(csv.DictReader(f))
    keys = ["filename", "fold", "target", "category", "esc10", "src_file", "take"]
    assert [{k: r[k] for k in keys} for r in written] == [{k: meta[r["filename"]][k] for k in keys} for r in rows]
    assert sf.info(str(root / "audio" / rows[0]["filename"])).samplerate == 44100

    task = esc50.load_esc50(data_root=root)
    assert len(task.items) == 12
    assert sorted(task.labels) == sorted({r["category"].replace("_", " ") for r in rows})
    record = zsbench.evaluate("demo", "esc50", data_root=str(root), workers=0).record
    assert record.task["n_scored"] == 12
    assert record.task["source"] == {"source": "hf:someone/esc50-copy", "revision": SHA, "rows": 12}
    marker = json.loads((root / ".zsbench-source.json").read_text())
    assert len(marker["files"]) == 2 and all(len(h) == 64 for h in marker["files"].values())


def test_hub_copy_without_official_columns_is_refused(isolated, esc50_rows, tmp_path):
    from zsbench.tasks.catalog import download_from_hub

    rows, _ = esc50_rows
    hub_repo("someone/bad-copy", [{k: v for k, v in r.items() if k != "category"} for r in rows])
    with pytest.raises(ValueError, match="column\\(s\\) category missing"):
        download_from_hub("esc50", "hf:someone/bad-copy", tmp_path / "esc50")
    assert not (tmp_path / "esc50" / "meta" / "esc50.csv").exists()


def test_unknown_repo_task_or_malformed_source_say_what_to_do(isolated, tmp_path):
    from zsbench.data.hub import parse_source
    from zsbench.tasks.catalog import download_from_hub

    assert parse_source("hf:a/b@v1.0") == ("a/b", "v1.0")
    with pytest.raises(ValueError, match="expected hf:OWNER/NAME"):
        parse_source("a/b")
    with pytest.raises(ValueError, match="not 'audioset'"):
        download_from_hub("audioset", "hf:a/b", tmp_path)
    with pytest.raises(ValueError, match="offline, the repository must already be in the Hugging Face cache"):
        download_from_hub("esc50", "hf:nobody/nothing", tmp_path)


def test_official_release_records_no_source(isolated):
    import zsbench

    assert zsbench.evaluate(task_options={"n_per_class": 1}, workers=0).record.task["source"] is None


def test_rows_without_audio_bytes_and_a_damaged_marker_say_what_to_do(isolated, esc50_rows, tmp_path):
    from zsbench.data.hub import MARKER, data_source
    from zsbench.tasks.catalog import download_from_hub

    rows, _ = esc50_rows
    hub_repo("someone/paths-only", [{**r, "audio": {"bytes": None, "path": r["filename"]}} for r in rows])
    with pytest.raises(ValueError, match="has no audio bytes"):
        download_from_hub("esc50", "hf:someone/paths-only", tmp_path / "esc50")
    (tmp_path / MARKER).write_text("{not json")
    with pytest.raises(ValueError, match="damaged source marker; delete it"):
        data_source(tmp_path)
