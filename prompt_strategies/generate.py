"""Write prompt banks (and rewritten training captions) with an LLM, as in the ReCLAP paper.

Stage 1 asks, per label, for ``t`` ways to describe how the label sounds; stage 2 asks, per
description, for ``n`` captions placing that sound in diverse scenes without the words "heard"
or "sound". ``rewrite_captions`` runs the same machinery over a training CSV.

Every reply is parsed as JSON only (never evaluated): code fences are stripped and an object of
numbered strings or a list is accepted. A reply that is not usable (not JSON, wrong count, an
empty or repeated item, a banned word, too long) is asked again, up to ``max_attempts`` requests
in all, with a note on what was wrong. Requests run in a bounded thread pool; every reply is
cached on disk (:class:`ResponseCache`), so a rerun after an interruption pays only for what is
missing, and rerunning with a larger ``max_attempts`` continues the same conversations.

What still fails is reported per label, never written into the data. The bank is written with
the labels that passed only, and when some failed, ``provenance.incomplete`` lists them:
``load_bank`` accepts such a bank (every entry in it is complete), and an evaluation that needs a
missing label stops with an error naming it. When no label passes, no bank is written.
"""

from __future__ import annotations

import csv
import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from zsbench.runtime.fsutil import atomic_write
from zsbench.runtime.progress import bar
from zsbench.prompt_strategies.bank import BANNED, Bank, validate
from zsbench.prompt_strategies.llm import ChatLLM, LLMError, Messages, ResponseCache
from zsbench.prompt_strategies.presets import STRICT, get_preset

T = TypeVar("T")

PROMPT_TEMPERATURE = 0.7  # the paper, gpt-4o
REWRITE_TEMPERATURE = 0.4  # the paper, Llama-3.1-8B-Instruct
REWRITE_MAX_WORDS = 30

# The system message of the caption rewrites (and of the ``strict`` bank preset).
SYSTEM = STRICT.system

REWRITE = ("Rewrite an audio caption so that it describes each sound in it by its own characteristics (pitch, "
           "loudness, rhythm, texture, duration) and by how people perceive it (soothing, startling, distant, "
           "harsh), while keeping the scene the caption sets. Each rewrite stays under thirty words.\n\n"
           "Examples:\n"
           "Caption: A dog barks while cars pass by.\n"
           "Rewrite: A dog's sharp, repeated barks cut through the steady, low whoosh of cars passing on a busy road.\n"
           "Caption: Rain falls on a roof as thunder rumbles.\n"
           "Rewrite: Rain patters on a roof in a soft, even rhythm while deep thunder rolls far away, calm but ominous.\n"
           "Caption: A man speaks and then a door closes.\n"
           "Rewrite: A man talks in a calm, low voice, then a door shuts with a short, solid thud.\n\n"
           "Write {k} different rewrites of this caption: \"{caption}\"\n"
           'Reply with a JSON object only, mapping "1" to "{k}" to the rewrites.')

REASK = ("That reply cannot be used: {problem}. Reply again with only a JSON object mapping \"1\" to \"{k}\" "
         "to {k} {what}.")

_FENCE = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\n?(.*?)```", re.DOTALL)
_FIELD = re.compile(r"\{(\w+)\}")


class ReplyError(ValueError):
    """An LLM reply that cannot be used; the message says why (and goes into the re-ask)."""


class _Failed(Exception):
    pass


def _fill(template: str, **values: Any) -> str:
    """Substitute ``{name}`` fields in one pass (labels and descriptions may contain braces)."""
    return _FIELD.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), template)


def label_text(label: str) -> str:
    return label.replace("_", " ").strip()


# --- parsing and checking replies -----------------------------------------------------------------

def parse_items(text: str) -> list[str]:
    """The strings in a JSON reply: an object of numbered strings (in number order) or a list."""
    s = text.strip()
    fenced = _FENCE.search(s)
    if fenced:
        s = fenced.group(1).strip()
    try:
        value = json.loads(s)
    except json.JSONDecodeError:
        value = _first_json(s)
    if isinstance(value, dict):
        keys = list(value)
        if len(keys) == 1 and isinstance(value[keys[0]], list) and not str(keys[0]).strip().isdigit():
            value = value[keys[0]]  # {"captions": [...]}
        elif all(str(k).strip().isdigit() for k in keys):
            value = [value[k] for k in sorted(keys, key=lambda k: int(str(k).strip()))]
        else:
            value = list(value.values())
    if not isinstance(value, list):
        raise ReplyError("the reply is not a JSON object of numbered strings or a JSON list")
    items = []
    for i, item in enumerate(value, start=1):
        if not isinstance(item, str):
            raise ReplyError(f"item {i} is not a string")
        items.append(item.strip())
    return items


def _first_json(s: str) -> Any:
    decoder = json.JSONDecoder()
    starts = [i for i, ch in enumerate(s) if ch in "{["][:50]
    for i in starts:
        try:
            return decoder.raw_decode(s, i)[0]
        except json.JSONDecodeError:
            continue
    raise ReplyError("the reply is not valid JSON")


def check_items(items: list[str], k: int, banned: bool = False, max_words: int | None = None) -> None:
    if len(items) != k:
        raise ReplyError(f"it has {len(items)} items, {k} were asked for")
    seen: dict[str, int] = {}
    for i, item in enumerate(items, start=1):
        if not item:
            raise ReplyError(f"item {i} is empty")
        key = item.lower()
        if key in seen:
            raise ReplyError(f"items {seen[key]} and {i} are the same")
        seen[key] = i
        if banned and BANNED.search(item):
            raise ReplyError(f"item {i} uses the word {BANNED.search(item).group(0)!r}, which is not allowed")
        if max_words is not None and len(item.split()) > max_words:
            raise ReplyError(f"item {i} has {len(item.split())} words, more than {max_words}")


# --- asking with re-asks, through the cache -------------------------------------------------------

class _Asker:
    def __init__(self, llm: ChatLLM, cache: ResponseCache, temperature: float, max_attempts: int):
        self.llm, self.cache, self.temperature, self.max_attempts = llm, cache, temperature, max_attempts
        self.requests = 0
        self.cached = 0
        self._lock = threading.Lock()

    def _chat(self, messages: Messages) -> str:
        key = self.cache.key(self.llm.model_id, messages, self.temperature)
        hit = self.cache.get(key)
        if hit is not None:
            with self._lock:
                self.cached += 1
            return hit
        reply = self.llm.chat(messages, self.temperature)
        with self._lock:
            self.requests += 1
        self.cache.put(key, self.llm.model_id, messages, self.temperature, reply)
        return reply

    def ask(self, prompt: str, k: int, what: str, system: str | None = SYSTEM, **checks: Any) -> list[str]:
        messages: Messages = ([{"role": "system", "content": system}] if system else []) + \
            [{"role": "user", "content": prompt}]
        problem = ""
        for _ in range(self.max_attempts):
            try:
                reply = self._chat(messages)
            except LLMError as exc:
                raise _Failed(str(exc)) from None
            try:
                items = parse_items(reply)
                check_items(items, k, **checks)
                return items
            except ReplyError as exc:
                problem = str(exc)
            messages = messages + [{"role": "assistant", "content": reply},
                                   {"role": "user", "content": _fill(REASK, problem=problem, k=k, what=what)}]
        raise _Failed(f"no usable reply in {self.max_attempts} attempts (last: {problem})")


def _run_all(jobs: Sequence[Callable[[], T]], concurrency: int, description: str,
             progress: bool) -> list[T | _Failed]:
    """Run jobs in a bounded pool; a job's ``_Failed`` is its result, anything else propagates."""
    results: list[Any] = [None] * len(jobs)
    if not jobs:
        return results
    with bar(description, len(jobs), progress) as advance:
        pool = ThreadPoolExecutor(max_workers=max(1, int(concurrency)), thread_name_prefix="zsbench-llm")
        try:
            futures = {pool.submit(job): i for i, job in enumerate(jobs)}
            for future in as_completed(futures):
                try:
                    results[futures[future]] = future.result()
                except _Failed as exc:
                    results[futures[future]] = exc
                advance(1)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
    return results


def _check_args(**values: int) -> None:
    for name, value in values.items():
        if int(value) < 1:
            raise ValueError(f"{name} must be at least 1 (got {value})")


def default_cache_dir() -> Path:
    from zsbench.runtime import paths

    return paths.cache_dir() / "llm"


def _cache(cache_dir: Path | str | None, no_cache: bool) -> ResponseCache:
    if no_cache:
        return ResponseCache(None)
    return ResponseCache(Path(cache_dir) if cache_dir is not None else default_cache_dir())


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _generator(llm: ChatLLM) -> dict[str, Any]:
    describe = getattr(llm, "describe", None)
    return describe() if callable(describe) else {}


# --- prompt banks ---------------------------------------------------------------------------------

@dataclass
class GenerationReport:
    task: str
    out: Path | None  # None when no label passed and nothing was written
    labels: list[str]  # labels written to the bank
    failures: dict[str, str] = field(default_factory=dict)  # label -> why it is missing
    requests: int = 0  # requests sent to the LLM in this run
    cached: int = 0  # replies taken from the cache
    sha256: str | None = None

    @property
    def ok(self) -> bool:
        return not self.failures and self.out is not None


def generate_bank(task_id: str, labels: Sequence[str], llm: ChatLLM, *, out: Path | str, t: int = 5, n: int = 10,
                  temperature: float = PROMPT_TEMPERATURE, cache_dir: Path | str | None = None,
                  no_cache: bool = False, concurrency: int = 4, max_attempts: int = 3, progress: bool = True,
                  notes: str | None = None, preset: str = "paper") -> GenerationReport:
    """Write a prompt bank for ``labels`` to ``out`` (atomically); see the module docstring and
    ``presets.py`` for what each preset asks."""
    _check_args(t=t, n=n, concurrency=concurrency, max_attempts=max_attempts)
    chosen = get_preset(preset)
    labels = list(dict.fromkeys(labels))
    if not labels:
        raise ValueError(f"task {task_id!r}: no labels to generate prompts for")
    asker = _Asker(llm, _cache(cache_dir, no_cache), temperature, int(max_attempts))

    def stage1(label: str) -> Callable[[], list[str]]:
        return lambda: asker.ask(_fill(chosen.stage1, t=t, label=label_text(label)), t, "descriptions",
                                 system=chosen.system)

    def stage2(label: str, description: str) -> Callable[[], list[str]]:
        prompt = _fill(chosen.stage2, n=n, label=label_text(label), description=description)
        return lambda: asker.ask(prompt, n, "captions", system=chosen.system, banned=chosen.refuse_avoided)

    failures: dict[str, str] = {}
    descs = dict(zip(labels, _run_all([stage1(lab) for lab in labels], concurrency,
                                      "stage 1: descriptions", progress)))
    for label, result in descs.items():
        if isinstance(result, _Failed):
            failures[label] = f"descriptions: {result}"
    pairs = [(lab, d) for lab in labels if lab not in failures for d in descs[lab]]
    captions = _run_all([stage2(lab, d) for lab, d in pairs], concurrency, "stage 2: captions", progress)

    entries: dict[str, list[dict[str, Any]]] = {}
    for (label, description), result in zip(pairs, captions):
        if label in failures:
            continue
        if isinstance(result, _Failed):
            failures[label] = f"captions for {description!r}: {result}"
            entries.pop(label, None)
            continue
        entries.setdefault(label, []).append({"text": description, "captions": result})
    for label in list(entries):
        problems = validate({label: entries[label]}, t=t, n=n)
        if problems:  # e.g. the same caption written for two of the label's descriptions
            failures[label] = "; ".join(problems)
            del entries[label]

    ordered = {lab: entries[lab] for lab in labels if lab in entries}
    report = GenerationReport(task=task_id, out=None, labels=list(ordered),
                              failures={lab: failures[lab] for lab in labels if lab in failures},
                              requests=asker.requests, cached=asker.cached)
    if not ordered:
        return report
    provenance: dict[str, Any] = {
        "generator": llm.model_id, "backend": _generator(llm),
        "preset": chosen.name, "instructions": {**chosen.instructions(), "reask": REASK},
        "temperature": temperature, "date": _now(), "t": t, "n": n, "max_attempts": int(max_attempts),
        "notes": notes or "written by zsbench prompts generate (ReCLAP two-stage generation)",
    }
    if report.failures:
        provenance["incomplete"] = list(report.failures)
    bank = Bank(task=task_id, labels=ordered, provenance=provenance)
    out = Path(out)
    with atomic_write(out) as f:
        f.write(bank.to_json() + "\n")
    report.out, report.sha256 = out, bank.sha256
    return report


# --- training-caption rewrites --------------------------------------------------------------------

@dataclass
class RowFailure:
    row: int  # 1-based data row of the input CSV
    path: str
    reason: str


@dataclass
class RewriteReport:
    out: Path
    rows: int
    written: int
    failures: list[RowFailure] = field(default_factory=list)
    requests: int = 0
    cached: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures


def rewrite_captions(csv_in: Path | str, csv_out: Path | str, llm: ChatLLM, *, k: int = 4,
                     temperature: float = REWRITE_TEMPERATURE, max_words: int = REWRITE_MAX_WORDS,
                     cache_dir: Path | str | None = None, no_cache: bool = False, concurrency: int = 4,
                     max_attempts: int = 3, keep_failed: bool = False, progress: bool = True) -> RewriteReport:
    """Write ``csv_out``: the rows of ``csv_in`` (columns path, caption, ...) plus ``rewritten_captions``,
    a JSON list of ``k`` rewrites of the caption. Rows whose rewrite failed are left out (or, with
    ``keep_failed``, kept with ``[]``) and listed in the report. A sidecar
    ``<csv_out>.provenance.json`` records the generator, instruction and settings."""
    _check_args(k=k, concurrency=concurrency, max_attempts=max_attempts)
    csv_in, csv_out = Path(csv_in), Path(csv_out)
    with open(csv_in, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        fields = list(reader.fieldnames or [])
        rows = list(reader)
    missing = [c for c in ("path", "caption") if c not in fields]
    if missing:
        raise ValueError(f"{csv_in}: missing column(s) {', '.join(missing)} (found: {', '.join(fields) or 'none'})")
    asker = _Asker(llm, _cache(cache_dir, no_cache), temperature, int(max_attempts))
    unique = list(dict.fromkeys((row.get("caption") or "").strip() for row in rows))
    asked = [c for c in unique if c]

    def job(caption: str) -> Callable[[], list[str]]:
        return lambda: asker.ask(_fill(REWRITE, k=k, caption=caption), k, "rewrites", max_words=max_words)

    results = dict(zip(asked, _run_all([job(c) for c in asked], concurrency, "rewriting captions", progress)))
    failures: list[RowFailure] = []
    out_fields = fields + ([] if "rewritten_captions" in fields else ["rewritten_captions"])
    written = 0
    with atomic_write(csv_out) as f:
        writer = csv.DictWriter(f, fieldnames=out_fields, lineterminator="\n")
        writer.writeheader()
        for i, row in enumerate(rows, start=1):
            caption = (row.get("caption") or "").strip()
            result = results.get(caption) if caption else _Failed("empty caption")
            if isinstance(result, _Failed):
                failures.append(RowFailure(i, row.get("path") or "", str(result)))
                if not keep_failed:
                    continue
                result = []
            writer.writerow({**row, "rewritten_captions": json.dumps(result, ensure_ascii=False)})
            written += 1
    sidecar = csv_out.with_name(csv_out.name + ".provenance.json")
    with atomic_write(sidecar) as f:
        json.dump({"source": str(csv_in), "generator": llm.model_id, "backend": _generator(llm),
                   "instructions": {"system": SYSTEM, "rewrite": REWRITE, "reask": REASK},
                   "temperature": temperature, "k": k, "max_words": max_words, "max_attempts": int(max_attempts),
                   "date": _now(), "rows": len(rows), "written": written, "failed": len(failures)}, f, indent=1)
        f.write("\n")
    return RewriteReport(out=csv_out, rows=len(rows), written=written, failures=failures,
                         requests=asker.requests, cached=asker.cached)
