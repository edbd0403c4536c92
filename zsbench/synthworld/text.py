"""Words for the sound world: number and rate phrases, the per-clip phrase slots a recipe fills
(``_Text``), and the caption writer that turns them into one caption and its rewrites."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np


_NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
            "ten", "eleven", "twelve")


def _num(k: int) -> str:
    return _NUMBERS[k] if 0 <= k < len(_NUMBERS) else "many"


def _times(k: int) -> str:
    return {1: "once", 2: "twice"}.get(k, f"{_num(k)} times" if k < len(_NUMBERS) else "many times")


def _rate_phrase(per_second: float) -> str:
    """'about twice a second', 'about once every three seconds'."""
    if per_second >= 1.5:
        return f"about {_times(int(round(per_second)))} a second"
    every = int(round(1.0 / per_second))
    if every <= 1:
        return "about once a second"
    return "about once every couple of seconds" if every == 2 else f"about once every {_num(every)} seconds"


def _third(x: float, lo: float, hi: float, log: bool = True) -> int:
    """Which third (0, 1, 2) of the class's range a parameter fell in: low/mid/high words."""
    if log:
        x, lo, hi = np.log(x), np.log(lo), np.log(hi)
    return int(np.clip((x - lo) / (hi - lo) * 3.0, 0, 2.999))


def _band(x: float, low: float, high: float) -> int:
    """Low/mid/high words by two fixed thresholds: 0 below ``low``, 2 above ``high``, else 1."""
    return 0 if x < low else (2 if x > high else 1)


def _article(phrase: str) -> str:
    return "an" if phrase[:1] in "aeiou" else "a"


@dataclass
class _Text:
    """Phrase slots for one clip; the first alternative of each slot is the canonical one."""

    nouns: tuple[str, ...]                 # names of the source; [0] is the class name or a synonym
    actions: tuple[str, ...]               # what it does over time, as a trailing participle phrase
    quals: list[tuple[str, ...]] = field(default_factory=list)    # adjective slots
    details: list[tuple[str, ...]] = field(default_factory=list)  # extra clauses
    det: str = "a"                         # "a" (a/an), "" (mass noun, plural) or a number word


@dataclass
class _Sound:
    audio: np.ndarray
    params: dict
    text: _Text


_LOUD = {"loud": ("loud", "strong"), "soft": ("soft", "low-volume")}
_LOUD_ADV = {"loud": ("at high volume", "played loudly"), "soft": ("at low volume", "played softly")}
def _noun_phrase(det: str, words: Sequence[str], noun: str) -> str:
    phrase = " ".join([w for w in words if w] + [noun])
    if det == "a":
        det = _article(phrase)
    return f"{det} {phrase}".strip()


def _join(parts: Sequence[str], sep: str = ", ") -> str:
    return sep.join(p for p in parts if p)


def _and(words: Sequence[str]) -> str:
    words = [w for w in words if w]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1] if words else ""


def _write_text(text: _Text, loud: str | None, bg: tuple[str, ...], rng: np.random.Generator,
                props: Sequence[tuple[str, ...]] = ()) -> tuple[str, tuple[str, ...]]:
    """Canonical caption from the first alternatives; rewrites from four other sentence frames.

    Every frame has a different skeleton (lead words or clause order), so a rewrite can never
    coincide with the caption or with another rewrite whatever synonyms are drawn. ``props``
    (measured property words, see ``descriptors``) go into the rewrites only, as the paper's
    LLM rewrites add how a sound itself sounds to captions that mostly name it.
    """
    quals0 = [q[0] for q in text.quals if q]
    loud0 = _LOUD[loud][0] if loud else ""
    caption = _join([f"{_noun_phrase(text.det, [loud0, *quals0], text.nouns[0])} {text.actions[0]}",
                     *[d[0] for d in text.details], bg[0]])

    def pick(options: Sequence[str]) -> str:
        return str(options[int(rng.integers(len(options)))]) if options else ""

    def draw() -> tuple[str, list[str], str, str, list[str], str]:
        details = [pick(d) for d in text.details]
        rng.shuffle(details)
        details += [pick(p) for p in props]
        return (pick(text.nouns), [pick(q) for q in text.quals if q], pick(text.actions),
                pick(_LOUD[loud]) if loud else "", details, pick(bg))

    rewrites = []
    noun, quals, action, lw, details, b = draw()
    said = _and([*quals, lw])
    rewrites.append(_join([f"you can hear {_noun_phrase(text.det, [], noun)} {action}", *details, b])
                    + (f"; it sounds {said}" if said else ""))
    noun, quals, action, lw, details, b = draw()
    rewrites.append(_join([b, f"{_noun_phrase(text.det, [lw, *quals], noun)} {action}", *details]))
    noun, quals, action, lw, details, b = draw()
    rewrites.append(_join([f"the sound of {_noun_phrase(text.det, quals, noun)} {action}", *details,
                           pick(_LOUD_ADV[loud]) if loud else "", b]))
    noun, quals, action, lw, details, b = draw()
    rewrites.append(_join([_noun_phrase(text.det, [lw, *quals], noun), b, action, *details]))
    return caption, tuple(rewrites)
