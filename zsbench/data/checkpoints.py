"""Where weights come from: a local path, a URL, or a Hugging Face Hub file.

``--checkpoint`` (the ``spec``) may be

* a local file or folder (``~`` expanded; ``file://`` URLs too);
* an ``http(s)://`` URL: streamed into ``models_dir()/downloads/<sha256(url)[:16]>/<name>``
  through ``<name>.part``, resumed with an HTTP Range request after an interruption, checked
  against a sha256 when one is known, and only then renamed to ``<name>``, so a crash never
  leaves a file that looks complete. A finished download is reused (re-checked when a sha256
  is known);
* ``hf://REPO/FILE`` for one file of a Hub repo, or ``hf://REPO`` for a whole snapshot (a
  folder for ``from_pretrained``). REPO is ``org/name``; a legacy one-part id (``roberta-base``)
  works when followed by a single file name with a weights/config extension.

Without ``--checkpoint`` the adapter's :class:`CheckpointSource` is used: its Hub repo first
(the Hub cache is shared with transformers), then its URL.

Failing fast matters more than retrying: an unreachable host, a refused connection or a DNS
failure ends within seconds with :class:`CheckpointUnavailable` saying how to supply the file.
huggingface_hub can retry for minutes when the network is down unless ``HF_HUB_OFFLINE=1``,
so the Hub host is probed (3 s) first and, if it does not answer, only the local Hub cache is
consulted.

Google Drive: ReCLAP's weights (``base_rewritten.pt``) are published on Google Drive only. A
direct-download URL of the form ``https://drive.google.com/uc?export=download&id=<ID>`` (or
``gdown <ID>``) gives the file; pass it as ``--checkpoint URL`` (or the downloaded file as
``--checkpoint PATH``). For large files Drive answers with an HTML virus-scan confirmation
page instead; that is reported as such (it is not scraped): download the file in a browser or
with ``gdown`` and pass its path.
"""

from __future__ import annotations

import hashlib
import os
import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

from zsbench.data import download
from zsbench.runtime import paths

HUB_PROBE_TIMEOUT_S = 3.0
# A second path component with one of these suffixes is a file of a one-part repo id.
_FILE_SUFFIXES = frozenset({".pt", ".pth", ".bin", ".ckpt", ".safetensors", ".json", ".txt", ".model",
                            ".msgpack", ".h5", ".onnx", ".npz", ".npy", ".pkl", ".gguf"})


class CheckpointUnavailable(download.DownloadError):
    """The weights could not be found or fetched; the message says how to supply them."""


@dataclass(frozen=True)
class CheckpointSource:
    """Where an adapter's default weights live, so a bare ``--model NAME`` can fetch them."""

    url: str | None = None  # direct download
    hub_repo: str | None = None  # Hugging Face Hub repo id
    hub_filename: str | None = None  # file inside the repo (None: the whole snapshot, for from_pretrained)
    sha256: str | None = None  # verified when known
    how_to_get: str = ""  # one line for the error message (e.g. "download base_rewritten.pt from Google Drive")


def resolve(spec: str | None, default: CheckpointSource | None = None, *, what: str = "checkpoint",
            sha256: str | None = None, show_progress: bool = True, option: str = "--checkpoint PATH") -> Path:
    """A local file or folder for ``spec`` (``--checkpoint``), else for ``default``.

    ``spec`` may be a local path, an http(s) URL, or ``hf://REPO[/FILE]``. ``sha256`` checks a
    URL download; ``default.sha256`` checks only ``default.url`` (a URL the user names may be
    other weights on purpose, e.g. a fine-tune). ``option`` is how the user passes the file
    instead, as every error names it: ``--checkpoint PATH`` for weights, ``--model-option
    tokenizer=FOLDER`` for a tokenizer.
    """
    attempts = _attempts(spec, default, what, sha256, show_progress, option)
    hint = f"\nHow to get it: {default.how_to_get}" if default is not None and default.how_to_get else ""
    if not attempts:
        raise CheckpointUnavailable(f"{what}: no checkpoint given; pass {option} (a local path, "
                                    f"an http(s) URL or hf://REPO[/FILE]).{hint}")
    errors: list[CheckpointUnavailable] = []
    for attempt in attempts:
        try:
            return attempt()
        except CheckpointUnavailable as error:
            errors.append(error)
    if len(errors) == 1 and not hint:
        raise errors[0]
    raise CheckpointUnavailable("\n".join(map(str, errors)) + hint) from errors[-1]


def _attempts(spec: str | None, default: CheckpointSource | None, what: str, sha256: str | None,
              show_progress: bool, option: str = "--checkpoint PATH") -> list[Callable[[], Path]]:
    """The ways to get the weights, in order of preference."""
    if spec is not None:
        scheme = spec.split("://", 1)[0].lower() if "://" in spec else ""
        if not scheme or scheme == "file":
            local = Path(urllib.request.url2pathname(urlparse(spec).path)) if scheme else Path(spec)
            return [lambda: _local(local.expanduser(), what, option)]
        if scheme in ("http", "https"):
            known = sha256 or (default.sha256 if default is not None and default.url == spec else None)
            return [lambda: _download(spec, what, known, show_progress, option)]
        if scheme == "hf":
            repo, filename = _parse_hub_spec(spec, what)
            return [lambda: _hub(repo, filename, what, option)]
        raise CheckpointUnavailable(f"{what}: cannot fetch {spec}: unsupported scheme {scheme}://. "
                                    f"Use a local path, an http(s) URL or hf://REPO[/FILE] ({option}).")
    if default is None:
        return []
    attempts: list[Callable[[], Path]] = []
    if default.hub_repo:
        attempts.append(lambda: _hub(default.hub_repo, default.hub_filename, what, option))
    if default.url:
        attempts.append(lambda: _download(default.url, what, sha256 or default.sha256, show_progress, option))
    return attempts


def _local(path: Path, what: str, option: str = "--checkpoint PATH") -> Path:
    if not path.exists():
        raise CheckpointUnavailable(f"{what}: {path} does not exist. Check the path given as {option}.")
    return path


def download_path(url: str) -> Path:
    """Where ``url`` is downloaded: one folder per URL, so equal file names never collide."""
    name = PurePosixPath(unquote(urlparse(url).path)).name
    folder = paths.models_dir() / "downloads" / hashlib.sha256(url.encode()).hexdigest()[:16]
    return folder / (name if name not in ("", ".", "..") else "download")


def _download(url: str, what: str, sha256: str | None, show_progress: bool,
              option: str = "--checkpoint PATH") -> Path:
    try:
        return download.fetch(url, download_path(url), what=what, sha256=sha256, show_progress=show_progress,
                              fix=f"Download it yourself and pass {option}.")
    except CheckpointUnavailable:
        raise
    except download.DownloadError as error:
        raise CheckpointUnavailable(str(error)) from None


# --- Hugging Face Hub ------------------------------------------------------------------------


def _parse_hub_spec(spec: str, what: str) -> tuple[str, str | None]:
    """``hf://org/name[/path/in/repo]`` or ``hf://legacy-id/file.ext`` -> (repo, file or None)."""
    rest = spec.split("://", 1)[1].strip("/")
    parts = rest.split("/")
    if not rest or "" in parts:
        raise CheckpointUnavailable(f"{what}: {spec} names no Hub repo; write hf://ORG/NAME or hf://ORG/NAME/FILE.")
    if len(parts) >= 3:
        return "/".join(parts[:2]), "/".join(parts[2:])
    if len(parts) == 2 and PurePosixPath(parts[1]).suffix.lower() in _FILE_SUFFIXES:
        return parts[0], parts[1]
    return rest, None


def _hub(repo: str, filename: str | None, what: str, option: str = "--checkpoint PATH") -> Path:
    import huggingface_hub
    from huggingface_hub import constants, errors

    label = f"{repo}/{filename}" if filename else repo
    command = f"huggingface-cli download {repo}" + (f" {filename}" if filename else "")
    offline = constants.HF_HUB_OFFLINE or os.environ.get("HF_HUB_OFFLINE", "").upper() in {"1", "ON", "YES", "TRUE"}
    unreachable = None if offline else _unreachable(constants.ENDPOINT)
    local_only = offline or unreachable is not None
    try:
        if filename:
            found = huggingface_hub.hf_hub_download(repo, filename, local_files_only=local_only)
        else:
            found = huggingface_hub.snapshot_download(repo, local_files_only=local_only)
        return Path(found)
    except (errors.LocalEntryNotFoundError, errors.OfflineModeIsEnabled):
        why = ("HF_HUB_OFFLINE is set" if offline
               else f"the Hub is unreachable ({unreachable})" if unreachable
               else "the Hub could not be reached")
        message = (f"{what}: {label} is not in the local Hugging Face cache ({constants.HF_HUB_CACHE}) and {why}. "
                   f"On a machine with internet run `{command}` "
                   f"and pass the downloaded path as {option}, or set HF_HUB_CACHE to a cache that holds it.")
    except errors.GatedRepoError:
        message = (f"{what}: {repo} is gated on the Hugging Face Hub: accept its terms on its Hub page and log in "
                   f"with `huggingface-cli login`, or pass {option}.")
    except errors.RepositoryNotFoundError:
        message = (f"{what}: the Hugging Face repo {repo} does not exist (or is private). "
                   f"Check the name, or pass {option}.")
    except errors.RevisionNotFoundError:
        message = f"{what}: the Hugging Face repo {repo} has no such revision. Pass {option}."
    except errors.EntryNotFoundError:
        message = (f"{what}: the Hugging Face repo {repo} has no file {filename}. "
                   f"Check the name, or pass {option}.")
    except (ValueError, OSError) as error:  # bad repo id, HTTP and connection errors
        message = (f"could not download {what} from the Hugging Face Hub ({label}): {download.reason(error)}. "
                   f"Download it yourself (`{command}`) and pass {option}.")
    raise CheckpointUnavailable(message)


def _unreachable(endpoint: str) -> str | None:
    """Why the Hub (or the proxy in front of it) does not accept a connection; None if it does."""
    target = urlparse(endpoint)
    proxy = urllib.request.getproxies().get(target.scheme)
    if proxy and not urllib.request.proxy_bypass(target.hostname or ""):
        target = urlparse(proxy if "://" in proxy else f"http://{proxy}")
    host = target.hostname or "huggingface.co"
    port = target.port or (443 if target.scheme == "https" else 80)
    try:
        socket.create_connection((host, port), timeout=HUB_PROBE_TIMEOUT_S).close()
        return None
    except OSError as error:
        return f"{host}:{port}: {download.reason(error, HUB_PROBE_TIMEOUT_S)}"
