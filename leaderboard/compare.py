"""The one rule for setting our numbers beside a published one.

A published row names the setting behind its numbers as far as its source says: the weights
(file name, and checksum where published), the prompt source (exact template text, or a bank),
the task protocol (class set, clips, folds) and the metric. Our runs record the same about
themselves. A difference (Δ) is shown only where all four match; otherwise each difference is
a short marker (``≠weights``, ``≠bank``, ``≠protocol: 11 vs 10 classes`` ...) and a sentence
for ``--explain``. What a source does not state cannot be shown to match: it is a ``?`` marker.

Separately, a cell of ours is marked where the model's training or checkpoint selection data
overlaps the task (the adapters' ``training`` metadata, carried in every record).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zsbench.evaluation.results import RunRecord

UNKNOWN = "unknown"
OVERLAP_MARKER = "†"


@dataclass(frozen=True)
class Difference:
    marker: str  # short, for the table cell
    words: str   # for --explain


def _weights(setting: Any, rec: RunRecord) -> Difference | None:
    ours = rec.model.get("checkpoint") or {}
    if setting in (None, UNKNOWN) or not isinstance(setting, dict):
        return Difference("?weights", "the source does not say which weights produced its number")
    file, sha = setting.get("file"), setting.get("sha256")
    mine = f"{ours.get('file', 'no file')} (sha256 {str(ours.get('sha256', 'unknown'))[:12]}…)"
    if sha:
        if ours.get("sha256") != sha:
            return Difference("≠weights", f"the run loaded {mine}; the published number used {file} (sha256 {sha[:12]}…)")
        return None
    if ours.get("file") != file:
        how = "its default download" if ours.get("default") else "a --checkpoint the user gave"
        return Difference("≠weights", f"the run loaded {mine} from {how}; the published number used the released "
                                      f"{file} (no checksum published)")
    if not ours.get("default", False):  # the right name, from the user: nothing to verify it against
        return Difference("?weights", f"the run loaded a file named {file} from a --checkpoint the user gave "
                                      f"(sha256 {str(ours.get('sha256', 'unknown'))[:12]}…); the source publishes no "
                                      "checksum to show it is the released file")
    return None


def _prompts(setting: Any, rec: RunRecord) -> Difference | None:
    source = rec.prompts.get("source") or {}
    if setting in (None, UNKNOWN) or not isinstance(setting, dict):
        return Difference("?prompts", "the source does not give the exact prompts behind its number")
    if "template" in setting:
        wanted = setting["template"]
        used = source.get("templates") if source.get("kind") == "template" else None
        if used != [wanted]:
            what = f"template(s) {used!r}" if used else f"prompts from {source.get('kind', 'another strategy')}"
            return Difference("≠template", f"the run used {what}; the published number used {wanted!r}")
        return None
    if "captions" in setting:  # retrieval: the task's own captions are the texts
        return None if source.get("kind") == "captions" else Difference("≠prompts", "the run did not embed the task's captions")
    if "bank" in setting:
        if source.get("kind") != "bank" or not setting.get("bank_sha256") or \
                source.get("bank_sha256") != setting["bank_sha256"]:
            ours = f"bank {str(source.get('bank_sha256', '?'))[:12]}… ({source.get('provenance', {}).get('generator', '?')})"
            return Difference("≠bank", f"the run used {ours}; the published number used the {setting['bank']}")
        return None
    return Difference("?prompts", f"the source's prompt setting {setting!r} cannot be compared")


def _protocol(wanted: dict[str, Any], rec: RunRecord) -> list[Difference]:
    have = rec.task.get("protocol") or {}
    params = rec.task.get("params") or {}
    out = []
    for key in ("classes", "clips"):
        if wanted.get(key) not in (None, UNKNOWN) and have.get(key) is not None and have[key] != wanted[key]:
            out.append(Difference(f"≠protocol: {have[key]} vs {wanted[key]} {key}",
                                  f"the run scored {have[key]} {key}; the published number {wanted[key]}"))
    for key, value in (wanted.get("params") or {}).items():
        if params.get(key) != value:
            out.append(Difference(f"≠protocol: {key}", f"the run's {key} is {params.get(key)!r}; the published "
                                                       f"protocol's is {value!r}"))
    if not have:
        out.append(Difference("?protocol", "the run's record predates task protocols (classes, clips)"))
    return out


def _metric(wanted: Any, rec: RunRecord) -> Difference | None:
    ours = rec.metrics.get("headline")
    if wanted in (None, UNKNOWN):
        return Difference("?metric", "the source does not name its metric")
    if str(wanted).lower() != str(ours).lower():
        return Difference("≠metric", f"the run's headline metric is {ours}; the published number's is {wanted}")
    return None


def differences(setting: dict[str, Any], protocol: dict[str, Any], records: list[RunRecord]) -> list[Difference]:
    """Everything that keeps our runs (one cell) from being the published number's experiment."""
    found: dict[str, Difference] = {}
    for rec in records:
        for diff in [_weights(setting.get("weights", UNKNOWN), rec), _prompts(setting.get("prompts", UNKNOWN), rec),
                     *_protocol(protocol, rec), _metric(protocol.get("metric", UNKNOWN), rec)]:
            if diff is not None:
                found.setdefault(diff.marker, diff)
    return list(found.values())


def overlap(records: list[RunRecord]) -> list[str]:
    """Why the task of these runs overlaps their model's training or selection data, if it does."""
    reasons = []
    for rec in records:
        training = rec.model.get("training") or {}
        why = (training.get("overlaps") or {}).get(rec.task.get("id"))
        if why:
            reasons.append(f"{rec.model['name']} on {rec.task['id']}: {why}")
    return sorted(set(reasons))
