"""Prompt-bank quality: duplicates, length, vocabulary, avoided words and cross-label leakage.

Leakage is the check that matters most for zero-shot scores: a prompt for label A that names
another label B of the same task pulls A's text embedding towards B, so the two classes blur.
A name of B is its display label or any comma-separated part of it (``Boat, Water vehicle`` has
two), matched as whole words with plurals folded. It does not count where B's name is part of
A's own name (``Church bell`` may say "bell"), is one of A's declared synonyms, or is allowed for
the whole bank with a reason (``Inside, small room`` is an ordinary preposition in prose).

Pure functions over plain data, standard library only, so the checks run anywhere.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any, Iterable

# The paper asked its LLM to avoid these words; we count and warn, never refuse.
AVOIDED = re.compile(r"\b(heard|sounds?)\b", re.IGNORECASE)
MAX_WORDS = 60  # a prompt beyond this is truncated by every text tower we ship (77 tokens and less)
_TOKEN = re.compile(r"[a-z0-9]+")
_PAREN = re.compile(r"\([^)]*\)")
_FILLER = {"etc", "and", "or"}


def tokens(text: str) -> list[str]:
    """Lower-cased words, punctuation dropped ("Bow-wow!" -> ["bow", "wow"])."""
    return _TOKEN.findall(text.lower())


def normalise(text: str) -> str:
    """The key for near-duplicates: lower-cased, punctuation stripped, spaces collapsed."""
    return " ".join(tokens(text))


def stem(word: str) -> str:
    """Fold English plurals so "bells" names "bell" and "puppies" names "puppy"."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes", "zzes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is", "ues")):
        return word[:-1]
    return word


def stems(text: str) -> tuple[str, ...]:
    return tuple(stem(t) for t in tokens(text))


def label_names(label: str) -> list[tuple[str, ...]]:
    """The word sequences that name a label: the whole label without its parenthetical
    qualifier, and each part between commas or slashes ("Dishes, pots, and pans" -> dish / pot /
    pan; "cafe/restaurant" -> cafe / restaurant)."""
    bare = _PAREN.sub(" ", label.replace("_", " "))
    names = [stems(bare)]
    for part in re.split(r"[,/]", bare):
        words = [w for w in stems(part) if w not in _FILLER or len(stems(part)) == 1]
        while words and words[0] in _FILLER:
            words = words[1:]
        if words:
            names.append(tuple(words))
    return list(dict.fromkeys(n for n in names if n))


def contains(haystack: tuple[str, ...], needle: tuple[str, ...]) -> bool:
    n = len(needle)
    return any(haystack[i:i + n] == needle for i in range(len(haystack) - n + 1))


@dataclass(frozen=True)
class Leak:
    label: str      # the label whose prompt it is
    other: str      # the label it names
    name: str       # the words that named it
    prompt: str


@dataclass(frozen=True)
class Allowance:
    """Mentions of ``names`` tolerated in the prompts of ``labels`` (every label when empty),
    for the stated ``reason``. A bank declares these in its ``quality.allow`` list."""
    names: tuple[str, ...]
    reason: str
    labels: tuple[str, ...] = ()

    @classmethod
    def parse(cls, entry: dict[str, Any], where: str = "bank") -> "Allowance":
        if not isinstance(entry, dict) or not str(entry.get("reason", "")).strip() or not entry.get("names"):
            raise ValueError(f"{where}: every quality.allow entry needs \"names\" and a non-empty \"reason\" "
                             f"(got {entry!r})")
        return cls(tuple(entry["names"]), str(entry["reason"]), tuple(entry.get("labels") or ()))


def find_leaks(prompts: dict[str, list[str]], synonyms: dict[str, list[str]] | None = None,
               allowed: Iterable[Allowance] = ()) -> tuple[list[Leak], int]:
    """Every prompt that names another label of the same set, and how many such mentions an
    allowance excused (a prompt counts once per other label it names)."""
    synonyms = synonyms or {}
    allowances = [(frozenset(stems(n) for n in a.names), frozenset(a.labels)) for a in allowed]
    names = {label: label_names(label) for label in prompts}
    by_first_word: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for label, label_ns in names.items():
        for n in label_ns:
            by_first_word.setdefault(n[0], []).append((n, label))
    leaks: list[Leak] = []
    excused = 0
    for label, texts in prompts.items():
        own = [stems(label.replace("_", " ")), *names[label], *(stems(s) for s in synonyms.get(label, []))]
        excusable = frozenset().union(*(n for n, scope in allowances if not scope or label in scope))
        for text in texts:
            words = stems(text)
            hits: dict[str, set[tuple[str, ...]]] = {}
            for i, word in enumerate(words):
                for n, other in by_first_word.get(word, ()):
                    if other != label and words[i:i + len(n)] == n and not any(contains(o, n) for o in own):
                        hits.setdefault(other, set()).add(n)
            for other, found in hits.items():
                unexcused = [n for n in names[other] if n in found and n not in excusable]
                if unexcused:
                    leaks.append(Leak(label, other, " ".join(unexcused[0]), text))
                else:
                    excused += 1
    return leaks, excused


@dataclass
class BankStats:
    name: str
    labels: int
    descriptions_min: int
    descriptions_median: float
    captions_min: int
    captions_median: float
    exact_duplicates: int
    near_duplicates: int
    mean_words: float
    distinct_word_ratio: float
    avoided_words: int  # captions using "heard" or "sound(s)", which the paper asked its LLM to avoid
    leaks: int
    leaks_allowed: int
    empty: int
    over_long: int

    def row(self) -> dict[str, Any]:
        return asdict(self)


def duplicates(texts: list[str]) -> tuple[int, int]:
    """(exact, near) duplicates within one label: repeats of a string, and repeats that only
    differ in case, punctuation or spacing."""
    exact = sum(c - 1 for c in Counter(t.strip() for t in texts).values())
    near = sum(c - 1 for c in Counter(normalise(t) for t in texts).values()) - exact
    return exact, near


def bank_stats(name: str, labels: dict[str, list[dict[str, Any]]], synonyms: dict[str, list[str]] | None = None,
               allowed: Iterable[Allowance] = ()) -> tuple[BankStats, list[Leak]]:
    """Measure a bank (its ``labels`` mapping: label -> [{"text", "captions"}]).

    Prompts are what a strategy can send: descriptions and captions both. Duplicates count within
    a label, since the same caption under two labels is a leak the leakage check reports."""
    per_label = {label: [d["text"] for d in descs] + [c for d in descs for c in d.get("captions", [])]
                 for label, descs in labels.items()}
    desc_counts = [len(descs) for descs in labels.values()]
    cap_counts = [sum(len(d.get("captions", [])) for d in descs) for descs in labels.values()]
    exact = near = 0
    for texts in per_label.values():
        e, n = duplicates(texts)
        exact, near = exact + e, near + n
    everything = [t for texts in per_label.values() for t in texts]
    words = [tokens(t) for t in everything]
    all_words = [w for ws in words for w in ws]
    leaks, excused = find_leaks(per_label, synonyms, allowed)
    stats = BankStats(
        name=name, labels=len(labels),
        descriptions_min=min(desc_counts, default=0), descriptions_median=statistics.median(desc_counts or [0]),
        captions_min=min(cap_counts, default=0), captions_median=statistics.median(cap_counts or [0]),
        exact_duplicates=exact, near_duplicates=near,
        mean_words=round(len(all_words) / max(len(everything), 1), 2),
        distinct_word_ratio=round(len(set(all_words)) / max(len(all_words), 1), 4),
        avoided_words=sum(1 for descs in labels.values() for d in descs for c in d.get("captions", [])
                          if AVOIDED.search(c)),
        leaks=len(leaks), leaks_allowed=excused,
        empty=sum(1 for ws in words if not ws), over_long=sum(1 for ws in words if len(ws) > MAX_WORDS))
    return stats, leaks
