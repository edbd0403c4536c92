"""Shared helpers for the dataset loaders: data roots, metadata tables, label sidecars, and
checking the audio the metadata lists against the audio on disk.

Every dataset module splits its work in two:

* ``read_metadata(root) -> Metadata`` parses the official metadata only. It never opens an
  audio file, so the counts tests and ``zsbench data verify`` can run it on metadata alone.
* ``load_<task>(data_root=None, ...) -> Task`` calls it, then :func:`build_task`, which looks
  for each listed clip (one directory listing per folder, no per-file stat), records the
  coverage, and applies the policy for missing and unlisted audio:

  - one option, ``allow_missing``, for every task; its default comes from the task's
    ``TaskMeta.partial_data`` (:func:`allows_missing` is the one place that reads it):
  - archive datasets (ESC-50, US8K, FSD50K, TUT/TAU, NSynth, CochlScene, Clotho;
    ``partial_data="refuse"``): a listed clip that is missing is an error naming the first few
    and the count, unless ``allow_missing=true``;
  - YouTube-based sets (AudioCaps, AudioSet, VGGSound; ``partial_data="score-present"``): missing
    clips are expected (videos disappear), so the clips present are scored and the rest reported
    (coverage + a warning); ``allow_missing=false`` makes them an error;
  - audio on disk that the metadata does not list is never scored: a warning, and its count
    goes into the coverage.
"""

from __future__ import annotations

import csv
import json
import os
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zsbench.data.datasets import DatasetSource, DataWarning  # noqa: F401 (DataWarning: tasks warn with it)
from zsbench.runtime.paths import data_dir
from zsbench.tasks.base import Item, MissingDataError, Task, TaskMeta

AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".mp3", ".m4a", ".aif", ".aiff", ".opus"})
LABELS_DIR = Path(__file__).resolve().parent / "labels"
N_EXAMPLES = 5  # missing files named in a message


class MetadataError(ValueError):
    """A metadata file is malformed; the message names the file, the line and what is wrong."""


class MissingAudioError(MissingDataError):
    """Audio files listed in the metadata are not on disk (archive datasets)."""

    def __init__(self, message: str):
        FileNotFoundError.__init__(self, message)




# ---------------------------------------------------------------------------------------------
# Data roots and the messages that say how to get the data
# ---------------------------------------------------------------------------------------------

def resolve_root(task_id: str, data_root: str | Path | None) -> Path:
    """``data_root`` as given, or ``<zsbench data dir>/<task id>``."""
    return Path(data_root).expanduser() if data_root is not None else data_dir() / task_id


def download_hint(task_id: str) -> str:
    return (f"Download it with: zsbench data download {task_id}\n"
            f"(or pass --data-root / data_root= pointing at an existing copy)")


# Download sources (``TaskMeta.source``). Checksums are the md5 values published with each record
# (Zenodo lists md5 per file); for ``ZenodoRecord`` sources the file list and md5s are read from
# Zenodo's API when downloading. ``None`` means no checksum is published (NSynth); such copies
# are verified by ``zsbench data verify`` (counts and headers) only.
ZENODO = "https://zenodo.org/records"
YOUTUBE = ("The audio comes from YouTube and has no archive: extract each clip's audio as WAV or "
           "FLAC into the layout described in `zsbench tasks` / the task module, then run "
           "`zsbench data verify {task}` to see the coverage (clips found / listed).")


def youtube_source(task_id: str) -> DatasetSource:
    """The source of a YouTube-based set: nothing to download, the layout to provide."""
    return DatasetSource(manual=YOUTUBE.format(task=task_id))


def youtube_hint(name: str, doc: str | None) -> str:
    """For YouTube-based sets: the layout documented under 'Expected layout' in the module docstring."""
    return (f"{name} audio comes from YouTube and is not redistributed: fetch it yourself and lay it "
            f"out as below (pass --data-root / data_root= to point at it).\n{layout_from_doc(doc)}")


def layout_from_doc(doc: str | None) -> str:
    lines = (doc or "").splitlines()
    for i, line in enumerate(lines):
        if line.strip().lower().startswith("expected layout"):
            block = []
            for rest in lines[i + 1:]:
                if block and not rest.strip():
                    break
                if rest.strip():
                    block.append(rest.rstrip())
            return "\n".join(block)
    return ""


def require(task_id: str, root: Path, wanted: Sequence[str | Sequence[str]], how: str) -> list[Path]:
    """The first existing candidate of each wanted file (relative to ``root``), or a
    MissingDataError listing every candidate of each one that is not there."""
    found, missing = [], []
    for want in wanted:
        candidates = [root / want] if isinstance(want, str) else [root / w for w in want]
        hit = next((p for p in candidates if p.is_file()), None)
        if hit is None:
            missing.extend(candidates)
        found.append(hit)
    if missing:
        where = f"(the folder {root} does not exist)\n" if not root.exists() else ""
        raise MissingDataError(task_id, missing, where + how)
    return found


# ---------------------------------------------------------------------------------------------
# Metadata tables
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    line: int
    values: dict[str, str]

    def __getitem__(self, key: str) -> str:
        return self.values[key]


def read_table(path: Path, required: Sequence[str], *, delimiter: str = ",",
               fieldnames: Sequence[str] | None = None, skip_comments: bool = False) -> list[Row]:
    """Rows of a delimited file as ``Row(line, {column: stripped value})``.

    The header is the first non-blank line (after ``#`` comment lines when ``skip_comments``;
    a comment line whose text starts with a required column, as in AudioSet's
    ``# YTID, start_seconds, ...``, is the header). With ``fieldnames`` the file has no header,
    though a first line that spells the header anyway is skipped. Handles a BOM and CRLF.
    """
    try:
        return _read_table(path, required, delimiter, fieldnames, skip_comments)
    except UnicodeDecodeError as exc:
        raise MetadataError(f"{path}: not UTF-8 text ({exc}); save the file as UTF-8") from None
    except csv.Error as exc:
        raise MetadataError(f"{path}: not a readable delimited file ({exc})") from None


def _read_table(path: Path, required: Sequence[str], delimiter: str, fieldnames: Sequence[str] | None,
                skip_comments: bool) -> list[Row]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f, delimiter=delimiter, skipinitialspace=True)
        header: list[str] | None = list(fieldnames) if fieldnames else None
        header_line = 0
        rows: list[Row] = []
        for record in reader:
            line = reader.line_num
            if not record or not any(c.strip() for c in record):
                continue
            first = record[0].strip()
            if skip_comments and first.startswith("#"):
                text = first.lstrip("#").strip()
                if header is None and required and text == required[0]:
                    header, header_line = [text] + [c.strip() for c in record[1:]], line
                continue
            if fieldnames and not rows and first == fieldnames[0]:
                continue  # a header line in a file we read as headerless
            if header is None:
                header, header_line = [c.strip() for c in record], line
                absent = [c for c in required if c not in header]
                if absent:
                    raise MetadataError(f"{path}: missing column(s) {', '.join(map(repr, absent))} "
                                        f"(header on line {line} has: {', '.join(header)})")
                continue
            short = [c for c in required if header.index(c) >= len(record)]
            if short:
                raise MetadataError(f"{path}, line {line}: no value for column(s) {', '.join(map(repr, short))} "
                                    f"(expected {len(header)} fields: {', '.join(header)}; got {len(record)})")
            rows.append(Row(line, {k: v.strip() for k, v in zip(header, record)}))
    if header is None:
        raise MetadataError(f"{path}: empty file, expected a header with {', '.join(required)}")
    if fieldnames is None and not rows:
        raise MetadataError(f"{path}: no rows after the header on line {header_line}")
    return rows


def check_unique(path: Path, rows: Iterable[Row], key: str, what: str = "clip") -> None:
    """A clip listed twice would be scored twice: an error naming both lines."""
    seen: dict[str, int] = {}
    for row in rows:
        value = row[key]
        if value in seen:
            raise MetadataError(f"{path}, line {row.line}: duplicated {what} {value!r} "
                                f"(already listed on line {seen[value]})")
        seen[value] = row.line


def label_index(path: Path, line: int | str, label: str, index: dict[str, int], source: str) -> int:
    try:
        return index[label]
    except KeyError:
        where = f"line {line}" if isinstance(line, int) else line
        raise MetadataError(f"{path}, {where}: unknown label {label!r} "
                            f"(not one of the {len(index)} labels of {source})") from None


def check_required(path: Path, row: Row | dict, required: Sequence[str], where: str) -> None:
    absent = [c for c in required if c not in row]
    if absent:
        raise MetadataError(f"{path}, {where}: missing field(s) {', '.join(map(repr, absent))}")


def label_names(task_id: str, **options: Any) -> list[str]:
    """A task's labels without its data, from the module that registers it (its
    ``label_names``); tasks whose labels live in the data itself (folders, captions) have none.
    ``options`` are the task options that choose the labels (NSynth's ``classes``), passed through."""
    import importlib
    import inspect

    from zsbench.registry import TASKS

    module = importlib.import_module(TASKS.get(task_id).__module__)
    if not hasattr(module, "label_names"):
        raise ValueError(f"task {task_id!r} has no fixed label list: its labels come from its data")
    accepted = set(inspect.signature(module.label_names).parameters) - {"task_id"}
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise ValueError(f"task {task_id!r}: option(s) {', '.join(unknown)} do not choose its labels; "
                         f"label options it takes: {', '.join(sorted(accepted)) or 'none'}")
    return module.label_names(task_id, **options)


def load_sidecar(name: str, near: str | Path | None = None) -> dict[str, Any]:
    """A label sidecar: ``labels/<name>.json`` beside the task modules (``tasks/labels/``), or,
    with ``near`` (a plug-in module's ``__file__``), in the ``labels/`` folder beside that file."""
    folder = Path(near).resolve().parent / "labels" if near is not None else LABELS_DIR
    with open(folder / f"{name}.json", encoding="utf-8") as f:
        return json.load(f)


def spaced(label: str) -> str:
    """``sea_waves`` -> ``sea waves``."""
    return label.replace("_", " ")


def decamel(label: str) -> str:
    """``ResidentialArea`` -> ``residential area``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", label).lower()


def parse_folds(folds: Any, valid: Sequence[int], task_id: str) -> list[int]:
    """``None`` (all), an int, ``"1,2"`` or a list -> sorted fold numbers, checked against ``valid``."""
    if folds is None or folds == "":
        return list(valid)
    if isinstance(folds, int):
        parts: list[Any] = [folds]
    elif isinstance(folds, str):
        parts = [p for p in re.split(r"[,\s]+", folds.strip()) if p]
    else:
        parts = list(folds)
    try:
        chosen = sorted({int(p) for p in parts})
    except (TypeError, ValueError):
        raise ValueError(f"task {task_id!r}: folds={folds!r}: expected fold numbers like 1 or '1,2'") from None
    bad = [f for f in chosen if f not in valid]
    if bad or not chosen:
        raise ValueError(f"task {task_id!r}: folds={folds!r}: valid folds are {', '.join(map(str, valid))}")
    return chosen


def as_bool(value: Any, name: str) -> bool:
    if isinstance(value, str):
        low = value.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off", ""):
            return False
        raise ValueError(f"{name}={value!r}: expected true or false")
    return bool(value)


# ---------------------------------------------------------------------------------------------
# What a metadata parser returns, and turning it into a Task
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Entry:
    """One clip the metadata lists: where its audio may be (first found wins) and its targets."""

    id: str
    paths: tuple[Path, ...]
    targets: tuple[int, ...]
    line: int = 0
    group: str = ""  # fold or split, where the dataset has them


@dataclass
class Metadata:
    task_id: str
    root: Path
    source: Path  # the file that lists the clips
    labels: list[str]  # display names, as the protocol uses them
    raw_labels: list[str]  # the dataset's own spelling
    entries: list[Entry]
    hint: str  # how to get the data (download command or layout)
    audio_dirs: tuple[Path, ...] = ()  # folders whose audio the metadata is expected to list
    captions: list[str] = field(default_factory=list)
    caption_entry: list[int] = field(default_factory=list)  # index into entries, per caption
    also_listed: frozenset[Path] = frozenset()  # files the metadata names that are not entries (other splits)
    notes: dict[str, Any] = field(default_factory=dict)  # dataset-specific findings (e.g. absent folders)

    def known_paths(self) -> set[Path]:
        return {p for e in self.entries for p in e.paths} | set(self.also_listed)


def _listing(folder: Path, cache: dict[Path, set[str]]) -> set[str]:
    if folder not in cache:
        try:
            cache[folder] = set(os.listdir(folder))
        except OSError:
            cache[folder] = set()
    return cache[folder]


def _examples(names: Sequence[str], total: int) -> str:
    more = f"\n  ... and {total - len(names)} more" if total > len(names) else ""
    return "\n".join(f"  - {n}" for n in names) + more


def allows_missing(meta: TaskMeta, allow_missing: Any = None) -> bool:
    """The one partial-data rule: ``allow_missing`` as given (true/false, also as text), or,
    when not given (None), the task's default (``meta.partial_data == "score-present"``)."""
    if allow_missing is None:
        return meta.partial_data == "score-present"
    return as_bool(allow_missing, "allow_missing")


def locate_audio(md: Metadata, entries: Sequence[Entry], *,
                 allow_missing: bool) -> tuple[list[int], list[Path], dict[str, Any]]:
    """Find each entry's audio; returns (indices of found entries, their paths, coverage).

    Raises MissingAudioError for missing audio (unless ``allow_missing``) and when
    nothing at all is found; warns about partial data and about unlisted audio.
    """
    cache: dict[Path, set[str]] = {}
    found_idx, found_paths, missing = [], [], []
    for i, entry in enumerate(entries):
        hit = next((p for p in entry.paths if p.name in _listing(p.parent, cache)), None)
        if hit is None:
            missing.append(entry.paths[0])
        else:
            found_idx.append(i)
            found_paths.append(hit)

    known = md.known_paths()
    unlisted = sorted(p for d in md.audio_dirs for name in _listing(d, cache)
                      if Path(name).suffix.lower() in AUDIO_SUFFIXES and (p := d / name) not in known)
    coverage: dict[str, Any] = {"listed": len(entries), "found": len(found_idx), "missing": len(missing),
                                "unlisted": len(unlisted)}
    if missing:
        coverage["missing_examples"] = [str(p) for p in missing[:N_EXAMPLES]]
    if unlisted:
        coverage["unlisted_examples"] = [str(p) for p in unlisted[:N_EXAMPLES]]

    shown = _examples([str(p) for p in missing[:N_EXAMPLES]], len(missing))
    if missing and not found_idx:
        raise MissingAudioError(f"Task {md.task_id!r}: none of the {len(entries)} audio files listed in "
                                f"{md.source} were found under {md.root}. Looked for:\n{shown}\n{md.hint}")
    if missing and not allow_missing:
        raise MissingAudioError(
            f"Task {md.task_id!r}: {len(missing)} of the {len(entries)} audio files listed in {md.source} "
            f"are missing under {md.root}:\n{shown}\n"
            f"Pass allow_missing=true (--task-option allow_missing=true) to score the {len(found_idx)} that are "
            f"present, with the coverage recorded.\n{md.hint}")
    if missing:
        warnings.warn(DataWarning(
            f"task {md.task_id!r}: {len(found_idx)} of {len(entries)} listed clips found "
            f"({len(missing)} missing, e.g. {missing[0].name}); scoring the clips present, coverage recorded"),
                      stacklevel=3)
    if unlisted:
        warnings.warn(DataWarning(
            f"task {md.task_id!r}: {len(unlisted)} audio file(s) under {', '.join(map(str, md.audio_dirs))} "
            f"are not listed in {md.source} (e.g. {unlisted[0].name}); they are not scored"), stacklevel=3)
    return found_idx, found_paths, coverage


def build_task(meta: TaskMeta, md: Metadata, *, entries: Sequence[Entry] | None = None,
               params: dict[str, Any] | None = None, allow_missing: Any = None) -> Task:
    """The Task for ``entries`` (default: all of ``md.entries``), with coverage recorded.

    ``allow_missing`` is the task option as the user gave it (None: the task's default, see
    :func:`allows_missing`). Allowing what the task would refuse by default is recorded in
    params (``allow_missing: true``), since it changes what is scored."""
    params = dict(params or {})
    allow = allows_missing(meta, allow_missing)
    if allow and meta.partial_data == "refuse":
        params["allow_missing"] = True
    chosen = list(md.entries if entries is None else entries)
    found_idx, paths, coverage = locate_audio(md, chosen, allow_missing=allow)
    items = [Item(id=chosen[i].id, path=p, targets=chosen[i].targets) for i, p in zip(found_idx, paths)]
    captions: list[str] = []
    owner: list[int] = []
    if md.captions:
        position = {id(e): k for k, e in enumerate(md.entries)}
        row_of = {position[id(chosen[i])]: r for r, i in enumerate(found_idx)}
        for text, e in zip(md.captions, md.caption_entry):
            if e in row_of:
                captions.append(text)
                owner.append(row_of[e])
    return Task(meta=meta, labels=list(md.labels), raw_labels=list(md.raw_labels), items=items,
                data_root=md.root, params=params, captions=captions, caption_item=owner,
                coverage=coverage)


# ---------------------------------------------------------------------------------------------
# Fold-based datasets (ESC-50, US8K)
# ---------------------------------------------------------------------------------------------

def classes_by_id(path: Path, rows: list[Row], id_col: str, name_col: str) -> tuple[list[str], dict[str, int]]:
    """Class names ordered by their integer id column (each id must always carry the same name,
    each name one id). Returns (names, id as written -> label index). Used by ESC-50 and US8K."""
    names: dict[int, tuple[str, int]] = {}
    for r in rows:
        try:
            cid = int(r[id_col])
        except ValueError:
            raise MetadataError(f"{path}, line {r.line}: {id_col} {r[id_col]!r} is not an integer") from None
        name = r[name_col]
        if cid in names and names[cid][0] != name:
            raise MetadataError(
                f"{path}, line {r.line}: unknown label {name!r} for {id_col} {cid} "
                f"(line {names[cid][1]} gave {id_col} {cid} the label {names[cid][0]!r})")
        names.setdefault(cid, (name, r.line))
    by_name: dict[str, int] = {}
    for cid, (name, line) in names.items():
        if name in by_name:
            raise MetadataError(f"{path}, line {line}: label {name!r} has two {id_col}s ({by_name[name]}, {cid})")
        by_name[name] = cid
    order = sorted(names)
    position = {cid: k for k, cid in enumerate(order)}
    return [names[cid][0] for cid in order], {r[id_col]: position[int(r[id_col])] for r in rows}


def fold_of(path: Path, row: Row, valid: Sequence[int]) -> str:
    """The row's ``fold`` column, checked against ``valid``."""
    fold = row["fold"]
    if not fold.isdigit() or int(fold) not in valid:
        raise MetadataError(f"{path}, line {row.line}: fold {fold!r} is not one of {', '.join(map(str, valid))}")
    return str(int(fold))


def select_folds(meta: TaskMeta, md: Metadata, folds: Any, valid: Sequence[int], allow_missing: Any) -> Task:
    """The Task for the chosen folds (all by default), recording them in params. Used by ESC-50 and US8K."""
    chosen = parse_folds(folds, valid, meta.id)
    wanted = {str(f) for f in chosen}
    entries = [e for e in md.entries if e.group in wanted]
    return build_task(meta, md, entries=entries, params={"folds": chosen}, allow_missing=allow_missing)
