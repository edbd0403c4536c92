"""Leaderboard tables from stored records: layout, best-in-column, aggregation and provenance."""

from __future__ import annotations

import pytest

from zsbench.leaderboard.render import IncomparableRunsError, render
from zsbench.results import ResultsStore, RunRecord


def record(model="m1", task="t1", acc=0.5, strategy="template", created="2026-01-01T00:00:00Z", run_id="r",
           bank="b1", fp="f1", version="1", ci=None) -> RunRecord:
    return RunRecord(
        run_id=run_id, created=created, config={}, model={"name": model, "fingerprint": fp, "meta": {}},
        task={"id": task, "version": version}, prompts={"strategy": strategy, "params": {}, "bank_hash": bank},
        preprocessing={"key": "k"}, metrics={"headline": "accuracy", "values": {"accuracy": acc}, "ci": ci},
        timings={}, cache={}, packages={})


def test_rows_columns_and_bold_best():
    recs = [record("m1", "t1", 0.5, run_id="a"), record("m2", "t1", 0.7, run_id="b"),
            record("m1", "t2", 0.9, run_id="c")]
    table = render(recs)
    lines = table.strip().splitlines()
    assert lines[0] == "| model · prompts | t1 | t2 |"
    assert "| m1 · template | 50.00 | **90.00** |" in lines
    assert "| m2 · template | **70.00** | – |" in lines


def test_latest_wins_and_mean_gives_std():
    recs = [record(acc=0.5, created="2026-01-01T00:00:00Z", run_id="old"),
            record(acc=0.7, created="2026-01-02T00:00:00Z", run_id="new")]
    assert "**70.00**" in render(recs)
    mean = render(recs, aggregate="mean", explain=True)
    assert "60.00 ± 14.14" in mean and "runs old, new" in mean


def test_mean_refuses_to_mix_prompt_banks_or_task_versions():
    for other in (record(bank="b2", run_id="y"), record(version="2", run_id="y"), record(fp="f2", run_id="y")):
        with pytest.raises(IncomparableRunsError, match="runs x, y differ"):
            render([record(run_id="x"), other], aggregate="mean")


def test_ci_and_csv():
    recs = [record(acc=0.5, ci=[0.4, 0.6])]
    assert "[40.0, 60.0]" in render(recs, show_ci=True)
    assert render(recs, fmt="csv").splitlines() == ["model · prompts,t1", "m1 · template,50.0000"]


def test_store_roundtrip_and_damaged_file(tmp_path):
    store = ResultsStore(tmp_path)
    path = store.append(record(run_id="abc"))
    assert [r.run_id for r in store.records()] == ["abc"]
    assert not list(tmp_path.glob(".*tmp"))  # no temporary file left behind
    (tmp_path / "zz-broken.json").write_text("{ half a record")
    with pytest.raises(ValueError, match="zz-broken.json: not a zsbench run record"):
        list(store.records())
    assert path.exists()
