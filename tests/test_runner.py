"""End to end through ``zsbench.evaluate``: records, cache reuse, resume, bad input."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import soundfile as sf

import zsbench
from zsbench.adapters.demo import DemoModel
from zsbench.data.audio import BadAudioError
from zsbench.registry import UnknownNameError
from zsbench.evaluation.results import ResultsStore
from zsbench.tasks.base import MissingDataError

SMALL = {"task_options": {"n_per_class": 2}, "workers": 0, "progress": False}


def test_record_carries_everything_needed_to_reproduce(isolated):
    result = zsbench.evaluate(**SMALL, bootstrap=200)
    rec = result.record
    assert rec.model["name"] == "demo" and len(rec.model["fingerprint"]) == 20
    assert "tiny CLAP trained by the zsbench recipe" in rec.model["meta"]["description"]
    assert rec.task["id"] == "synthworld" and rec.task["version"] == "3" and rec.task["n_scored"] == 36
    assert rec.prompts["strategy"] == "template" and len(rec.prompts["bank_hash"]) == 16
    assert rec.prompts["prompts"]["siren"] == ["This is a sound of siren."]
    assert rec.preprocessing["crop"] == "seeded" and rec.preprocessing["sample_rate"] == 16000
    assert rec.seed == 0 and rec.config["seed"] == 0
    assert {"numpy", "torch", "soundfile", "soxr", "python"} <= set(rec.packages)
    assert {"load_model", "audio", "text", "score"} <= set(rec.timings)
    assert set(rec.metrics["per_class"]) == set(result.task.labels)
    lo, hi = rec.metrics["ci"]
    assert lo <= rec.metrics["values"]["accuracy"] <= hi
    stored = list(ResultsStore().records())
    assert [r.run_id for r in stored] == [rec.run_id]
    # the metric is computed from the scores, not stored separately
    targets = np.array([result.task.items[i].targets[0] for i in result.scored])
    assert rec.metrics["values"]["accuracy"] == pytest.approx((result.scores.argmax(1) == targets).mean())


def test_demo_model_is_far_above_chance(isolated):
    rec = zsbench.evaluate(task_options={"n_per_class": 4}, workers=0).record
    chance = 1 / len(rec.prompts["prompts"])
    assert rec.metrics["values"]["accuracy"] > 5 * chance


def test_second_run_embeds_no_audio_and_rerun_keeps_both_records(isolated):
    first = zsbench.evaluate(**SMALL).record
    second = zsbench.evaluate(**SMALL).record
    assert first.cache["audio_computed"] == 36 and first.cache["audio_hits"] == 0
    assert second.cache["audio_computed"] == 0 and second.cache["audio_hits"] == 36
    assert second.cache["text_computed"] == 0
    assert second.metrics == first.metrics
    assert len(list(ResultsStore().records())) == 2
    # a new prompt strategy on the same clips embeds text only
    third = zsbench.evaluate(**SMALL, templates=["{label}"]).record
    assert third.cache["audio_computed"] == 0 and third.cache["text_computed"] == 18


def test_parallel_workers_give_the_same_embeddings(isolated):
    a = zsbench.evaluate(**{**SMALL, "workers": 2}, use_cache=False)
    b = zsbench.evaluate(**SMALL, use_cache=False)
    np.testing.assert_allclose(a.scores, b.scores, atol=1e-6)


def test_seeded_crop_is_reproducible_random_is_not(isolated):
    # n_per_class 6 yields clips longer than the demo's 10 s window
    opts = {"task_options": {"n_per_class": 6}, "workers": 0, "use_cache": False}
    s1 = zsbench.evaluate(**opts, crop="seeded").scores
    s2 = zsbench.evaluate(**opts, crop="seeded").scores
    np.testing.assert_array_equal(s1, s2)
    r1 = zsbench.evaluate(**opts, crop="random").scores
    r2 = zsbench.evaluate(**opts, crop="random").scores
    assert not np.array_equal(r1, r2)
    # the run seed (prompts, bootstrap) leaves crops alone; crop_seed moves them
    np.testing.assert_array_equal(s1, zsbench.evaluate(**opts, crop="seeded", seed=5).scores)
    assert not np.array_equal(s1, zsbench.evaluate(**opts, crop="seeded", crop_seed=5).scores)


def test_ctrl_c_mid_run_then_resume(isolated, monkeypatch):
    calls = {"n": 0}
    real = DemoModel.embed_audio

    def flaky(self, windows, seeds=None):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(self, windows, seeds)

    monkeypatch.setattr(DemoModel, "embed_audio", flaky)
    with pytest.raises(KeyboardInterrupt):
        zsbench.evaluate(**SMALL, batch_size=4)
    monkeypatch.setattr(DemoModel, "embed_audio", real)
    rec = zsbench.evaluate(**SMALL, batch_size=4).record
    assert rec.cache["audio_hits"] == 8 and rec.cache["audio_computed"] == 28
    assert list(ResultsStore().records())[-1].run_id == rec.run_id  # the interrupted run stored nothing


def test_read_only_cache_still_runs_and_says_so(isolated):
    blocked = isolated / "blocked"
    blocked.write_text("a file where the cache folder should be")
    with pytest.warns(RuntimeWarning, match="not writable"):
        rec = zsbench.evaluate(**SMALL, cache_dir=str(blocked)).record
    assert rec.cache["disabled_reason"] and str(blocked) in rec.cache["disabled_reason"]
    assert rec.task["n_scored"] == 36


def _folder_task(root, clips, bad: str | None = None):
    for i, src in enumerate(clips):
        label = "first" if i % 2 == 0 else "second"
        (root / label).mkdir(parents=True, exist_ok=True)
        (root / label / src.name).write_bytes(src.read_bytes())
    if bad:
        path = root / "first" / "bad.wav"
        if bad == "corrupt":
            path.write_bytes(b"not audio at all")
        elif bad == "nan":
            sf.write(path, np.full(800, np.nan, np.float32), 16000, subtype="FLOAT")
        elif bad == "empty":
            sf.write(path, np.zeros(0, np.float32), 16000)
        return path


@pytest.mark.parametrize("bad", ["corrupt", "nan", "empty"])
def test_bad_audio_errors_by_default_and_skips_when_asked(isolated, esc50_clips, bad):
    root = isolated / "mydata"
    path = _folder_task(root, esc50_clips[:6], bad)
    with pytest.raises(BadAudioError) as err:
        zsbench.evaluate(task="folder", data_root=str(root), workers=0)
    assert str(path) in str(err.value)
    rec = zsbench.evaluate(task="folder", data_root=str(root), workers=0, on_bad_audio="skip").record
    assert rec.task["n_items"] == 7 and rec.task["n_scored"] == 6 and rec.task["n_skipped"] == 1
    assert rec.task["skipped"][0]["path"] == str(path)


def test_real_esc50_clips_through_a_csv_task_and_predictions(isolated, esc50_clips, shared):
    meta = {r["filename"][:-4]: r["category"].replace("_", " ")
            for r in csv.DictReader(open(shared / "data" / "esc50" / "meta" / "esc50.csv"))}
    table = isolated / "esc.csv"
    clips = esc50_clips[:24]
    table.write_text("path,label\n" + "".join(f"{p},{meta[p.stem]}\n" for p in clips))
    out = isolated / "preds.csv"
    result = zsbench.evaluate(task="folder", data_root=str(table), workers=2, save_predictions=str(out),
                              output=str(isolated / "record.json"))
    assert result.record.task["n_scored"] == 24
    rows = list(csv.DictReader(open(out)))
    assert len(rows) == 24 and rows[0]["targets"] == meta[clips[0].stem]
    assert rows[0]["top1_label"] in result.task.labels and float(rows[0]["top1_score"]) >= float(rows[0]["top2_score"])
    assert json.loads((isolated / "record.json").read_text())["run_id"] == result.record.run_id
    pq = isolated / "preds.parquet"
    zsbench.evaluate(task="folder", data_root=str(table), workers=0, save_predictions=str(pq))
    import pyarrow.parquet

    assert pyarrow.parquet.read_table(pq).num_rows == 24


def test_multilabel_csv_task_scores_map(isolated, esc50_clips):
    table = isolated / "multi.csv"
    table.write_text("".join(f"{p},dog{',rain' if i % 3 == 0 else ''}\n" if i % 2 else f"{p},rain\n"
                             for i, p in enumerate(esc50_clips[:10])))
    rec = zsbench.evaluate(task="folder", data_root=str(table), workers=0).record
    assert rec.metrics["headline"] == "mAP" and 0 <= rec.metrics["values"]["mAP"] <= 1


@pytest.mark.parametrize("kwargs,error,match", [
    ({"model": "clap-nope"}, UnknownNameError, "Valid models: .*demo"),
    ({"task": "esc5O"}, UnknownNameError, "Valid tasks: .*synthworld"),
    ({"prompts": "augmentd"}, UnknownNameError, "Valid prompt strategys: .*template"),
    ({"task": "folder", "task_options": {}}, MissingDataError, "--data-root"),
    ({"task": "folder", "task_options": {}, "data_root": "/no/such/folder"}, MissingDataError, "/no/such/folder"),
    ({"task": "folder"}, ValueError, "does not take option.*n_per_class"),
    ({"crop": "sideways"}, ValueError, "--crop 'sideways'"),
    ({"device": "cuda:3"}, ValueError, "not available"),
    ({"prompts": "file"}, ValueError, "--prompt-file"),
    ({"n": 3}, ValueError, "does not take --n"),
    ({"workers": -1}, ValueError, "--workers -1: must be 0"),
    ({"batch_size": 0}, ValueError, "--batch-size must be at least 1"),
])
def test_bad_run_input(isolated, kwargs, error, match):
    with pytest.raises(error, match=match):
        zsbench.evaluate(**{**SMALL, **kwargs})


def test_a_label_with_no_prompts_fails_before_any_audio_work(isolated):
    bank = isolated / "bank.json"
    bank.write_text(json.dumps({"siren": ["a siren wails"]}))
    with pytest.raises(ValueError, match="no prompts for label"):
        zsbench.evaluate(**SMALL, prompts="file", prompt_file=str(bank))
    assert not (isolated / "cache").exists() or not any((isolated / "cache").glob("*.sqlite"))


def test_retrieval_task_end_to_end(isolated):
    out = isolated / "retrieval.csv"
    result = zsbench.evaluate(task="synthworld-captions", task_options={"n_per_class": 2}, workers=0,
                              save_predictions=str(out))
    rec = result.record
    assert rec.metrics["headline"] == "t2a_R@1" and rec.prompts["strategy"] == "captions"
    assert result.scores.shape == (36 * 5, 36)
    from zsbench.evaluation.metrics import retrieval_metrics

    owner = np.asarray(result.task.caption_item)
    assert rec.metrics["values"] == pytest.approx(retrieval_metrics(result.scores, owner))
    assert rec.metrics["values"]["t2a_R@10"] > 10 / 36  # well above chance
    rows = list(csv.DictReader(open(out)))
    assert len(rows) == 180 and rows[0]["target_clip"] == result.task.items[0].id
    # the same clips as the classification task: audio comes from the cache
    again = zsbench.evaluate(**SMALL).record
    assert again.cache["audio_computed"] == 0


def test_a_loaded_model_is_evaluated_without_reloading(isolated, monkeypatch):
    """Sweeps and the training recipe pass the adapter they hold; the registry is not asked."""
    from zsbench.adapters.base import LoadOptions
    from zsbench.registry import MODELS

    model = MODELS.get("demo")(LoadOptions())

    def no_reload(name):
        raise AssertionError(f"model {name!r} was loaded again")

    monkeypatch.setattr(MODELS, "get", no_reload)
    rec = zsbench.evaluate(model, **SMALL).record
    assert rec.model["name"] == "demo" and rec.model["fingerprint"] == model.fingerprint()


def test_prompt_option_n_is_the_same_as_n(isolated):
    """--prompt-option n=3 reaches the strategy as --n 3 does: same parameters, same prompts."""
    opts = {**SMALL, "prompts": "augmented", "seed": 1}
    short = zsbench.evaluate(**opts, n=3).record
    spelled = zsbench.evaluate(**opts, prompt_options={"n": 3}).record
    assert spelled.prompts["params"] == short.prompts["params"] and short.prompts["params"]["n"] == 3
    assert spelled.prompts["bank_hash"] == short.prompts["bank_hash"]
    assert spelled.metrics == short.metrics
    assert zsbench.evaluate(**opts, prompt_options={"n": "3"}).record.prompts["bank_hash"] == short.prompts["bank_hash"]


@pytest.mark.parametrize("kwargs,match", [
    ({"prompts": "augmented", "prompt_options": {"colour": "red"}},
     r"prompt strategy 'augmented' does not take --prompt-option colour; it takes: bank \(str, or --bank\), "
     r"n \(int, or --n\)"),
    ({"prompt_options": {"n": 2}}, r"'template' does not take --prompt-option n; it takes: templates \(list of str"),
    ({"prompts": "augmented", "prompt_options": {"n": "many"}}, r"--prompt-option n: 'many' is not an int"),
    ({"prompts": "augmented", "n": 2, "prompt_options": {"n": 3}}, r"'n' is given twice \(--n and --prompt-option n\)"),
    ({"prompts": "augmented", "prompt_options": {"seed": 3}}, r"'seed' is not a prompt option; the run sets it \(--seed\)"),
    ({"prompt_options": {"pooling": "score-mean"}}, r"'pooling' is not a prompt option; the run sets it \(--pooling\)"),
])
def test_a_prompt_option_the_strategy_does_not_take_is_refused(isolated, kwargs, match):
    with pytest.raises(ValueError, match=match):
        zsbench.evaluate(**{**SMALL, **kwargs})


def test_the_runner_pools_and_records_the_pooling(isolated):
    mean = zsbench.evaluate(**SMALL, templates=["{label}", "a {label} nearby"])
    score = zsbench.evaluate(**SMALL, templates=["{label}", "a {label} nearby"], pooling="score-mean")
    assert mean.record.prompts["params"] == {"templates": ["{label}", "a {label} nearby"], "pooling": "embedding-mean"}
    assert score.record.prompts["params"]["pooling"] == "score-mean"
    assert score.record.prompts["bank_hash"] == mean.record.prompts["bank_hash"]  # the same prompts, pooled apart
    assert not np.allclose(score.scores, mean.scores)
