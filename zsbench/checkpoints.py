"""Where weights come from: a local path, a URL, or a Hugging Face Hub file.

(Interface fixed; URL and Hub downloading are being filled in.)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class CheckpointUnavailable(FileNotFoundError):
    """The weights could not be found or fetched; the message says how to supply them."""


@dataclass(frozen=True)
class CheckpointSource:
    """Where an adapter's default weights live, so a bare ``--model NAME`` can fetch them."""

    url: str | None = None  # direct download
    hub_repo: str | None = None  # Hugging Face Hub repo id
    hub_filename: str | None = None  # file inside the repo (None: the whole snapshot, for from_pretrained)
    sha256: str | None = None  # verified when known
    how_to_get: str = ""  # one line for the error message (e.g. "download base_rewritten.pt from Google Drive")


def resolve(spec: str | None, default: CheckpointSource | None = None, *, what: str = "checkpoint") -> Path:
    """A local file or folder for ``spec`` (``--checkpoint``), else for ``default``.

    ``spec`` may be a local path, an http(s) URL, or ``hf://REPO[/FILE]``.
    """
    if spec is not None and "://" not in spec:
        path = Path(spec).expanduser()
        if not path.exists():
            raise CheckpointUnavailable(f"{what}: {path} does not exist. Pass --checkpoint with the path to the weights.")
        return path
    raise CheckpointUnavailable(f"{what}: downloading is not available yet; pass --checkpoint PATH")
