"""Template and file strategies, and the two poolings against a brute-force reference."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from zsbench.prompt_strategies.base import NoPromptsError, PromptSet, bank_hash, class_scores
from zsbench.prompt_strategies.file import FileStrategy
from zsbench.prompt_strategies.template import TemplateStrategy, fill

META = SimpleNamespace(templates=("This is a sound of {label}.",))


def test_template_defaults_to_the_models_paper_template():
    s = TemplateStrategy(META)
    assert s.prompts(["dog"]) == {"dog": ["This is a sound of dog."]}
    # pooling is the runner's: the run record adds it to these params (test_runner)
    assert s.params() == {"templates": ["This is a sound of {label}."]}


def test_prefix_templates_and_lists():
    assert fill("this is a sound of ", "dog") == "this is a sound of dog"  # MS-CLAP style prefix
    s = TemplateStrategy(META, templates=["{label}", "a {label} nearby"])
    assert s.prompts(["dog", "rain"]) == {"dog": ["dog", "a dog nearby"], "rain": ["rain", "a rain nearby"]}


def test_file_strategy_reads_cupl_json_and_records_its_hash(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"dog": ["a dog barks", "woof"], "rain": ["rain on a roof"], "extra": ["x"]}))
    s = FileStrategy(META, path=path)
    assert s.prompts(["dog", "rain"]) == {"dog": ["a dog barks", "woof"], "rain": ["rain on a roof"]}
    assert len(s.params()["file_sha256"]) == 64


@pytest.mark.parametrize("content,match", [
    ({"dog": ["woof"]}, "no prompts for label.*'rain'"),
    ({"dog": ["woof"], "rain": []}, "no prompts for label.*'rain'"),
    ({"dog": ["woof"], "rain": ["  "]}, "no prompts for label.*'rain'"),
])
def test_a_label_with_no_prompts_is_named(tmp_path, content, match):
    path = tmp_path / "p.json"
    path.write_text(json.dumps(content))
    with pytest.raises(NoPromptsError, match=match) as err:
        FileStrategy(META, path=path).prompts(["dog", "rain"])
    assert str(path) in str(err.value)


@pytest.mark.parametrize("text,match", [("{not json", "not valid JSON"), ('{"dog": "woof"}', "list of strings"),
                                        ("[1, 2]", "JSON object")])
def test_malformed_prompt_file(tmp_path, text, match):
    path = tmp_path / "p.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        FileStrategy(META, path=path)


def test_bank_hash_changes_with_any_prompt():
    a = {"dog": ["a", "b"]}
    assert bank_hash(a) == bank_hash({"dog": ["a", "b"]})
    assert bank_hash(a) != bank_hash({"dog": ["b", "a"]})


def _unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def test_poolings_match_brute_force():
    rng = np.random.default_rng(0)
    audio = _unit(rng.standard_normal((7, 16)))
    prompts = {"a": ["p1", "p2", "p3"], "b": ["p4"], "c": ["p5", "p6"]}
    ps = PromptSet.from_dict(prompts, ["a", "b", "c"])
    text = _unit(rng.standard_normal((len(ps.texts), 16)))
    emb = class_scores(audio, text, ps.owner, 3, "embedding-mean")
    score = class_scores(audio, text, ps.owner, 3, "score-mean")
    for c in range(3):
        rows = text[ps.owner == c]
        centroid = _unit(rows.mean(0))
        np.testing.assert_allclose(emb[:, c], audio @ centroid, rtol=1e-5)
        np.testing.assert_allclose(score[:, c], (audio @ rows.T).mean(1), rtol=1e-5)
    assert not np.allclose(emb, score)  # the choice is real
    with pytest.raises(ValueError, match="unknown pooling"):
        class_scores(audio, text, ps.owner, 3, "max")


def test_strategies_declare_their_parameters_inputs_and_whether_they_augment():
    from typing import Any

    from zsbench.prompt_strategies.base import augments, strategy_spec
    from zsbench.registry import PROMPTS

    specs = {name: strategy_spec(name, PROMPTS.get(name)) for name in ("template", "file", "description", "augmented")}
    assert {name: s.parameters for name, s in specs.items()} == {
        "template": {"templates": list[str]}, "file": {"path": str}, "description": {"bank": str},
        "augmented": {"bank": str, "n": int}}
    assert specs["augmented"].inputs == ("task_id", "seed") and specs["template"].inputs == ("model_meta",)
    assert specs["augmented"].describe({"n": "--n"}) == "it takes: bank (str), n (int, or --n)"
    # Table II's lower half is the strategies' own word, not a list kept by the leaderboard
    assert [name for name in specs if augments(name)] == ["description", "augmented"]
    assert not augments("captions") and not augments("no-such-strategy")

    class Legacy:  # a plug-in written before strategies declared their parameters
        def __init__(self, model_meta=None, seed=0, pooling="embedding-mean", style="plain"):
            pass

    legacy = strategy_spec("legacy", Legacy)
    assert legacy.parameters == {"style": Any} and set(legacy.inputs) == {"model_meta", "pooling", "seed"}


@pytest.mark.parametrize("value,hint,expected", [
    (3, int, 3), ("3", int, 3), (3.0, int, 3), (7, str, "7"), ("a {label}", list[str], ["a {label}"]),
    (("a", "b"), list[str], ["a", "b"]), ("true", bool, True)])
def test_parameter_values_take_their_declared_type(value, hint, expected):
    from zsbench.prompt_strategies.base import coerce

    assert coerce(value, hint, "here") == expected


@pytest.mark.parametrize("value,hint", [("three", int), (True, int), (2.5, int), ("maybe", bool)])
def test_a_value_of_the_wrong_type_is_refused(value, hint):
    from zsbench.prompt_strategies.base import coerce

    with pytest.raises(ValueError, match="here: .* is not an? "):
        coerce(value, hint, "here")


def test_a_tasks_declared_bank_is_the_default_and_bank_still_overrides(monkeypatch):
    """TaskMeta.bank names the bank a task uses (here a task sharing ESC-50's); --bank wins."""
    import dataclasses

    from zsbench.registry import PROMPTS, TASKS
    from zsbench.tasks import catalog

    loader = TASKS.get("us8k")
    shared = dataclasses.replace(catalog.meta("us8k"), bank="esc50")
    monkeypatch.setattr(loader, "meta", shared)
    for name in ("description", "augmented"):
        assert PROMPTS.get(name)(task_id="us8k").bank.path.stem == "esc50"
        assert PROMPTS.get(name)(task_id="us8k", bank="us8k").bank.path.stem == "us8k"
    monkeypatch.undo()
    assert PROMPTS.get("description")(task_id="us8k").bank.path.stem == "us8k"
