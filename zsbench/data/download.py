"""Streamed, resumable, verified HTTP downloads, for model weights and dataset archives alike.

A download goes to ``<file>.part``, resumes with an HTTP Range request after an interruption,
is checked against its sha256 and/or md5 when known, and only then is renamed into place, so a
crash never leaves a file that looks complete. Failing fast matters more than retrying: an
unreachable host, a refused connection or a DNS failure ends within seconds with
:class:`DownloadError` saying what the user can do instead.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

from zsbench.runtime import progress

TIMEOUT_S = 15.0  # connect and per-read timeout
RETRIES = 2  # extra attempts after a connection reset, a stall mid-transfer or an HTTP 5xx
BACKOFF_S = 1.0  # wait before retry k: k * BACKOFF_S
_CHUNK = 1 << 20
_USER_AGENT = "zsbench/1 (+python-urllib)"


class DownloadError(FileNotFoundError):
    """The file could not be fetched; the message says why and what to do instead."""


class _Retryable(Exception):
    """A transient failure (reset, stall, 5xx): the .part is kept and the next attempt resumes it."""


def fetch(url: str, final: Path, *, what: str, sha256: str | None = None, md5: str | None = None,
          show_progress: bool = True, fix: str = "Download it yourself and pass --checkpoint PATH.") -> Path:
    """Download ``url`` to ``final`` (through ``final.part``), verified, resumable; ``final``.

    ``fix`` ends every error message: what the user can do instead (it differs for weights
    and for datasets).
    """
    part = final.with_name(final.name + ".part")
    final.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(final.with_name(final.name + ".lock")):  # a second process waits, then reuses the file
        if final.exists():
            if _digest_problem(final, sha256, md5) is None:
                return final
            final.unlink()  # damaged since it was verified: fetch it again
        for attempt in range(RETRIES + 1):
            try:
                _fetch(url, part, what, show_progress, fix)
                break
            except _Retryable as error:
                if attempt == RETRIES:
                    kept = f"; {part} is kept and a re-run resumes it" if part.exists() else ""
                    raise DownloadError(_cannot(what, url, f"{error}{kept}", fix)) from None
                time.sleep(BACKOFF_S * (attempt + 1))
        problem = _digest_problem(part, sha256, md5)
        if problem is not None:
            part.unlink()
            raise DownloadError(
                f"{what}: the file downloaded from {url} is corrupt or not the expected one: {problem}. "
                f"The partial file was deleted; re-run to download it again. {fix}")
        os.replace(part, final)
    return final


def _fetch(url: str, part: Path, what: str, show_progress: bool, fix: str) -> None:
    """Bring ``part`` up to the whole file, appending to what is there when the server allows."""
    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": _USER_AGENT, "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=TIMEOUT_S)
    except urllib.error.HTTPError as error:
        with error:
            if error.code == 416 and offset:  # nothing after `offset`: the .part is already whole
                total = _content_range(error.headers.get("Content-Range"))[1]
                if total is None or total == offset:
                    return
                part.unlink()
                raise _Retryable(f"the partial file is longer than the file ({offset} > {total} bytes)") from None
            status = f"HTTP {error.code} {error.reason}"
            if error.code >= 500 or error.code in (408, 429):
                raise _Retryable(status) from None
            raise DownloadError(_cannot(what, url, status, fix)) from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
        # urlopen wraps errors of sending the request in URLError, not those of awaiting the answer.
        cause = error.reason if isinstance(error, urllib.error.URLError) else error
        if isinstance(cause, (ConnectionResetError, http.client.HTTPException)):  # incl. RemoteDisconnected
            raise _Retryable(reason(cause)) from None
        # DNS failure, refused, unreachable, no answer, TLS: retrying would only make the user wait.
        raise DownloadError(_cannot(what, url, reason(cause), fix)) from None
    with response:
        if response.headers.get_content_type() == "text/html":
            raise DownloadError(_html_page(what, url, fix))
        if response.status == 206:
            start = _content_range(response.headers.get("Content-Range"))[0]
            if start is not None and start != offset:
                part.unlink()
                raise _Retryable(f"the server resumed at byte {start} instead of {offset}")
        else:  # 200: the server ignored Range and sends everything
            offset = 0
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length and length.isdigit() else None
        with open(part, "ab" if offset else "wb") as out, \
                progress.bar(f"{what}: {part.name[:-5]}", total or 0, enabled=show_progress) as advance:
            advance(offset)
            try:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    advance(len(chunk))
            except (http.client.HTTPException, OSError) as error:  # reset or stall mid-transfer
                raise _Retryable(reason(error)) from None
    size = part.stat().st_size
    if total is not None and size != total:  # http.client ends a short body quietly
        raise _Retryable(f"the connection closed after {size} of {total} bytes")


def _content_range(value: str | None) -> tuple[int | None, int | None]:
    """(first byte, total size) of a ``Content-Range: bytes a-b/n`` or ``bytes */n`` header."""
    if not value or not value.startswith("bytes "):
        return None, None
    span, _, size = value[6:].partition("/")
    first = span.split("-", 1)[0]
    return (int(first) if first.isdigit() else None), (int(size) if size.isdigit() else None)


def _html_page(what: str, url: str, fix: str) -> str:
    if "drive.google.com" in (urlparse(url).hostname or "") or "drive.usercontent.google.com" in url:
        why = ("Google Drive answered with its confirmation page (large files need a click), which zsbench "
               "does not scrape; download the file in a browser or with `gdown`")
    else:
        why = "the server answered with an HTML page (a login, error or confirmation page?) instead of the file"
    return f"{what}: {url} did not return the file: {why}. {fix}"


def _cannot(what: str, url: str, reason: str, fix: str) -> str:
    return f"could not download {what} from {url} ({reason}). {fix}"


def reason(error: BaseException | str, timeout_s: float | None = None) -> str:
    """Words for a network error that a user can act on (URLError.reason may be a plain string)."""
    if not isinstance(error, BaseException):
        return str(error)
    if isinstance(error, socket.gaierror):
        return f"host not found: {error.strerror or error}"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, TimeoutError):
        return f"no response within {TIMEOUT_S if timeout_s is None else timeout_s:g} s"
    if isinstance(error, http.client.IncompleteRead):
        return "the connection closed mid-transfer"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _digest_problem(path: Path, sha256: str | None, md5: str | None) -> str | None:
    """None when ``path`` matches every digest that is known, else what differs."""
    for algorithm, expected in (("sha256", sha256), ("md5", md5)):
        if expected is not None:
            got = file_digest(path, algorithm)
            if got != expected.lower():
                return f"{algorithm} expected {expected.lower()}, got {got}"
    return None


@contextmanager
def _exclusive(lock: Path) -> Iterator[None]:
    """Serialise downloads of one URL across processes (POSIX; elsewhere, no lock)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
