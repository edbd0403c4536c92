"""Metrics for zero-shot audio classification and audio-text retrieval.

Everything here is a pure function over numpy arrays, so a result can be recomputed from saved
scores without a model or torch, and each definition can be checked against a reference
(scikit-learn, the published evaluation scripts) in the tests. Papers in this field disagree
on small details (tie handling, which classes enter a mean, what "mAP" means); each function
states the rule it follows so two numbers in the leaderboard mean the same thing.

All scalar results are fractions in [0, 1]; turn them into percentages only when displaying.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from zsbench.registry import METRICS

__all__ = [
    "MetricReport",
    "accuracy",
    "average_precision_per_class",
    "bootstrap_ci",
    "map_metric",
    "mean_average_precision",
    "mean_per_class_recall",
    "per_class_recall",
    "retrieval",
    "retrieval_metrics",
    "topk_accuracy",
]


# --------------------------------------------------------------------------------------------
# Input checks. Metrics over empty or misshapen arrays tend to come out as NaN or as a number
# computed over the wrong axis; both would end up silently in a results table, so fail loudly.
# --------------------------------------------------------------------------------------------

def _check_scores(scores: Any, name: str = "scores") -> np.ndarray:
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (items, classes); got shape {s.shape}")
    if s.shape[0] == 0:
        raise ValueError(f"{name} has no rows (shape {s.shape}); cannot compute a metric over zero items")
    if s.shape[1] == 0:
        raise ValueError(f"{name} has no columns (shape {s.shape}); need at least one class/candidate")
    if np.isnan(s).any():
        raise ValueError(f"{name} contains NaN; rankings over NaN scores are undefined")
    return s


def _check_class_targets(targets: Any, scores: np.ndarray, n_classes: int | None = None) -> np.ndarray:
    t = np.asarray(targets)
    if t.ndim != 1 or t.shape[0] != scores.shape[0]:
        raise ValueError(
            f"targets must have shape ({scores.shape[0]},) to match scores {scores.shape}; got {t.shape}"
        )
    if t.size and not np.issubdtype(t.dtype, np.integer):
        if not np.all(np.equal(np.mod(t, 1), 0)):
            raise ValueError(f"targets must be integer class indices; got dtype {t.dtype}")
    t = t.astype(np.int64)
    c = scores.shape[1] if n_classes is None else n_classes
    if t.size and (t.min() < 0 or t.max() >= c):
        raise ValueError(f"targets must lie in [0, {c}); got values in [{t.min()}, {t.max()}]")
    return t


def _check_multi_hot(targets: Any, scores: np.ndarray) -> np.ndarray:
    t = np.asarray(targets)
    if t.shape != scores.shape:
        raise ValueError(f"multi-hot targets must have the same shape as scores {scores.shape}; got {t.shape}")
    if t.dtype != np.bool_:
        if not np.isin(t, (0, 1)).all():
            raise ValueError("multi-hot targets must contain only 0/1 (or bool) values")
        t = t.astype(bool)
    return t


# --------------------------------------------------------------------------------------------
# Single-label classification
# --------------------------------------------------------------------------------------------

def _target_ranks(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """0-based rank of each row's target under a stable descending sort.

    Counting instead of sorting keeps this O(N*C). The rank equals the position the target
    would get from ``np.argsort(-scores, kind="stable")``: every strictly higher score comes
    first, and among equal scores the lower class index comes first.
    """
    n, c = scores.shape
    ts = scores[np.arange(n), targets][:, None]
    higher = (scores > ts).sum(axis=1)
    tied_before = ((scores == ts) & (np.arange(c)[None, :] < targets[:, None])).sum(axis=1)
    return higher + tied_before


def _topk_hits(scores: np.ndarray, targets: np.ndarray, k: int) -> np.ndarray:
    if k < 1:
        raise ValueError(f"k must be >= 1; got {k}")
    return _target_ranks(scores, targets) < k


def topk_accuracy(scores: np.ndarray, targets: np.ndarray, k: int = 1) -> float:
    """Fraction of rows whose target class is among the k highest scores.

    Ties are broken deterministically as a stable argsort of ``-scores`` would: the lower
    class index ranks first. Top-1 therefore agrees with ``np.argmax``. (A tie-aware
    "expected" accuracy would be fairer to a degenerate constant-score model, but would not
    match the argmax predictions that every published zero-shot script reports.)
    ``k >= n_classes`` gives 1.0.
    """
    s = _check_scores(scores)
    t = _check_class_targets(targets, s)
    return float(_topk_hits(s, t, k).mean())


def per_class_recall(scores: np.ndarray, targets: np.ndarray, n_classes: int) -> np.ndarray:
    """Top-1 recall for each class, NaN where the class never occurs in ``targets``.

    NaN rather than 0 for absent classes: a class with no test items says nothing about the
    model, and averaging a 0 in would punish it for the dataset split.
    """
    s = _check_scores(scores)
    if s.shape[1] != n_classes:
        raise ValueError(f"scores has {s.shape[1]} columns but n_classes={n_classes}")
    t = _check_class_targets(targets, s, n_classes)
    correct = np.argmax(s, axis=1) == t
    support = np.bincount(t, minlength=n_classes).astype(np.float64)
    hits = np.bincount(t, weights=correct.astype(np.float64), minlength=n_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, hits / np.maximum(support, 1), np.nan)


def mean_per_class_recall(scores: np.ndarray, targets: np.ndarray) -> float:
    """Mean of the top-1 recalls of the classes present in ``targets``.

    Unlike plain accuracy this does not let large classes dominate; it is the same number as
    ``sklearn.metrics.balanced_accuracy_score(targets, scores.argmax(1))``.
    """
    s = _check_scores(scores)
    rec = per_class_recall(s, targets, s.shape[1])
    return float(np.nanmean(rec))  # at least one class is present because N > 0


# --------------------------------------------------------------------------------------------
# Multi-label classification
# --------------------------------------------------------------------------------------------

def average_precision_per_class(scores: np.ndarray, targets_multi_hot: np.ndarray) -> np.ndarray:
    """Average precision of every column, exactly as ``sklearn.metrics.average_precision_score``.

    The definition is sklearn's step-wise sum ``AP = sum_n (R_n - R_{n-1}) * P_n`` over the
    distinct score thresholds, so tied scores enter as one block: all items of a tie group are
    admitted together and share the precision at the end of the group (no interpolation, no
    dependence on the order of tied items). This is what AudioSet/FSD50K results are reported
    with, so numbers stay comparable.

    Columns are processed together with one sort along the item axis instead of a Python loop
    over classes (AudioSet eval: ~20k x 527). Implementation: each positive contributes the
    precision at the end of its tie group, divided by the number of positives; summing those
    reproduces sklearn's sum because the recall step of a tie group is its positive count.

    Classes with no positive get NaN: AP is undefined there (sklearn warns and returns a
    meaningless value), and the mean must be able to skip them.
    """
    s = _check_scores(scores)
    y = _check_multi_hot(targets_multi_hot, s)
    # Columns are independent: blocks of classes bound the temporaries (five N x block arrays)
    # to ~40 MB however large the task (AudioSet: 20k x 527 in one block took ~450 MB).
    block = max(1, AP_BLOCK_ELEMENTS // max(1, s.shape[0]))
    return np.concatenate([_ap_columns(s[:, c:c + block], y[:, c:c + block]) for c in range(0, s.shape[1], block)])


AP_BLOCK_ELEMENTS = 1_000_000


def _ap_columns(s: np.ndarray, y: np.ndarray) -> np.ndarray:
    n = s.shape[0]

    # Work class-major (C, N) so each sort runs over contiguous memory. The sort need not be
    # stable: the order inside a tie group does not change the result (see above).
    neg_t = np.ascontiguousarray(-s.T)
    order = np.argsort(neg_t, axis=1)
    s_sorted = np.take_along_axis(neg_t, order, axis=1)
    y_sorted = np.take_along_axis(np.ascontiguousarray(y.T), order, axis=1)
    del order, neg_t
    tp = np.cumsum(y_sorted, axis=1, dtype=np.int64)

    # Index of the last item of each item's tie group: items where the next score differs (or
    # the last item) are group ends; a reverse running minimum carries each end back over its
    # group.
    is_end = np.ones(s_sorted.shape, dtype=bool)
    is_end[:, :-1] = s_sorted[:, :-1] != s_sorted[:, 1:]
    del s_sorted
    end_idx = np.where(is_end, np.arange(n)[None, :], n)
    end_idx = np.minimum.accumulate(end_idx[:, ::-1], axis=1)[:, ::-1]

    # Only positives contribute, and multi-label targets are sparse: gather just those.
    cls, pos = np.nonzero(y_sorted)
    ends = end_idx[cls, pos]
    precision_at_end = tp[cls, ends] / (ends + 1.0)
    n_pos = tp[:, -1].astype(np.float64)
    summed = np.bincount(cls, weights=precision_at_end, minlength=s.shape[1])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_pos > 0, summed / np.maximum(n_pos, 1.0), np.nan)


def mean_average_precision(scores: np.ndarray, targets_multi_hot: np.ndarray) -> float:
    """Macro mean of the per-class AP over the classes that have at least one positive.

    Classes without a positive are skipped, as the AudioSet and FSD50K evaluations do (their
    AP is undefined). When every class has a positive this equals
    ``sklearn.metrics.average_precision_score(targets, scores, average="macro")``.
    """
    ap = average_precision_per_class(scores, targets_multi_hot)
    if np.isnan(ap).all():
        raise ValueError("no class has a positive item; mean average precision is undefined")
    return float(np.nanmean(ap))


def _top1_hits_multi(scores: np.ndarray, targets_multi_hot: np.ndarray) -> np.ndarray:
    return targets_multi_hot[np.arange(scores.shape[0]), np.argmax(scores, axis=1)]


# --------------------------------------------------------------------------------------------
# Audio-text retrieval
# --------------------------------------------------------------------------------------------

def _check_retrieval(sim: Any, text_to_audio: Any) -> tuple[np.ndarray, np.ndarray]:
    s = _check_scores(sim, "text_audio_sim")
    t2a = np.asarray(text_to_audio)
    if t2a.ndim != 1 or t2a.shape[0] != s.shape[0]:
        raise ValueError(
            f"text_to_audio must have shape ({s.shape[0]},) to match text_audio_sim {s.shape} "
            f"(one clip index per caption); got {t2a.shape}"
        )
    t2a = t2a.astype(np.int64)
    if t2a.min() < 0 or t2a.max() >= s.shape[1]:
        raise ValueError(
            f"text_to_audio must index clips in [0, {s.shape[1]}); got values in [{t2a.min()}, {t2a.max()}]"
        )
    return s, t2a


def _t2a_ranks(sim: np.ndarray, t2a: np.ndarray) -> np.ndarray:
    """0-based rank of each caption's clip among all clips, ties counted against the query."""
    pos = sim[np.arange(sim.shape[0]), t2a][:, None]
    return (sim >= pos).sum(axis=1) - 1  # every other clip scoring >= the right one ranks above it


def _a2t_ranks(sim: np.ndarray, t2a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """0-based rank of the best-ranked matching caption for each clip that has a caption.

    Returns (ranks, clip ids). Rank = number of non-matching captions scoring >= the clip's
    best matching caption, i.e. ties with negatives count against the query; other matching
    captions never push the first hit down.
    """
    n_text, n_audio = sim.shape
    best = np.full(n_audio, -np.inf)
    np.maximum.at(best, t2a, sim[np.arange(n_text), t2a])
    present = np.bincount(t2a, minlength=n_audio) > 0
    clips = np.flatnonzero(present)
    sub = sim[:, clips]
    negative = t2a[:, None] != clips[None, :]
    ranks = ((sub >= best[clips][None, :]) & negative).sum(axis=0)
    return ranks, clips


def retrieval_metrics(text_audio_sim: np.ndarray, text_to_audio: np.ndarray,
                      ks: Sequence[int] = (1, 5, 10)) -> dict[str, float]:
    """Recall@k both ways and text-to-audio mAP@10, following CLIP_benchmark / LAION-CLAP.

    - text-to-audio: every caption is a query over all A clips; a hit at k if its own clip is
      among the k best. Keys ``t2a_R@k``.
    - audio-to-text: every clip is a query over all T captions; a hit at k if ANY of its
      captions is among the k best (Clotho/AudioCaps have ~5 captions per clip). Clips that no
      caption refers to cannot be queried and are left out. Keys ``a2t_R@k``.
    - ``t2a_mAP@10``: mean over captions of ``1/rank`` (1-based rank of its clip) if the rank
      is <= 10, else 0 -- LAION-CLAP's ``np.mean(np.where(preds < 10, 1/(preds+1), 0))``.
      With a single relevant clip per caption this is MRR truncated at 10.

    Ties are counted against the query: a candidate scoring exactly as high as the right one
    ranks above it. The reference scripts break ties by whatever order ``argsort`` returns;
    the pessimistic rule is deterministic and keeps a collapsed model (constant similarities)
    at chance-or-below instead of a perfect score.
    """
    sim, t2a = _check_retrieval(text_audio_sim, text_to_audio)
    r_t2a = _t2a_ranks(sim, t2a)
    r_a2t, _ = _a2t_ranks(sim, t2a)
    out: dict[str, float] = {}
    for k in ks:
        if k < 1:
            raise ValueError(f"k must be >= 1; got {k}")
        out[f"t2a_R@{k}"] = float((r_t2a < k).mean())
    for k in ks:
        out[f"a2t_R@{k}"] = float((r_a2t < k).mean())
    out["t2a_mAP@10"] = float(np.where(r_t2a < 10, 1.0 / (r_t2a + 1.0), 0.0).mean())
    return out


# --------------------------------------------------------------------------------------------
# Confidence intervals
# --------------------------------------------------------------------------------------------

def bootstrap_ci(metric_fn: Callable[[np.ndarray], float], n_items: int, n_boot: int = 1000,
                 seed: int = 0, alpha: float = 0.05) -> tuple[float, float]:
    """Percentile bootstrap interval of a metric over resampled test items.

    Test sets in this field are small (ESC-50 fold: 400 clips), so differences of a point or
    two between models are often noise; the interval makes that visible. ``metric_fn`` gets an
    index array (drawn with replacement, length ``n_items``) and returns the metric on those
    items, which lets one function serve per-item means, AP and retrieval alike. The result
    depends only on ``seed``. Resamples whose metric is NaN (e.g. no positive for any class)
    are ignored.
    """
    if n_items <= 0:
        raise ValueError(f"n_items must be > 0; got {n_items}")
    if n_boot <= 0:
        raise ValueError(f"n_boot must be > 0; got {n_boot}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1); got {alpha}")
    rng = np.random.default_rng(seed)
    stats = np.empty(n_boot, dtype=np.float64)
    for b in range(n_boot):
        stats[b] = metric_fn(rng.integers(0, n_items, size=n_items))
    if np.isnan(stats).all():
        return (math.nan, math.nan)
    lo, hi = np.nanpercentile(stats, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return (float(lo), float(hi))


# --------------------------------------------------------------------------------------------
# Registered metric kinds
# --------------------------------------------------------------------------------------------

def _json_float(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


@dataclass
class MetricReport:
    """What a task reports: one headline number, the other scalars, and the per-class detail.

    A fixed shape lets the leaderboard sort on ``values[headline]`` without knowing the task.
    """

    headline: str                  # key of the headline metric in values, e.g. "accuracy", "mAP"
    values: dict[str, float]       # all scalar metrics, as fractions in [0, 1]
    per_class: dict[str, float] = field(default_factory=dict)  # label -> recall or AP
    ci: tuple[float, float] | None = None  # bootstrap CI of the headline, when asked

    def __post_init__(self) -> None:
        if self.headline not in self.values:
            raise ValueError(f"headline {self.headline!r} is not among the values {sorted(self.values)}")

    def to_dict(self) -> dict:
        """JSON-safe dict: NaN/inf become None (``json.dumps`` would write invalid ``NaN``)."""
        return {
            "headline": self.headline,
            "values": {k: _json_float(v) for k, v in self.values.items()},
            "per_class": {k: _json_float(v) for k, v in self.per_class.items()},
            "ci": None if self.ci is None else [_json_float(self.ci[0]), _json_float(self.ci[1])],
        }


def _check_labels(labels: Sequence[str] | None, n_classes: int) -> list[str]:
    if labels is None:
        return [str(i) for i in range(n_classes)]
    labels = list(labels)
    if len(labels) != n_classes:
        raise ValueError(f"got {len(labels)} labels for scores with {n_classes} classes")
    return labels


@METRICS.register("accuracy", "top-1 accuracy (also top-5 and mean per-class recall)")
def accuracy(scores: np.ndarray, targets: np.ndarray, labels: Sequence[str] | None = None,
             n_boot: int = 0, seed: int = 0) -> MetricReport:
    """Single-label zero-shot classification (ESC-50, US8K, GTZAN, ...).

    ``targets`` are (N,) class indices. Values: ``accuracy`` (top-1, the headline),
    ``top5_accuracy`` (k = min(5, C)), ``mean_per_class_recall``. ``per_class`` maps each label
    present in ``targets`` to its recall. The CI resamples items.
    """
    s = _check_scores(scores)
    t = _check_class_targets(targets, s)
    names = _check_labels(labels, s.shape[1])
    hits1 = _topk_hits(s, t, 1)
    rec = per_class_recall(s, t, s.shape[1])
    values = {
        "accuracy": float(hits1.mean()),
        "top5_accuracy": float(_topk_hits(s, t, min(5, s.shape[1])).mean()),
        "mean_per_class_recall": float(np.nanmean(rec)),
    }
    per_class = {names[c]: float(rec[c]) for c in range(s.shape[1]) if not np.isnan(rec[c])}
    ci = None
    if n_boot > 0:
        h = hits1.astype(np.float64)
        ci = bootstrap_ci(lambda idx: float(h[idx].mean()), len(h), n_boot, seed)
    return MetricReport("accuracy", values, per_class, ci)


@METRICS.register("map", "mean average precision over classes (multi-label)")
def map_metric(scores: np.ndarray, targets: np.ndarray, labels: Sequence[str] | None = None,
               n_boot: int = 0, seed: int = 0) -> MetricReport:
    """Multi-label zero-shot classification (AudioSet, FSD50K).

    ``targets`` is (N, C) multi-hot. Values: ``mAP`` (the headline; macro over classes with a
    positive) and ``top1_hit``, the fraction of items whose highest-scoring class is one of
    their positives (rows without a positive count as misses). Some published scripts (CompA)
    call the latter "mAP"; it is a different, much more forgiving number, so it is kept under
    its own name. ``per_class`` holds the AP of every class with a positive. The CI resamples
    items (rows) and recomputes mAP, so it costs n_boot full AP evaluations.
    """
    s = _check_scores(scores)
    y = _check_multi_hot(targets, s)
    names = _check_labels(labels, s.shape[1])
    ap = average_precision_per_class(s, y)
    if np.isnan(ap).all():
        raise ValueError("no class has a positive item; mean average precision is undefined")
    values = {
        "mAP": float(np.nanmean(ap)),
        "top1_hit": float(_top1_hits_multi(s, y).mean()),
    }
    per_class = {names[c]: float(ap[c]) for c in range(s.shape[1]) if not np.isnan(ap[c])}
    ci = None
    if n_boot > 0:
        def boot_map(idx: np.ndarray) -> float:
            a = average_precision_per_class(s[idx], y[idx])
            return math.nan if np.isnan(a).all() else float(np.nanmean(a))

        ci = bootstrap_ci(boot_map, s.shape[0], n_boot, seed)
    return MetricReport("mAP", values, per_class, ci)


@METRICS.register("retrieval", "audio-text retrieval R@1/5/10 both ways and text-to-audio mAP@10")
def retrieval(scores: np.ndarray, targets: np.ndarray, labels: Sequence[str] | None = None,
              n_boot: int = 0, seed: int = 0) -> MetricReport:
    """Audio-text retrieval (Clotho, AudioCaps).

    ``scores`` is the (T, A) text-audio similarity and ``targets`` the (T,) clip index of each
    caption; ``labels`` is ignored. Values are those of :func:`retrieval_metrics`, headline
    ``t2a_R@1``; ``per_class`` is empty. The CI resamples captions: the headline is a mean of
    per-caption hits over the fixed gallery of all clips, so it is bootstrapped from those hits
    (identical to recomputing on the resampled caption rows, much cheaper). Were a2t metrics
    bootstrapped the same way, they would be computed on the clips the resampled captions
    belong to.
    """
    sim, t2a = _check_retrieval(scores, targets)
    values = retrieval_metrics(sim, t2a)
    ci = None
    if n_boot > 0:
        h = (_t2a_ranks(sim, t2a) < 1).astype(np.float64)
        ci = bootstrap_ci(lambda idx: float(h[idx].mean()), len(h), n_boot, seed)
    return MetricReport("t2a_R@1", values, {}, ci)
