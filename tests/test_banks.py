"""Prompt banks: format, validation, hashing; the description and augmented strategies."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from zsbench.prompt_strategies.augmented import AugmentedStrategy
from zsbench.prompt_strategies.bank import Bank, BankError, load_bank, validate
from zsbench.prompt_strategies.description import DescriptionStrategy

META = SimpleNamespace(templates=("{label}",))


def small_bank(labels=("dog", "rain"), t=2, n=3) -> dict:
    return {lab: [{"text": f"{lab} description {i}", "captions": [f"{lab} scene {i}.{j}" for j in range(n)]}
                  for i in range(t)] for lab in labels}


def write_bank(path, labels: dict, task="toy") -> str:
    path.write_text(Bank(task=task, labels=labels, provenance={"t": 2, "n": 3}).to_json())
    return str(path)


def test_roundtrip_and_hash(tmp_path):
    path = write_bank(tmp_path / "b.json", small_bank())
    bank = load_bank(path)
    assert bank.descriptions("dog") == ["dog description 0", "dog description 1"]
    assert len(bank.captions("rain")) == 6
    data = json.loads(open(path).read())
    data["labels"]["dog"][0]["captions"][0] = "a dog barks at the gate"  # edited, hash not updated
    (tmp_path / "edited.json").write_text(json.dumps(data))
    with pytest.raises(BankError, match="hash mismatch"):
        load_bank(tmp_path / "edited.json")


@pytest.mark.parametrize("mutate,match", [
    (lambda b: b["dog"][1]["captions"].__setitem__(0, "dog scene 0.0"), "duplicated captions"),
    (lambda b: b["dog"][1].__setitem__("text", "dog description 0"), "duplicated descriptions"),
    (lambda b: b["dog"][1].__setitem__("text", " "), "empty description"),
    (lambda b: b["dog"].pop(), "1 descriptions, expected 2"),
    (lambda b: b["dog"][0]["captions"].pop(), "2 captions, expected 3"),
])
def test_validator_names_the_label_and_problem(mutate, match):
    labels = small_bank()
    mutate(labels)
    problems = validate(labels, t=2, n=3)
    assert problems and "'dog'" in problems[0] and any(match in p for p in problems)
    assert not validate(small_bank(), t=2, n=3)


def test_description_strategy(tmp_path):
    s = DescriptionStrategy(META, bank=write_bank(tmp_path / "b.json", small_bank()))
    assert s.prompts(["dog"]) == {"dog": ["dog description 0", "dog description 1"]}
    assert s.params()["bank_sha256"] == load_bank(tmp_path / "b.json").sha256


def test_augmented_samples_n_unique_seeded_per_label(tmp_path):
    bank = write_bank(tmp_path / "b.json", small_bank())
    a = AugmentedStrategy(META, bank=bank, n=2, seed=0).prompts(["dog", "rain"])
    assert a == AugmentedStrategy(META, bank=bank, n=2, seed=0).prompts(["dog", "rain"])
    assert all(len(v) == 2 and len(set(v)) == 2 for v in a.values())
    assert a["dog"] == AugmentedStrategy(META, bank=bank, n=2, seed=0).prompts(["dog"])["dog"]  # per label
    draws = {tuple(AugmentedStrategy(META, bank=bank, n=2, seed=s).prompts(["dog"])["dog"]) for s in range(10)}
    assert len(draws) > 1
    with pytest.raises(BankError, match="--n 7 needs 7 captions per label, but label 'dog' has 6"):
        AugmentedStrategy(META, bank=bank, n=7).prompts(["dog"])


def test_missing_label_and_missing_bank(tmp_path):
    bank = write_bank(tmp_path / "b.json", small_bank())
    with pytest.raises(BankError, match="no entry for label 'cat'"):
        DescriptionStrategy(META, bank=bank).prompts(["cat"])
    with pytest.raises(BankError, match="not found"):
        AugmentedStrategy(META, task_id="no-such-task")


def test_run_with_augmented_and_description_on_synthworld(isolated):
    """End to end through the runner with the shipped synthworld bank (chosen by task id)."""
    import zsbench

    common = {"task_options": {"n_per_class": 1}, "workers": 0, "seed": 3}
    aug = zsbench.evaluate(prompts="augmented", n=2, **common).record
    assert aug.prompts["params"]["n"] == 2 and aug.prompts["params"]["seed"] == 3
    assert aug.prompts["params"]["bank"].endswith("synthworld.json")
    assert aug.prompts["n_prompts"] == 2 * 18
    desc = zsbench.evaluate(prompts="description", **common).record
    assert desc.prompts["n_prompts"] == 5 * 18 and desc.cache["audio_computed"] == 0  # same crops: reused
    assert aug.prompts["bank_hash"] != desc.prompts["bank_hash"]
    assert aug.prompts["params"]["bank_sha256"] == desc.prompts["params"]["bank_sha256"] == load_bank("synthworld").sha256


@pytest.mark.parametrize("task_id", ["esc50", "us8k", "fsd50k", "vggsound", "audioset", "tut2018", "nsynth",
                                     "cochlscene", "synthworld"])
def test_fixed_label_lists_equal_what_the_loaders_read_from_real_metadata(task_id, shared, tmp_path):
    """The sidecar label lists (which the banks and prompt sets are checked against without
    data) are exactly the labels each task's loader reads from the official metadata."""
    from zsbench.tasks.metadata import label_names

    assert label_names(task_id) == task_labels(task_id, shared, tmp_path)


def task_labels(task_id: str, shared, tmp_path) -> list[str]:
    """The label names each task scores with, from its own loader on real metadata (or, where the
    labels come from a sidecar, an empty layout built here); no audio needed."""
    import importlib

    from zsbench.tasks import metadata, cochlscene, nsynth, tut

    if task_id == "synthworld":
        from zsbench import synthworld

        return [c.name for c in synthworld.CLASSES]
    data = shared / "data"
    roots = {"esc50": data / "esc50", "us8k": data / "urbansound8k", "fsd50k": data / "fsd50k",
             "vggsound": data / "vggsound", "audioset": data / "audioset"}
    if task_id in roots:
        return importlib.import_module(f"zsbench.tasks.{task_id}").read_metadata(roots[task_id]).labels
    if task_id == "tut2018":  # the same ten scenes; only TAU 2019's metadata is here
        return tut.read_metadata(data / "tau2019uas", edition="tau2019").labels
    if task_id == "nsynth":
        (tmp_path / "nsynth-test").mkdir()
        (tmp_path / "nsynth-test" / "examples.json").write_text("{}")
        return nsynth.read_metadata(tmp_path).labels
    if task_id == "cochlscene":
        for scene in metadata.load_sidecar("cochlscene")["scenes"]:
            (tmp_path / "CochlScene" / "Test" / scene).mkdir(parents=True)
        return cochlscene.read_metadata(tmp_path).labels
    raise AssertionError(f"no label source for the bank of task {task_id!r}")
