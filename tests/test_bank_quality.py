"""Prompt-bank quality (prompt_strategies/quality.py), every shipped bank checked with it, the
authors' format import, and the prompt sets the paper's experiments need, with no audio."""

from __future__ import annotations

import json
import warnings

import pytest

from zsbench.prompt_strategies.bank import BANKS_DIR, BankError, load_bank
from zsbench.prompt_strategies.quality import (MAX_WORDS, Allowance, bank_stats, duplicates, find_leaks,
                                               label_names, normalise)
from zsbench.tasks.metadata import label_names as task_label_names

SHIPPED = sorted(p.stem for p in BANKS_DIR.glob("*.json"))
PAPER_TASKS = ["esc50", "us8k", "vggsound", "fsd50k", "tut2018", "audioset", "nsynth"]
CAPTIONED_MIN = {"per_description": 4, "per_label": 20}
ALL_LABELS = {"nsynth": {"classes": "all"}}  # a bank covers every label any option of its task scores


# --- the measures -------------------------------------------------------------------------------

def test_label_names_split_parts_drop_qualifiers_and_fold_plurals():
    assert label_names("Dishes, pots, and pans") == [("dish", "pot", "and", "pan"), ("dish",), ("pot",), ("pan",)]
    assert label_names("Bathtub (filling or washing)") == [("bathtub",)]
    assert label_names("cafe/restaurant") == [("cafe", "restaurant"), ("cafe",), ("restaurant",)]
    assert label_names("church_bells") == [("church", "bell")]
    assert normalise("  A dog -- barks!! ") == "a dog barks"


def test_leak_rules():
    prompts = {"dog": ["a dog barks in the rain", "a dog barks by a church"],
               "rain": ["rain falls on a tin roof"], "church bells": ["church bells ring at noon"],
               "bell": ["a bicycle bell rings twice"]}
    leaks, excused = find_leaks(prompts)
    assert [(x.label, x.other, x.name) for x in leaks] == [("dog", "rain", "rain")]
    assert excused == 0
    # "church bells" saying "bell" is its own name; "bell" saying "church bells" would leak
    assert find_leaks({"bell": ["church bells at noon"], "church bells": ["x"]})[0][0].other == "church bells"
    # a declared synonym or a reasoned allowance excuses a mention; a scoped one only in its labels
    assert find_leaks(prompts, synonyms={"dog": ["rain"]})[0] == []
    allowed = [Allowance(("rain",), "weather in a scene")]
    assert find_leaks(prompts, allowed=allowed) == ([], 1)
    scoped = [Allowance(("rain",), "only for rain's neighbours", ("bell",))]
    assert len(find_leaks(prompts, allowed=scoped)[0]) == 1
    with pytest.raises(ValueError, match="non-empty \"reason\""):
        Allowance.parse({"names": ["rain"], "reason": " "})


def test_duplicates_exact_and_near():
    assert duplicates(["A dog.", "A dog.", "a dog", "A cat"]) == (1, 1)


def test_bank_stats_counts():
    labels = {"dog": [{"text": "a dog barks", "captions": ["a dog barks at night", "a dog is heard barking",
                                                           "A dog barks at night!"]}],
              "rain": [{"text": "rain falls", "captions": ["rain falls as a dog sleeps", " "]}]}
    stats, leaks = bank_stats("t", labels)
    assert (stats.labels, stats.captions_min, stats.captions_median) == (2, 2, 2.5)
    assert (stats.exact_duplicates, stats.near_duplicates, stats.avoided_words, stats.empty) == (0, 1, 1, 1)
    assert stats.leaks == 1 and leaks[0].label == "rain" and leaks[0].other == "dog"


# --- every shipped bank -------------------------------------------------------------------------

@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_bank_is_complete_clean_and_matches_its_task(name):
    bank = load_bank(name)
    assert bank.task == name and sorted(bank.labels) == sorted(task_label_names(name, **ALL_LABELS.get(name, {})))
    stats, leaks = bank_stats(name, bank.labels, bank.synonyms, bank.allowances)
    assert stats.descriptions_min >= 5
    assert (stats.exact_duplicates, stats.near_duplicates, stats.empty, stats.over_long) == (0, 0, 0, 0)
    assert not leaks, "\n".join(f"{x.label!r} names {x.other!r} ({x.name!r}): {x.prompt}" for x in leaks[:20])
    for entry in bank.quality.get("allow", []):
        assert len(entry["reason"].split()) >= 5, entry  # a reason, not a word
    for label, descs in bank.labels.items():
        per = [len(d["captions"]) for d in descs]
        assert min(per) >= CAPTIONED_MIN["per_description"] and sum(per) >= CAPTIONED_MIN["per_label"], label
        for text in [d["text"] for d in descs] + [c for d in descs for c in d["captions"]]:
            assert 0 < len(text.split()) <= MAX_WORDS, (label, text)


def test_avoided_words_are_a_warning_and_a_count_not_a_load_error(tmp_path):
    labels = {"dog": [{"text": "a dog barks", "captions": ["a dog can be heard far away", "the sound of a dog"]}]}
    path = tmp_path / "b.json"
    from zsbench.prompt_strategies.bank import Bank

    path.write_text(Bank("demo", labels, {"t": 1, "n": 2}).to_json())
    with pytest.warns(UserWarning, match=r"b\.json: 2 caption\(s\) use 'heard' or 'sound\(s\)'"):
        bank = load_bank(path)
    assert bank_stats("b", bank.labels)[0].avoided_words == 2


def test_an_allowance_without_a_reason_is_refused_naming_the_file(tmp_path):
    from zsbench.prompt_strategies.bank import Bank

    bank = Bank("demo", {"dog": [{"text": "a dog", "captions": []}]}, {}, quality={"allow": [{"names": ["rain"]}]})
    (tmp_path / "b.json").write_text(bank.to_json())
    with pytest.raises(BankError, match=r"b\.json: invalid bank: .*needs \"names\" and a non-empty \"reason\""):
        load_bank(tmp_path / "b.json")


# --- the paper's experiments, no audio -----------------------------------------------------------

@pytest.mark.parametrize("task", PAPER_TASKS + ["cochlscene"])
def test_augmented_n1_to_5_and_description_prompt_sets_for_every_paper_task(task):
    from zsbench.prompt_strategies.augmented import AugmentedStrategy
    from zsbench.prompt_strategies.description import DescriptionStrategy

    labels = task_label_names(task)
    previous = None
    for n in range(1, 6):
        prompts = AugmentedStrategy(task_id=task, n=n, seed=0).prompts(labels)
        assert set(prompts) == set(labels) and all(len(set(p)) == n for p in prompts.values())
        if previous:  # nested: one permutation per label, its first N
            assert all(prompts[label][:n - 1] == previous[label] for label in labels)
        previous = prompts
    desc = DescriptionStrategy(task_id=task).prompts(labels)
    assert all(len(p) == 5 for p in desc.values())


def test_n_larger_than_a_pool_is_refused_before_any_audio_naming_the_label(tmp_path, monkeypatch):
    import zsbench
    from zsbench.evaluation import runner

    monkeypatch.setattr(runner, "embed_audio", lambda *a, **k: pytest.fail("audio was embedded"))
    with pytest.raises(BankError, match=r"--n 51 needs 51 captions per label, but label '.+' has 50 .*largest N "
                                        r"this bank allows is 50"):
        zsbench.evaluate(model="demo", task="synthworld", prompts="augmented", n=51, workers=0)


def test_sweep_dry_run_lists_the_70_points_of_table_iv():
    from typer.testing import CliRunner

    from zsbench.cli.main import app

    out = CliRunner().invoke(app, ["sweep", "N=1..5", "seed=0,1", "task=" + ",".join(PAPER_TASKS),
                                   "--prompts", "augmented", "--dry-run"])
    assert out.exit_code == 0, out.output
    points = [line for line in out.output.splitlines() if line.startswith("[")]
    assert len(points) == 70 and points[-1] == "[70/70] N=5 seed=1 task=nsynth"


# --- the authors' format -------------------------------------------------------------------------

def _authors_files(tmp_path):
    """Stage-1 and stage-2 JSON lines exactly as Sreyan88/ReCLAP's scripts write them: labels
    with underscores turned to spaces, an "Error" reply, and a label the task does not have."""
    stage1 = [{"1": "A dog barks sharply.", "2": "Deep woofs from a big dog."},
              {"1": "Waves crash and hiss.", "2": "A low roar of surf."},
              {"1": "A spaceship hums."}]
    stage2 = [{"label": "dog", "rewrites": {"A dog barks sharply.": {"1": "A dog barks at the mail carrier.",
                                                                     "2": "At night a dog barks twice."},
                                            "Deep woofs from a big dog.": "Error"}},
              {"label": "sea waves", "rewrites": {"Waves crash and hiss.": {"1": "Waves crash on a pier.",
                                                                           "2": "Surf hisses over pebbles at dawn."},
                                                  "A low roar of surf.": {"1": "A low roar of surf at a cove."}}},
              {"label": "space ship", "rewrites": {"A spaceship hums.": {"1": "A ship hums in orbit."}}}]
    p1, p2 = tmp_path / "stage_1_ESC50.json", tmp_path / "stage_2_ESC50.json"
    p1.write_text("".join(json.dumps(x) + "\n" for x in stage1))
    p2.write_text("".join(json.dumps(x) + "\n" for x in stage2))
    return p1, p2


def test_import_the_authors_two_stage_output(tmp_path):
    from typer.testing import CliRunner

    from zsbench.cli.main import app
    from zsbench.data.download import file_digest

    p1, p2 = _authors_files(tmp_path)
    out = CliRunner().invoke(app, ["prompts", "import", str(p2), "--task", "esc50", "--stage1", str(p1),
                                   "-o", str(tmp_path / "bank.json")])
    assert out.exit_code == 0, out.output
    assert "2 labels, 5 captions" in out.output and "skipped 1 \"Error\"" in out.output and "space ship" in out.output
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bank = load_bank(tmp_path / "bank.json")
    assert bank.descriptions("sea waves") == ["Waves crash and hiss.", "A low roar of surf."]
    assert bank.captions("dog") == ["A dog barks at the mail carrier.", "At night a dog barks twice."]
    assert bank.descriptions("dog") == ["A dog barks sharply.", "Deep woofs from a big dog."]  # kept, no captions
    prov = bank.provenance
    assert prov["generator"] == "imported" and prov["skipped"]["error_replies"] == 1
    assert prov["skipped"]["unknown_labels"] == ["space ship"] and len(prov["incomplete"]) == 48
    assert prov["source"]["stage2"] == {"file": p2.name, "sha256": file_digest(p2)}
    assert prov["source"]["stage1"]["sha256"] == file_digest(p1)
    # stage 2 alone: its keys are the descriptions
    from zsbench.prompt_strategies.import_bank import import_authors_bank

    alone, report = import_authors_bank(p2, "esc50", task_label_names("esc50"))
    assert alone.descriptions("dog") == ["A dog barks sharply.", "Deep woofs from a big dog."]
    assert report.errors == ["dog: Deep woofs from a big dog."] and "stage1" not in alone.provenance["source"]


def test_import_refuses_mismatched_or_foreign_files_clearly(tmp_path):
    from zsbench.prompt_strategies.import_bank import import_authors_bank

    p1, p2 = _authors_files(tmp_path)
    short = tmp_path / "short.json"
    short.write_text(p1.read_text().splitlines()[0] + "\n")
    with pytest.raises(BankError, match="short.json has 1 lines and .*stage_2_ESC50.json has 3"):
        import_authors_bank(p2, "esc50", task_label_names("esc50"), short)
    with pytest.raises(BankError, match="no line names a label of task 'us8k'"):
        import_authors_bank(p2, "us8k", task_label_names("us8k"))
    broken = tmp_path / "broken.json"
    broken.write_text('{"label": "dog", "rewrites": {}}\n{not json\n')
    with pytest.raises(BankError, match="broken.json, line 2: not a JSON object"):
        import_authors_bank(broken, "esc50", task_label_names("esc50"))
