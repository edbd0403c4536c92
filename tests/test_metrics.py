"""Each metric in zsbench.evaluation.metrics checked against an independent reference.

References: scikit-learn for classification/AP, and plain Python loops (sort the candidates,
find the first hit) for retrieval, written here without reusing the module's vectorised code.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, balanced_accuracy_score, top_k_accuracy_score

from zsbench.evaluation import metrics as M
from zsbench.registry import METRICS


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# ------------------------------------------------------------------ top-k accuracy

def _topk_bruteforce(scores: np.ndarray, targets: np.ndarray, k: int) -> float:
    hits = 0
    for row, t in zip(scores.tolist(), targets.tolist()):
        # stable descending order: higher score first, lower class index first on ties
        order = sorted(range(len(row)), key=lambda c: (-row[c], c))
        hits += t in order[:k]
    return hits / len(targets)


@pytest.mark.parametrize("k", [1, 2, 5])
def test_topk_accuracy_matches_bruteforce_and_sklearn(k):
    rng = _rng(1)
    scores = rng.normal(size=(300, 12))
    targets = rng.integers(0, 12, size=300)
    got = M.topk_accuracy(scores, targets, k)
    assert got == pytest.approx(_topk_bruteforce(scores, targets, k))
    assert got == pytest.approx(top_k_accuracy_score(targets, scores, k=k, labels=np.arange(12)))


def test_topk_accuracy_ties_go_to_lower_class_index():
    scores = np.zeros((4, 3))  # a collapsed model: every class ties
    targets = np.array([0, 1, 2, 0])
    assert M.topk_accuracy(scores, targets, 1) == 0.5  # only class 0 is "predicted"
    assert M.topk_accuracy(scores, targets, 2) == 0.75
    assert M.topk_accuracy(scores, targets, 3) == 1.0
    rounded = np.round(_rng(2).random((200, 6)), 1)
    t = _rng(3).integers(0, 6, size=200)
    for k in (1, 3):
        assert M.topk_accuracy(rounded, t, k) == pytest.approx(_topk_bruteforce(rounded, t, k))
    assert M.topk_accuracy(rounded, t, 1) == pytest.approx(np.mean(rounded.argmax(1) == t))


# ------------------------------------------------------------------ per-class recall

@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_mean_per_class_recall_matches_balanced_accuracy():
    rng = _rng(4)
    scores = rng.normal(size=(500, 10))
    targets = rng.integers(0, 10, size=500)
    targets[targets == 7] = 3  # class 7 absent from the targets: skipped, not counted as 0
    got = M.mean_per_class_recall(scores, targets)
    assert got == pytest.approx(balanced_accuracy_score(targets, scores.argmax(1)))
    rec = M.per_class_recall(scores, targets, 10)
    assert rec.shape == (10,) and np.isnan(rec[7]) and not np.isnan(np.delete(rec, 7)).any()
    for c in (0, 3):
        mask = targets == c
        assert rec[c] == pytest.approx(np.mean(scores[mask].argmax(1) == c))


# ------------------------------------------------------------------ average precision

def _sklearn_ap_columns(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.array([average_precision_score(y[:, c], scores[:, c]) for c in range(y.shape[1])])


@pytest.mark.parametrize("tied", [False, True])
def test_average_precision_matches_sklearn(tied):
    rng = _rng(5)
    scores = rng.random((400, 15))
    if tied:
        scores = np.round(scores, 1)  # ~11 distinct values per column: large tie groups
    y = rng.random((400, 15)) < 0.15
    y[0] = True  # every class has a positive
    got = M.average_precision_per_class(scores, y)
    np.testing.assert_allclose(got, _sklearn_ap_columns(scores, y), rtol=0, atol=1e-12)
    assert M.mean_average_precision(scores, y) == pytest.approx(
        average_precision_score(y, scores, average="macro"), abs=1e-12)


def test_average_precision_constant_and_extreme_columns():
    rng = _rng(6)
    y = rng.random((50, 3)) < 0.3
    y[0] = True
    scores = np.column_stack([np.zeros(50), y[:, 1].astype(float), -y[:, 2].astype(float)])
    got = M.average_precision_per_class(scores, y.astype(int))
    np.testing.assert_allclose(got, _sklearn_ap_columns(scores, y), atol=1e-12)
    assert got[0] == pytest.approx(y[:, 0].mean())  # one tie group: precision = prevalence
    assert got[1] == pytest.approx(1.0)


def test_class_without_positives_is_nan_and_skipped():
    rng = _rng(7)
    scores = rng.random((200, 8))
    y = rng.random((200, 8)) < 0.2
    y[:, 4] = False
    y[0, [0, 1, 2, 3, 5, 6, 7]] = True
    ap = M.average_precision_per_class(scores, y)
    assert np.isnan(ap[4]) and not np.isnan(np.delete(ap, 4)).any()
    keep = [c for c in range(8) if c != 4]
    ref = average_precision_score(y[:, keep], scores[:, keep], average="macro")
    assert M.mean_average_precision(scores, y) == pytest.approx(ref, abs=1e-12)
    with pytest.raises(ValueError):
        M.mean_average_precision(scores, np.zeros_like(y))


# ------------------------------------------------------------------ retrieval

def _retrieval_bruteforce(sim: np.ndarray, t2a: np.ndarray, ks=(1, 5, 10)) -> dict[str, float]:
    """Sort every query's candidates; ties with a non-match rank the match below it."""
    n_text, n_audio = sim.shape
    t2a_ranks = []
    for t in range(n_text):
        cands = sorted(range(n_audio), key=lambda a: (-sim[t, a], a == t2a[t]))
        t2a_ranks.append(cands.index(t2a[t]))
    a2t_ranks = []
    for a in range(n_audio):
        positives = [t for t in range(n_text) if t2a[t] == a]
        if not positives:
            continue
        cands = sorted(range(n_text), key=lambda t: (-sim[t, a], t2a[t] == a))
        a2t_ranks.append(min(cands.index(t) for t in positives))
    out = {}
    for k in ks:
        out[f"t2a_R@{k}"] = sum(r < k for r in t2a_ranks) / len(t2a_ranks)
    for k in ks:
        out[f"a2t_R@{k}"] = sum(r < k for r in a2t_ranks) / len(a2t_ranks)
    out["t2a_mAP@10"] = sum(1 / (r + 1) if r < 10 else 0 for r in t2a_ranks) / len(t2a_ranks)
    return out


@pytest.mark.parametrize("tied", [False, True])
def test_retrieval_matches_bruteforce(tied):
    rng = _rng(8)
    n_audio, per_clip = 40, 5
    t2a = np.repeat(np.arange(n_audio), per_clip)
    rng.shuffle(t2a)
    sim = rng.normal(size=(n_audio * per_clip, n_audio))
    sim[np.arange(len(t2a)), t2a] += 1.5  # better than chance, so every R@k is informative
    if tied:
        sim = np.round(sim, 0)
    got = M.retrieval_metrics(sim, t2a)
    ref = _retrieval_bruteforce(sim, t2a)
    assert set(got) == {"t2a_R@1", "t2a_R@5", "t2a_R@10", "a2t_R@1", "a2t_R@5", "a2t_R@10", "t2a_mAP@10"}
    for key in ref:
        assert got[key] == pytest.approx(ref[key]), key
        assert 0.0 <= got[key] <= 1.0


def test_retrieval_map10_matches_laion_clap_formula_without_ties():
    rng = _rng(9)
    t2a = np.repeat(np.arange(30), 5)
    sim = rng.normal(size=(150, 30))
    preds = np.array([np.where(np.argsort(-sim[t]) == t2a[t])[0][0] for t in range(150)])
    ref = np.mean(np.where(preds < 10, 1 / (preds + 1), 0))
    assert M.retrieval_metrics(sim, t2a)["t2a_mAP@10"] == pytest.approx(ref)
    assert M.retrieval_metrics(sim, t2a)["t2a_R@5"] == pytest.approx(np.mean(preds < 5))


def test_retrieval_tiny_case_with_ties():
    # captions 0,1 describe clip 0; captions 2,3 describe clip 1
    sim = np.array([
        [0.9, 0.1],  # right clip first
        [0.5, 0.5],  # tie with the wrong clip: counted against the query -> rank 2
        [0.8, 0.3],  # wrong clip first -> rank 2
        [0.2, 0.5],  # right clip first
    ])
    t2a = np.array([0, 0, 1, 1])
    got = M.retrieval_metrics(sim, t2a)
    assert got["t2a_R@1"] == 0.5
    assert got["t2a_R@5"] == got["t2a_R@10"] == 1.0
    assert got["t2a_mAP@10"] == pytest.approx((1 + 0.5 + 0.5 + 1) / 4)
    # clip 0: best caption 0 (0.9) beats every other caption -> hit.
    # clip 1: best own caption 3 scores 0.5, tied with caption 1 of clip 0 -> rank 2, miss at 1.
    assert got["a2t_R@1"] == 0.5
    assert got["a2t_R@5"] == 1.0
    assert got == pytest.approx(_retrieval_bruteforce(sim, t2a))


def test_retrieval_collapsed_model_scores_zero_at_one():
    sim = np.ones((10, 5))
    t2a = np.repeat(np.arange(5), 2)
    got = M.retrieval_metrics(sim, t2a)
    assert got["t2a_R@1"] == 0.0 and got["a2t_R@1"] == 0.0


# ------------------------------------------------------------------ bootstrap

def test_bootstrap_ci_deterministic_contains_estimate_and_narrows():
    rng = _rng(10)
    small = (rng.random(100) < 0.7).astype(float)
    large = (rng.random(10_000) < 0.7).astype(float)

    def ci(x: np.ndarray, seed: int) -> tuple[float, float]:
        return M.bootstrap_ci(lambda idx: float(x[idx].mean()), len(x), n_boot=500, seed=seed)

    a, b = ci(small, 0), ci(small, 0)
    assert a == b
    assert ci(small, 1) != a
    assert a[0] <= small.mean() <= a[1]
    wide, narrow = a[1] - a[0], ci(large, 0)[1] - ci(large, 0)[0]
    assert narrow < wide / 3
    with pytest.raises(ValueError):
        M.bootstrap_ci(lambda idx: 0.0, 0)


# ------------------------------------------------------------------ registered kinds

@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_registered_kinds_return_reports():
    rng = _rng(11)
    labels = [f"class_{i}" for i in range(6)]
    scores = rng.normal(size=(60, 6))
    targets = rng.integers(0, 5, size=60)  # class 5 absent

    acc = METRICS.get("accuracy")
    assert acc is M.accuracy
    rep = acc(scores, targets, labels, n_boot=200, seed=0)
    assert isinstance(rep, M.MetricReport) and rep.headline == "accuracy"
    assert rep.values["accuracy"] == pytest.approx(np.mean(scores.argmax(1) == targets))
    assert rep.values["top5_accuracy"] == pytest.approx(top_k_accuracy_score(targets, scores, k=5, labels=range(6)))
    assert rep.values["mean_per_class_recall"] == pytest.approx(balanced_accuracy_score(targets, scores.argmax(1)))
    assert set(rep.per_class) == set(labels[:5])
    assert rep.ci is not None and rep.ci[0] <= rep.values["accuracy"] <= rep.ci[1]
    json.dumps(rep.to_dict())
    assert acc(scores, targets, labels, n_boot=200, seed=0).ci == rep.ci

    multi = rng.random((60, 6)) < 0.3
    multi[0] = True
    mrep = METRICS.get("map")(scores, multi, labels)
    assert mrep.headline == "mAP" and mrep.ci is None
    assert mrep.values["mAP"] == pytest.approx(average_precision_score(multi, scores, average="macro"))
    assert mrep.values["top1_hit"] == pytest.approx(np.mean(multi[np.arange(60), scores.argmax(1)]))
    assert mrep.per_class["class_2"] == pytest.approx(average_precision_score(multi[:, 2], scores[:, 2]))
    assert METRICS.get("map")(scores, multi, labels, n_boot=20).ci is not None

    t2a = np.repeat(np.arange(12), 5)
    rrep = METRICS.get("retrieval")(scores @ rng.normal(size=(6, 12)), t2a, n_boot=50)
    assert rrep.headline == "t2a_R@1" and rrep.per_class == {} and rrep.ci is not None
    assert "a2t_R@10" in rrep.values and "t2a_mAP@10" in rrep.values


def test_to_dict_replaces_nan():
    rep = M.MetricReport("accuracy", {"accuracy": 0.5, "other": math.nan}, {"dog": math.nan}, (0.4, 0.6))
    d = rep.to_dict()
    assert d["values"]["other"] is None and d["per_class"]["dog"] is None and d["ci"] == [0.4, 0.6]
    assert "NaN" not in json.dumps(d)


def test_bad_inputs_raise_value_error():
    scores = np.zeros((4, 3))
    with pytest.raises(ValueError, match="no rows"):
        M.accuracy(np.zeros((0, 3)), np.zeros(0, int), ["a", "b", "c"])
    with pytest.raises(ValueError, match=r"\(4, 3\)"):
        M.topk_accuracy(scores, np.zeros(5, int))
    with pytest.raises(ValueError):
        M.topk_accuracy(scores, np.array([0, 1, 2, 3]))  # target out of range
    with pytest.raises(ValueError):
        M.accuracy(scores, np.zeros(4, int), ["a", "b"])  # label count
    with pytest.raises(ValueError, match=r"\(4, 2\)"):
        M.average_precision_per_class(scores, np.zeros((4, 2)))
    with pytest.raises(ValueError, match="no rows"):
        M.map_metric(np.zeros((0, 3)), np.zeros((0, 3)), ["a", "b", "c"])
    with pytest.raises(ValueError):
        M.retrieval_metrics(np.zeros((4, 2)), np.array([0, 1, 1]))
    with pytest.raises(ValueError):
        M.retrieval_metrics(np.zeros((3, 2)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="no rows"):
        M.retrieval(np.zeros((0, 2)), np.zeros(0, int))
    with pytest.raises(ValueError, match="NaN"):
        M.topk_accuracy(np.full((2, 2), np.nan), np.array([0, 1]))
