"""Getting and checking datasets: ``zsbench data download TASK`` and ``zsbench data verify TASK``.

Archives are fetched with :mod:`zsbench.data.download` (streamed, resumable, md5/sha256-checked),
then extracted with path-traversal protection. A marker file per archive records a finished
extraction, so an interrupted download or extraction resumes where it stopped and a finished
one is never redone.

A source whose archive bytes are not stable (``by_content``: ESC-50's GitHub-generated zip) is
verified by its content instead of its archive checksum: after extraction, the known files'
md5s and every listed clip present and readable (:func:`verify`); an archive md5 that differs
from the recorded one is reported as one :class:`ArchiveChanged` warning line.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import re
import shutil
import tarfile
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from zsbench.data import download
from zsbench.runtime.paths import data_dir
from zsbench.runtime.progress import bar


class DataWarning(UserWarning):
    """Partial data (clips missing, or on disk but not listed): scored anyway, coverage recorded."""


@dataclass(frozen=True)
class Archive:
    url: str
    md5: str | None = None  # as published (Zenodo lists md5); None where no checksum is published
    sha256: str | None = None
    parts: tuple["Archive", ...] = ()  # a split zip: these (.z01, ...) come first, this one last
    name: str = ""  # the file name, where the URL does not end in it (Zenodo's .../content links)

    @property
    def filename(self) -> str:
        return self.name or PurePosixPath(self.url.split("?", 1)[0]).name


@dataclass(frozen=True)
class ZenodoRecord:
    """A Zenodo record whose files and md5s are read from Zenodo's API at download time.

    The publisher's own checksums are used without being copied here, so a record with many
    parts (CochlScene is a 54 GB split zip) needs no hand-kept list that could drift.
    """

    record: str
    patterns: tuple[str, ...] = ("*",)  # fnmatch patterns on the file names to take
    api: str = "https://zenodo.org/api/records"

    @property
    def url(self) -> str:
        return f"{self.api}/{self.record}"

    def archives(self, listing: dict) -> tuple[Archive, ...]:
        """Archives from the record's API JSON; a split zip (``X.z01``... ``X.zip``) becomes one
        archive with its parts in order."""
        files = listing.get("files", [])
        files = files.get("entries", []) if isinstance(files, dict) else files
        found: dict[str, Archive] = {}
        for entry in files:
            name = entry.get("key") or entry.get("filename", "")
            if not any(fnmatch.fnmatchcase(name, p) for p in self.patterns):
                continue
            algo, _, digest = str(entry.get("checksum", "")).partition(":")
            link = entry.get("links", {}).get("self") or entry.get("links", {}).get("content")
            if not link or algo != "md5" or len(digest) != 32:
                raise ValueError(f"Zenodo record {self.record}: file {name!r} has no download link or md5 "
                                 f"in {self.url}; Zenodo's API may have changed. Download the files yourself.")
            found[name] = Archive(link, md5=digest, name=name)
        if not found:
            raise ValueError(f"Zenodo record {self.record} ({self.url}) lists no file matching "
                             f"{', '.join(self.patterns)}; download the files yourself.")
        parts = {n for n in found if re.search(r"\.z\d\d$", n)}
        archives = []
        for name in sorted(set(found) - parts):
            mine = sorted(p for p in parts if name.endswith(".zip") and p[:-4] == name[:-4])
            parts -= set(mine)
            archives.append(dataclasses.replace(found[name], parts=tuple(found[p] for p in mine)))
        if parts:
            raise ValueError(f"Zenodo record {self.record}: parts {sorted(parts)} have no .zip to join")
        return tuple(archives)


@dataclass(frozen=True)
class DatasetSource:
    """Where a task's data comes from and what a correct copy looks like."""

    archives: tuple[Archive, ...] = ()
    # archives listed by Zenodo's API (one record, or several: TUT 2017's two sets), fetched after ``archives``
    zenodo: ZenodoRecord | tuple[ZenodoRecord, ...] | None = None
    checks: dict[str, str] = field(default_factory=dict)  # relative path -> md5 of known files
    manual: str = ""  # for sets that cannot be downloaded (YouTube): the layout to provide
    strip: str = ""  # the archives' top folder, whose contents become the data root
    # the archives' bytes may change (GitHub regenerates archive/master.zip): their md5 is only
    # recorded, and the extracted copy is verified by its content (``checks`` and every listed clip)
    by_content: bool = False

    @property
    def zenodo_records(self) -> tuple[ZenodoRecord, ...]:
        if self.zenodo is None:
            return ()
        return self.zenodo if isinstance(self.zenodo, tuple) else (self.zenodo,)


N_NAMED = 5  # files named in a message


class CorruptArchive(ValueError):
    pass


class ArchiveChanged(UserWarning):
    """A ``by_content`` archive whose md5 differs from the recorded one (verified by content instead)."""


def download_dataset(task_id: str, source: DatasetSource, root: Path | None = None) -> Path:
    """Fetch and extract every archive of ``source`` under ``root`` (default: the data dir)."""
    if source.manual:
        raise ValueError(f"{task_id} cannot be downloaded by zsbench: {source.manual}")
    root = Path(root) if root is not None else data_dir() / task_id
    store = root / ".downloads"
    fix = f"Download it yourself into {store} and re-run `zsbench data download {task_id}`."
    archives = source.archives
    for record in source.zenodo_records:
        listing = download.fetch(record.url, store / f"zenodo-{record.record}.json",
                                 what=f"{task_id} file list", fix=fix, show_progress=False)
        try:
            archives += record.archives(json.loads(listing.read_text(encoding="utf-8")))
        except json.JSONDecodeError:
            listing.unlink()  # fetched again next time
            raise ValueError(f"{task_id}: Zenodo's file list ({record.url}) was not JSON (the site may be "
                             f"down); re-run later. {fix}") from None
        except ValueError as exc:
            listing.unlink()
            raise ValueError(f"{task_id}: {exc}") from None
    extracted: list[tuple[Path, list[Path]]] = []  # (marker, archive files) of what this call extracted
    for archive in archives:
        marker = store / f"{archive.filename}.extracted"
        if marker.exists():
            continue
        files = [_fetch_archive(task_id, a, store, fix, source.by_content) for a in (*archive.parts, archive)]
        if archive.parts:
            extract(_join_split(files), root, part_sizes=[f.stat().st_size for f in files])
        else:
            extract(files[0], root)
        if source.strip and (root / source.strip).is_dir():
            _move_up(root / source.strip)
        marker.write_text("ok\n")
        extracted.append((marker, files))
    if source.by_content and extracted:
        _check_content(task_id, source, root, extracted)
    return root


def _fetch_archive(task_id: str, archive: Archive, store: Path, fix: str, by_content: bool) -> Path:
    """One archive file, checked against its md5/sha256; for a ``by_content`` source the recorded
    md5 is compared, and a difference reported (one warning line), not fatal."""
    what = f"{task_id} ({archive.filename})"
    if not by_content:
        return download.fetch(archive.url, store / archive.filename, what=what, md5=archive.md5,
                              sha256=archive.sha256, fix=fix)
    path = download.fetch(archive.url, store / archive.filename, what=what, fix=fix)
    if archive.md5 is not None:
        got = download.file_digest(path, "md5")
        if got != archive.md5.lower():
            warnings.warn(ArchiveChanged(
                f"{task_id}: the downloaded archive {archive.filename} differs from the recorded one (md5 {got}, "
                f"recorded {archive.md5}); it is regenerated by its host, so it is verified by content instead"),
                stacklevel=3)
    return path


def _check_content(task_id: str, source: DatasetSource, root: Path,
                   extracted: list[tuple[Path, list[Path]]]) -> None:
    """The extracted copy's content (``source.checks`` md5s, every listed clip present and
    readable), or CorruptArchive naming the files that fail; the extraction markers are removed
    then, so a re-run extracts (and checks) again."""

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # missing clips are this check's finding, said below
        report = verify(task_id, source, root)
    if report.ok:
        return
    lines = [f"{root / rel}: {status}" for rel, status in report.checksums.items() if status != "ok"]
    lines += report.problems
    lines += [f"unreadable: {u}" for u in report.unreadable[:N_NAMED]]
    if len(report.unreadable) > N_NAMED:
        lines.append(f"... and {len(report.unreadable) - N_NAMED} more unreadable files")
    for marker, _ in extracted:
        marker.unlink(missing_ok=True)
    archives = ", ".join(str(f) for _, files in extracted for f in files)
    raise CorruptArchive(
        f"{task_id}: the downloaded copy in {root} is not the dataset it should be (checked by content):\n"
        + "\n".join(f"  - {line}" for line in lines)
        + f"\nDelete {archives} and re-run `zsbench data download {task_id}` to fetch it again; if the same "
          f"files fail again, the published archive's content has changed: get the files yourself into {root}.")


def _move_up(folder: Path) -> None:
    for child in folder.iterdir():
        target = folder.parent / child.name
        if target.exists():
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        child.rename(target)
    folder.rmdir()


def _join_split(files: list[Path]) -> Path:
    """Concatenate a split zip's parts (.z01 ... .zip) in order; ``extract`` fixes the offsets."""
    joined = files[-1].with_name(files[-1].stem + ".joined.zip")
    if not joined.exists():
        tmp = joined.with_name(joined.name + ".part")
        with open(tmp, "wb") as out:
            for part in files:
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, out, 1 << 22)
        tmp.replace(joined)
    return joined


def extract(archive: Path, dest: Path, part_sizes: list[int] | None = None) -> None:
    """Extract a zip, tar(.gz/.bz2/.xz) or 7z archive into ``dest``, refusing unsafe members.

    ``part_sizes``: the archive is a split zip joined from parts of these sizes.
    """
    dest.mkdir(parents=True, exist_ok=True)
    name = archive.name.lower()
    try:
        if name.endswith(".zip"):
            with zipfile.ZipFile(archive) as z:
                members = z.infolist()
                if part_sizes:
                    _rebase_split(members, part_sizes, _central_directory_disk(archive))
                for m in members:
                    _safe_member(m.filename, archive)
                with bar(f"extracting {archive.name}", len(members)) as advance:
                    for m in members:
                        z.extract(m, dest)
                        advance(1)
        elif ".tar" in name or name.endswith((".tgz", ".tbz2")):
            with tarfile.open(archive) as t:
                t.extractall(dest, filter="data")  # refuses absolute paths, links out, devices
        elif name.endswith(".7z"):
            try:
                import py7zr
            except ImportError:
                raise CorruptArchive(f"{archive}: a 7z archive; `pip install py7zr` or extract it with 7z "
                                     f"into {dest}") from None
            with py7zr.SevenZipFile(archive) as z:
                for member in z.getnames():
                    _safe_member(member, archive)
                z.extractall(dest)
        else:  # a plain file (a metadata CSV published on its own)
            shutil.copyfile(archive, dest / archive.name)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise CorruptArchive(f"{archive}: corrupt or incomplete archive ({exc}). Delete it and re-run "
                             "`zsbench data download`, which fetches it again.") from None


def _rebase_split(members: list[zipfile.ZipInfo], part_sizes: list[int], cd_disk: int) -> None:
    """In a split zip each local-header offset counts from the start of its own part (disk).
    ``zipfile`` has already added the start of the part where the central directory begins (it
    sees everything before as prepended data). Rebase each member onto the start of its own part."""
    starts = [sum(part_sizes[:i]) for i in range(len(part_sizes))]
    for m in members:
        m.header_offset += starts[m.volume] - starts[cd_disk]


def _central_directory_disk(archive: Path) -> int:
    """The 'disk where the central directory starts' field of the end-of-central-directory record."""
    with open(archive, "rb") as f:
        f.seek(0, 2)
        size = f.tell()
        f.seek(max(0, size - 65557))
        tail = f.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        raise zipfile.BadZipFile("no end-of-central-directory record")
    return int.from_bytes(tail[at + 6:at + 8], "little")


def _safe_member(name: str, archive: Path) -> None:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts:
        raise CorruptArchive(f"{archive}: refusing member {name!r}, which points outside the extraction folder")


@dataclass
class VerifyReport:
    task_id: str
    root: Path
    listed: int = 0
    present: int = 0
    unreadable: list[str] = field(default_factory=list)
    checksums: dict[str, str] = field(default_factory=dict)  # relative path -> "ok" or the problem
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and not self.unreadable and all(v == "ok" for v in self.checksums.values())


def verify(task_id: str, source: DatasetSource | None, root: Path | None = None) -> VerifyReport:
    """Counts (listed, present), known checksums, and every audio file's header read."""
    import soundfile as sf

    from zsbench.registry import TASKS

    report = VerifyReport(task_id, Path(root) if root else data_dir() / task_id)
    for rel, md5 in (source.checks if source else {}).items():
        path = report.root / rel
        if not path.exists():
            report.checksums[rel] = "missing"
        else:
            got = download.file_digest(path, "md5")
            report.checksums[rel] = "ok" if got == md5 else f"md5 {got}, expected {md5}"
    try:
        task = TASKS.get(task_id)(data_root=str(report.root), **_allow_missing(TASKS.get(task_id)))
    except (FileNotFoundError, ValueError) as exc:
        report.problems.append(str(exc))
        return report
    report.listed = int(task.coverage.get("listed", len(task.items)))
    with bar(f"reading headers of {task_id}", len(task.items)) as advance:
        for item in task.items:
            if item.path.exists():
                report.present += 1
                try:
                    if sf.info(str(item.path)).frames == 0:
                        report.unreadable.append(f"{item.path}: zero samples")
                except Exception as exc:  # libsndfile raises several types for bad files
                    report.unreadable.append(f"{item.path}: {exc}")
            advance(1)
    if report.present < report.listed:
        named = task.coverage.get("missing_examples", [])[:N_NAMED]
        report.problems.append(f"{report.listed - report.present} of {report.listed} listed clips are missing"
                               + (f" (e.g. {', '.join(named)})" if named else ""))
    return report


def _allow_missing(loader) -> dict:
    import inspect

    return {"allow_missing": True} if "allow_missing" in inspect.signature(loader).parameters else {}
