"""Leaderboard tables from fixture run records (no model runs): every table shape rendered and
compared with the expected Markdown exactly, ranking, aggregation over seeds, what may share a
cell, published numbers and differences, CSV/JSON, plots."""

from __future__ import annotations

import json
import re

import pytest

from zsbench.leaderboard import published as pub
from zsbench.leaderboard import shapes
from zsbench.leaderboard.render import IncomparableRunsError, build_table, render, write_plot
from zsbench.leaderboard.table import to_markdown
from zsbench.evaluation.results import ResultsStore, RunRecord

TEMPLATE = "This is a sound of {label}."


def record(model="m1", task="t1", acc=0.5, strategy="template", created="2026-01-01T00:00:00Z", run_id="r",
           bank="b1", fp="f1", version="1", ci=None, seed=0, n=None, crop="seeded", task_params=None,
           values=None, per_class=None, sweep=None, templates=None, config=None, checkpoint=None, source=None,
           protocol=None, training=None) -> RunRecord:
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
        model={"name": model, "fingerprint": fp, "meta": {"templates": [TEMPLATE]}, "checkpoint": checkpoint,
               "training": training or {}},
        task={"id": task, "version": version, "params": task_params or {},
              "metric": "retrieval" if headline == "t2a_R@1" else "accuracy", "protocol": protocol or {}},
        prompts={"strategy": strategy, "params": params, "bank_hash": f"{bank}-{seed}" if "seed" in params else bank,
                 "source": source or {}},
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


SHA = "ab" * 32
SMALL_PUBLISHED = {
    "protocols": {"esc50": {"classes": 50, "clips": 2000, "params": {"folds": [1, 2, 3, 4, 5]}, "metric": "accuracy"},
                  "nsynth": {"classes": 10, "clips": 4096, "metric": "accuracy"},
                  "fsd50k": {"classes": 200, "clips": 10231, "metric": "mAP"}},
    "classification": [
        {"name": "ReCLAP", "group": "w/o prompt aug.", "source": "paper, Table II",
         "values": {"esc50": 90.0, "nsynth": 11.4, "fsd50k": 27.2}, "match": {"models": ["reclap"], "prompts": "template"},
         "setting": {"weights": {"file": "base_rewritten.pt", "sha256": SHA},
                     "prompts": {"template": "This is a sound of {label}"}}},
        {"name": "ReCLAP + prompt aug", "group": "w/ prompt aug.", "source": "paper, Table II",
         "values": {"esc50": 92.8, "us8k": 95.2}, "match": {"models": ["reclap"], "prompts": "augmented", "n": 2},
         "setting": {"weights": {"file": "base_rewritten.pt", "sha256": SHA},
                     "prompts": {"bank": "authors' GPT-4o bank, unpublished"}}},
        {"name": "Other", "group": "w/o prompt aug.", "source": "a README", "values": {"esc50": 80.0},
         "match": {"models": ["other"], "prompts": "template"}, "setting": {"weights": "unknown", "prompts": "unknown"}}],
    "sweep": [{"name": "ReCLAP", "axis": "n", "column": "average", "tasks": ["t1", "t2"], "source": "paper, Table IV",
               "match": {"models": ["m1"], "prompts": "augmented"}, "values": {"1": 48.56, "2": 52.22}}],
}
FULL = {"folds": [1, 2, 3, 4, 5]}


def reclap_run(task="esc50", acc=0.91, sha=SHA, template="This is a sound of {label}", classes=50, clips=2000,
               metric="accuracy", strategy="template", task_params=FULL, **kw) -> RunRecord:
    """A run that says what produced it, as runner.py records it; by default the published ReCLAP row's setting."""
    source = ({"kind": "template", "templates": [template]} if strategy == "template"
              else {"kind": "bank", "bank_sha256": "sha-ours", "provenance": {"generator": "Claude"}})
    rec = record("reclap", task, acc, strategy, task_params=task_params,
                 checkpoint={"file": "base_rewritten.pt", "sha256": sha, "default": False}, source=source,
                 protocol={"classes": classes, "clips": clips, "metric": metric}, **kw)
    rec.metrics["headline"] = metric
    rec.metrics["values"] = {metric: acc}
    return rec


def delta_row(recs, explain=False) -> str:
    text = to_markdown(shapes.classification(recs, published=pub.parse(SMALL_PUBLISHED)), explain=explain)
    return text


@pytest.mark.parametrize("change,marker,words", [
    ({}, None, None),  # the one fully matching case: a difference is shown
    ({"sha": "cd" * 32}, "≠weights", "the run loaded base_rewritten.pt (sha256 cdcdcdcdcdcd…); the published number used base_rewritten.pt (sha256 abababababab…)"),
    ({"template": "This is a sound of {label}."}, "≠template", "the run used template(s) ['This is a sound of {label}.']; the published number used 'This is a sound of {label}'"),
    ({"task": "nsynth", "classes": 11, "clips": 4096}, "≠protocol: 11 vs 10 classes", "the run scored 11 classes; the published number 10"),
    ({"clips": 400, "task_params": {"folds": [1]}}, "≠protocol: 400 vs 2000 clips", "the run scored 400 clips; the published number 2000"),
    ({"task": "fsd50k", "classes": 200, "clips": 10231}, "≠metric", "the run's headline metric is accuracy; the published number's is mAP"),
    ({"strategy": "augmented", "n": 2}, "≠bank", "the published number used the authors' GPT-4o bank, unpublished"),
])
def test_each_difference_is_a_marker_and_only_the_full_match_gets_a_delta(change, marker, words):
    rec = reclap_run(**change)
    text = delta_row([rec], explain=True)
    header = [c.strip() for c in text.splitlines()[0].split("|")]
    row = "| Δ vs ReCLAP + prompt aug |" if rec.prompts["strategy"] == "augmented" else "| Δ vs ReCLAP |"
    delta = next(line for line in text.splitlines() if line.startswith(row))
    cell = delta.split("|")[header.index(rec.task["id"])].strip()
    if marker is None:
        assert cell == "+1.00" and "Markers:" not in text
    else:
        assert marker in cell and not re.search(r"[+-]\d", cell)
        assert words in text and "Markers: ≠X: our runs differ from the published setting in X" in text


def test_a_reclap_run_with_any_other_checkpoint_or_a_default_download_mismatch_is_not_differenced():
    other = reclap_run(sha="ef" * 32)
    other.model["checkpoint"] = {"file": "my_finetune.pt", "sha256": "ef" * 32, "default": False}
    assert "≠weights" in delta_row([other])
    unknown = record("other", "esc50", 0.8, task_params=FULL, checkpoint={"file": "x.pt", "sha256": "00", "default": True},
                     source={"kind": "template", "templates": [TEMPLATE]},
                     protocol={"classes": 50, "clips": 2000, "metric": "accuracy"})
    line = next(x for x in delta_row([unknown]).splitlines() if x.startswith("| Δ vs Other"))
    assert "?weights ?prompts" in line  # what the source does not say cannot match


def test_training_overlap_marks_our_cell_and_explain_says_why():
    rec = reclap_run(training={"overlaps": {"esc50": "checkpoint selected by ESC-50 accuracy"}})
    text = delta_row([rec], explain=True)
    assert "| reclap · template | <u>91.00 †</u> |" in text
    assert "  - †: reclap on esc50: checkpoint selected by ESC-50 accuracy" in text
    assert "†: the model was trained or its checkpoint selected on data overlapping this task" in text
    from zsbench.leaderboard.table import to_csv, to_json

    table = shapes.classification([rec], published=pub.parse(SMALL_PUBLISHED))
    assert "esc50: †" in to_csv(table)
    cells = [c for g in json.loads(to_json(table))["groups"] for r in g["rows"] for c in r["cells"].values()]
    assert any(c["markers"] == ["†"] and "ESC-50" in c["why"][0] for c in cells)


def test_csv_and_html_carry_the_markers():
    from zsbench.leaderboard.html import _table as table_html
    from zsbench.leaderboard.table import to_csv

    table = shapes.classification([reclap_run(sha="cd" * 32)], published=pub.parse(SMALL_PUBLISHED))
    csv_text = to_csv(table)
    assert "Δ vs ReCLAP,w/o prompt aug.,delta,≠weights" in csv_text
    html = table_html(table, False)
    assert "≠weights" in html and "the run loaded base_rewritten.pt" in html


def test_published_sweep_column_and_difference():
    table = shapes.sweep(_sweep_records(), published=pub.parse(SMALL_PUBLISHED))
    lines = to_markdown(table).splitlines()
    # the published row names no weights or prompts: set beside ours, never differenced
    assert lines[0] == "| N | t1 | t2 | average | ReCLAP average (published) |"
    assert lines[2].endswith("| <u>32.50 ± 3.54</u> | 48.56 |")
    assert "ReCLAP average (published): paper, Table IV." in lines
    assert any(x.startswith("Δ average vs ReCLAP not shown: ?weights ?prompts") for x in lines)
    matching = {**SMALL_PUBLISHED, "sweep": [{**SMALL_PUBLISHED["sweep"][0], "setting": {
        "weights": {"file": "w.pt", "sha256": SHA}, "prompts": {"bank": "b", "bank_sha256": "sha-b1"}},
        "protocol": {"t1": {"metric": "accuracy"}, "t2": {"metric": "accuracy"}}}]}
    recs = _sweep_records()
    for r in recs:
        r.model["checkpoint"] = {"file": "w.pt", "sha256": SHA, "default": False}
        r.prompts["source"] = {"kind": "bank", "bank_sha256": "sha-b1"}
        r.task["protocol"] = {"classes": 5, "clips": 10, "metric": "accuracy"}
    lines = to_markdown(shapes.sweep(recs, published=pub.parse(matching))).splitlines()
    assert lines[0].endswith("| ReCLAP average (published) | Δ average vs ReCLAP |")
    assert lines[2].endswith("| <u>32.50 ± 3.54</u> | 48.56 | -16.06 |")


def test_shipped_published_numbers_have_sources_and_cover_the_papers_tables():
    numbers = pub.load()
    rows = {r.name: r for r in numbers.rows("classification")}
    assert rows["ReCLAP + prompt aug"].values == {"esc50": 92.8, "us8k": 95.2, "vggsound": 29.2, "fsd50k": 40.2,
                                                  "tut2018": 67.4, "audioset": 26.1, "nsynth": 14.7}
    assert "vggsound" not in rows["CoLLAT"].values  # "-" in the paper is absent, not zero
    assert rows["MS-CLAP 2023"].values == {"esc50": 93.9} and "microsoft/CLAP" in rows["MS-CLAP 2023"].source
    assert rows["LAION 630k-audioset-best, ESC-50 fold 1"].protocol == {"esc50": {"clips": 400, "params": {"folds": [1]}}}
    assert rows["ReCLAP + prompt aug"].setting["prompts"] == {"bank": "authors' GPT-4o bank, unpublished"}
    assert rows["Wav2CLIP"].setting == {"weights": "unknown", "prompts": "unknown"}  # not guessed
    assert numbers.protocol(rows["ReCLAP"], "nsynth")["classes"] == 10
    assert numbers.rows("retrieval")[0].values["audiocaps:t2a_R@1"] == 37.1
    assert numbers.rows("sweep")[0].values == {"1": 48.56, "2": 52.22, "3": 49.37, "4": 47.24, "5": 44.35}
    assert all(r.source for shape in ("classification", "retrieval", "sweep") for r in numbers.rows(shape))
    text = render([record("reclap", "esc50", 0.9, "augmented", n=2, task_params={"folds": [1, 2, 3, 4, 5]})],
                  published=True, tasks=["esc50"])
    # our bank is not the authors' unpublished one: beside it, never differenced
    line = next(x for x in text.splitlines() if x.startswith("| Δ vs ReCLAP + prompt aug |"))
    assert "≠bank" in line and "| Wav2CLIP (published) | 41.4 |" in text


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


def test_weights_rule_by_file_name_where_no_checksum_is_published():
    from zsbench.leaderboard.compare import _weights

    setting = {"file": "630k-audioset-best.pt", "sha256": None}
    rec = record()
    rec.model["checkpoint"] = {"file": "630k-audioset-best.pt", "sha256": "12" * 32, "default": True}
    assert _weights(setting, rec) is None  # the adapter's own download of the released file
    rec.model["checkpoint"]["default"] = False
    assert _weights(setting, rec).marker == "?weights"  # the right name, but nothing to verify it against
    rec.model["checkpoint"]["file"] = "epoch_10.pt"
    assert _weights(setting, rec).marker == "≠weights"
    assert _weights("unknown", rec).marker == "?weights"
