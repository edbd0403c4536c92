"""Leaderboard tables from fixture run records (no model runs): every table shape rendered and
compared with the expected Markdown exactly, ranking, aggregation over seeds, what may share a
cell, published numbers and differences, CSV/JSON, plots."""

from __future__ import annotations

import json
import re

import pytest

from zsbench.leaderboard import published as pub
from zsbench.leaderboard import tables
from zsbench.leaderboard.render import IncomparableRunsError, build_table, render, write_plot
from zsbench.leaderboard.table import to_markdown
from zsbench.results import ResultsStore, RunRecord

TEMPLATE = "This is a sound of {label}."


def record(model="m1", task="t1", acc=0.5, strategy="template", created="2026-01-01T00:00:00Z", run_id="r",
           bank="b1", fp="f1", version="1", ci=None, seed=0, n=None, crop="seeded", task_params=None,
           values=None, per_class=None, sweep=None, templates=None, config=None) -> RunRecord:
    params = {"pooling": "embedding-mean"}
    if strategy in ("augmented", "description"):
        params.update(bank_sha256=f"sha-{bank}", bank=f"/x/{bank}.json", seed=seed)
        if n is not None:
            params["n"] = n
    elif templates:
        params["templates"] = templates
    headline = "t2a_R@1" if values and "t2a_R@1" in values else "accuracy"
    rec = RunRecord(
        run_id=run_id, created=created, config=config or {}, seed=seed,
        model={"name": model, "fingerprint": fp, "meta": {"templates": [TEMPLATE]}},
        task={"id": task, "version": version, "params": task_params or {},
              "metric": "retrieval" if headline == "t2a_R@1" else "accuracy"},
        prompts={"strategy": strategy, "params": params, "bank_hash": f"{bank}-{seed}" if "seed" in params else bank},
        preprocessing={"sample_rate": 16000, "clip": {"seconds": 10.0}, "crop": crop, "seed": seed,
                       "key": f"k-{crop}-{seed}"},
        metrics={"headline": headline, "values": values or {"accuracy": acc}, "ci": ci, "per_class": per_class or {}},
        timings={}, cache={}, packages={})
    if sweep:
        rec.sweep_id = sweep[0]
        rec.extra["sweep"] = {"id": sweep[0], "index": sweep[1], "point": sweep[2], "axes": sweep[3]}
    return rec


def test_classification_table_ii_shape_groups_bold_and_underline():
    recs = [record("m1", "esc50", 0.50, run_id="a"), record("m2", "esc50", 0.70, run_id="b"),
            record("m1", "us8k", 0.90, run_id="c"), record("m2", "us8k", 0.40, run_id="d"),
            record("m1", "esc50", 0.80, "augmented", n=2, run_id="e"), record("m1", "us8k", 0.60, "augmented", n=2,
                                                                             run_id="f")]
    assert render(recs) == (
        "| model · prompts | esc50 | us8k |\n"
        "|---|---:|---:|\n"
        "| *w/o prompt aug.* | | |\n"
        "| m1 · template | 50.00 | **90.00** |\n"
        "| m2 · template | <u>70.00</u> | 40.00 |\n"
        "| *w/ prompt aug.* | | |\n"
        "| m1 · augmented N=2 | **80.00** | <u>60.00</u> |\n")


def test_single_group_has_no_heading_and_latest_wins():
    recs = [record(acc=0.5, created="2026-01-01T00:00:00Z", run_id="old"),
            record(acc=0.7, created="2026-01-02T00:00:00Z", run_id="new"), record("m2", acc=0.6, run_id="z")]
    assert render(recs, explain=True) == (
        "| model · prompts | t1 |\n"
        "|---|---:|\n"
        "| m1 · template | **70.00** |\n"
        "| m2 · template | <u>60.00</u> |\n"
        "\n"
        "- m1 · template / t1: runs new\n"
        "- m2 · template / t1: runs z\n")


def test_mean_over_seeds_of_augmented_prompts_is_allowed():
    # different seeds draw different prompts from the same bank and crop differently: one experiment
    recs = [record(strategy="augmented", n=2, seed=s, acc=a, run_id=f"s{s}") for s, a in ((0, 0.5), (1, 0.7))]
    text = render(recs, aggregate="mean", explain=True)
    assert "| m1 · augmented N=2 | **60.00 ± 14.14** |" in text and "runs s0, s1" in text


@pytest.mark.parametrize("other,why", [
    (dict(bank="b2"), "prompt bank"), (dict(version="2"), "task version"), (dict(fp="f2"), "model weights"),
    (dict(crop="centre"), "preprocessing / crop mode"), (dict(task_params={"folds": [1]}), "task parameters"),
    (dict(config={"precision": "bf16"}), "inference precision / compile"),
    (dict(config={"precision": "fp32", "compile": True}), "inference precision / compile")])
def test_mean_refuses_to_mix_runs_that_are_different_experiments(other, why):
    with pytest.raises(IncomparableRunsError, match=f"runs x, y differ in {why}"):
        render([record(run_id="x"), record(run_id="y", created="2026-01-02T00:00:00Z", **other)], aggregate="mean")


def test_fp32_eager_records_with_and_without_the_inference_fields_share_a_cell():
    recs = [record(run_id="x", acc=0.5), record(run_id="y", acc=0.7, seed=1, created="2026-01-02T00:00:00Z",
                                                  config={"precision": "fp32", "compile": False})]
    assert "60.00 ± 14.14" in render(recs, aggregate="mean")


def test_retrieval_table_i_shape():
    def vals(x):
        return {f"{d}_R@{k}": x + k / 100 for d in ("t2a", "a2t") for k in (1, 5, 10)} | {"t2a_mAP@10": x}

    recs = [record("m1", "clotho", values=vals(0.1), run_id="a"), record("m2", "clotho", values=vals(0.2), run_id="b"),
            record("m1", "esc50", 0.9, run_id="c")]  # a classification run stays out
    assert render(recs, table="retrieval") == (
        "| model | clotho T2A R@1 | clotho T2A R@5 | clotho T2A R@10 | clotho A2T R@1 | clotho A2T R@5 | "
        "clotho A2T R@10 |\n"
        "|---|---:|---:|---:|---:|---:|---:|\n"
        "| m1 · template | <u>11.00</u> | <u>15.00</u> | <u>20.00</u> | <u>11.00</u> | <u>15.00</u> | <u>20.00</u> |\n"
        "| m2 · template | **21.00** | **25.00** | **30.00** | **21.00** | **25.00** | **30.00** |\n")


def _sweep_records(sid="sw-abc", model="m1", created="2026-01-01T00:00:0"):
    recs, i = [], 0
    accs = {("t1", 1): (0.40, 0.50), ("t1", 2): (0.60, 0.70), ("t2", 1): (0.20, 0.20), ("t2", 2): (0.30, 0.50)}
    for n in (1, 2):
        for seed in (0, 1):
            for task in ("t1", "t2"):
                recs.append(record(model, task, accs[(task, n)][seed], "augmented", n=n, seed=seed, run_id=f"{sid}-{i}",
                                   created=f"{created}{i}Z",
                                   sweep=(sid, i, {"n": n, "seed": seed, "task": task}, ["n", "seed", "task"])))
                i += 1
    return recs


def test_sweep_table_iv_shape_mean_and_std_over_seeds():
    text = render(_sweep_records(), table="sweep")
    assert text == (
        "| N | t1 | t2 | average |\n"
        "|---|---:|---:|---:|\n"
        "| 1 | <u>45.00 ± 7.07</u> | <u>20.00 ± 0.00</u> | <u>32.50 ± 3.54</u> |\n"
        "| 2 | **65.00 ± 7.07** | **40.00 ± 14.14** | **52.50 ± 10.61** |\n"
        "\n"
        "Sweep sw-abc: 8 runs, seeds 0, 1; average = mean over t1, t2 per seed, then mean ± std over seeds.\n")


def test_sweep_picks_the_latest_sweep_or_the_one_named():
    recs = _sweep_records("sw-old", created="2026-01-01T00:00:0") + _sweep_records("sw-new", "m2", "2026-02-01T00:00:0")
    assert "Sweep sw-new:" in render(recs, table="sweep")
    assert "Other stored sweeps (--sweep ID): sw-old." in render(recs, table="sweep")
    assert "Sweep sw-old:" in render(recs, table="sweep", sweep="sw-o")
    with pytest.raises(ValueError, match="--sweep 'sw-x': not found; stored sweeps: sw-old, sw-new"):
        render(recs, table="sweep", sweep="sw-x")
    with pytest.raises(ValueError, match="no sweep runs stored yet"):
        render([record()], table="sweep")


SMALL_PUBLISHED = {
    "protocols": {"esc50": {"folds": [1, 2, 3, 4, 5]}},
    "classification": [
        {"name": "ReCLAP", "group": "w/o prompt aug.", "source": "paper, Table II", "values": {"esc50": 90.0},
         "match": {"models": ["reclap"], "prompts": "template"}},
        {"name": "ReCLAP + prompt aug", "group": "w/ prompt aug.", "source": "paper, Table II",
         "values": {"esc50": 92.8, "us8k": 95.2}, "match": {"models": ["reclap"], "prompts": "augmented", "n": 2}}],
    "sweep": [{"name": "ReCLAP", "axis": "n", "column": "average", "tasks": ["t1", "t2"], "source": "paper, Table IV",
               "match": {"models": ["m1"], "prompts": "augmented"}, "values": {"1": 48.56, "2": 52.22}}],
}


def test_published_rows_and_differences_only_where_model_and_protocol_match():
    full = {"folds": [1, 2, 3, 4, 5]}
    recs = [record("reclap", "esc50", 0.91, "augmented", n=2, task_params=full, run_id="a"),
            record("reclap", "esc50", 0.95, task_params={"folds": [1]}, run_id="b"),  # fold 1 only: no difference
            record("reclap", "esc50", 0.93, task_params=full, templates=["{label}"], run_id="c")]  # own wording
    table = tables.classification(recs, published=pub.parse(SMALL_PUBLISHED))
    assert to_markdown(table) == (
        "| model · prompts | esc50 | us8k |\n"
        "|---|---:|---:|\n"
        "| *w/o prompt aug.* | | |\n"
        "| reclap · template | **95.00** | – |\n"
        "| reclap · template “{label}” | <u>93.00</u> | – |\n"
        "| ReCLAP (published) | 90.0 | – |\n"
        "| *w/ prompt aug.* | | |\n"
        "| reclap · augmented N=2 | 91.00 | – |\n"
        "| Δ vs ReCLAP + prompt aug | -1.80 | – |\n"
        "| ReCLAP + prompt aug (published) | 92.8 | **95.2** |\n")


def test_published_sweep_column_and_difference():
    table = tables.sweep(_sweep_records(), published=pub.parse(SMALL_PUBLISHED))
    lines = to_markdown(table).splitlines()
    assert lines[0] == "| N | t1 | t2 | average | ReCLAP average (published) | Δ average vs ReCLAP |"
    assert lines[2].endswith("| <u>32.50 ± 3.54</u> | 48.56 | -16.06 |")
    assert "ReCLAP average (published): paper, Table IV." in lines


def test_shipped_published_numbers_have_sources_and_cover_the_papers_tables():
    numbers = pub.load()
    rows = {r.name: r for r in numbers.rows("classification")}
    assert rows["ReCLAP + prompt aug"].values == {"esc50": 92.8, "us8k": 95.2, "vggsound": 29.2, "fsd50k": 40.2,
                                                  "tut2018": 67.4, "audioset": 26.1, "nsynth": 14.7}
    assert "vggsound" not in rows["CoLLAT"].values  # "-" in the paper is absent, not zero
    assert rows["MS-CLAP 2023"].values == {"esc50": 93.9} and "microsoft/CLAP" in rows["MS-CLAP 2023"].source
    assert rows["LAION 630k-audioset-best, ESC-50 fold 1"].protocol == {"esc50": {"folds": [1]}}
    assert numbers.rows("retrieval")[0].values["audiocaps:t2a_R@1"] == 37.1
    assert numbers.rows("sweep")[0].values == {"1": 48.56, "2": 52.22, "3": 49.37, "4": 47.24, "5": 44.35}
    assert all(r.source for shape in ("classification", "retrieval", "sweep") for r in numbers.rows(shape))
    text = render([record("reclap", "esc50", 0.9, "augmented", n=2, task_params={"folds": [1, 2, 3, 4, 5]})],
                  published=True, tasks=["esc50"])
    assert "| Δ vs ReCLAP + prompt aug | -2.80 |" in text and "| Wav2CLIP (published) | 41.4 |" in text


def test_ci_csv_and_json():
    recs = [record(acc=0.5, ci=[0.4, 0.6])]
    assert "[40.0, 60.0]" in render(recs, show_ci=True)
    assert render(recs, fmt="csv").splitlines() == ["model · prompts,group,kind,t1", "m1 · template,w/o prompt aug.,ours,50.0000"]
    sweep_csv = render(_sweep_records(), table="sweep", fmt="csv").splitlines()
    assert sweep_csv[0] == "N,group,kind,t1,t2,average,t1 std,t2 std,average std"
    assert sweep_csv[1] == "1,,ours,45.0000,20.0000,32.5000,7.0711,0.0000,3.5355"
    data = json.loads(render(_sweep_records(), table="sweep", fmt="json"))
    cell = data["groups"][0]["rows"][0]["cells"]["average"]
    assert data["table"] == "sweep" and cell["value"] == 32.5 and len(cell["runs"]) == 4
    with pytest.raises(ValueError, match="--format 'xls'"):
        render(recs, fmt="xls")


def test_empty_store_and_wrong_shape_say_what_to_do():
    assert render([]) == "No runs stored yet: `zsbench run` adds one.\n"
    assert "try --table retrieval" in render([record("m", "clotho", values={"t2a_R@1": 0.1})])


def test_store_roundtrip_and_damaged_file(tmp_path):
    store = ResultsStore(tmp_path)
    path = store.append(record(run_id="abc"))
    assert [r.run_id for r in store.records()] == ["abc"]
    assert not list(tmp_path.glob(".*tmp"))  # no temporary file left behind
    (tmp_path / "zz-broken.json").write_text("{ half a record")
    with pytest.raises(ValueError, match="zz-broken.json: not a zsbench run record"):
        list(store.records())
    assert path.exists()


def test_plots_sweep_curve_and_per_class(tmp_path):
    recs = _sweep_records()
    svg = write_plot(recs, tmp_path / "sweep.svg", table="sweep", published=True)
    assert svg.read_text().lstrip().startswith("<?xml") and "<svg" in svg.read_text()
    a = record("m1", "t1", 0.5, run_id="aaa111", per_class={"dog": 0.2, "cat": 0.8})
    b = record("m2", "t1", 0.6, run_id="bbb222", per_class={"dog": 0.9, "cat": 0.3})
    png = write_plot([a, b], tmp_path / "fig2.png", compare=["aaa", "bbb"])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="--compare 'zzz': no stored run"):
        write_plot([a, b], tmp_path / "x.png", compare=["aaa", "zzz"])
    with pytest.raises(ValueError, match="plot format 'gif'"):
        write_plot(recs, tmp_path / "x.gif", table="sweep")
    assert not (tmp_path / "x.gif").exists()


def test_html_page_is_self_contained():
    recs = _sweep_records() + [record("m1", "t1", 0.5, run_id="aaa", per_class={"dog": 0.2, "cat": 0.8}),
                               record("m2", "t1", 0.6, run_id="bbb", per_class={"dog": 0.9, "cat": 0.3})]
    page = render(recs, fmt="html", compare=["aaa", "bbb"])
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 2 and page.count('<table class="lb"') == 2
    assert not re.findall(r'(?:src|href)="(?!#|data:)', page)  # nothing fetched: no external file or link
    assert build_table(recs, "sweep").shape == "sweep"
