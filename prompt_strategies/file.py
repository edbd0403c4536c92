"""A user's own prompts: a JSON file ``{label: [prompt, ...]}`` (CuPL's format)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from zsbench.prompt_strategies.base import check_prompts
from zsbench.registry import PROMPTS


@PROMPTS.register("file", "your prompts from a JSON file {label: [prompts]} (CuPL format); --prompt-file")
class FileStrategy:
    name = "file"
    parameters = {"path": str}
    inputs = ()
    augmenting = False

    def __init__(self, model_meta: Any = None, path: str | Path | None = None):
        if path is None:
            raise ValueError("the file strategy needs --prompt-file FILE.json with {label: [prompts]}")
        self.path = Path(path)
        try:
            raw = self.path.read_bytes()
            data = json.loads(raw)
        except OSError as exc:
            raise ValueError(f"{self.path}: cannot read the prompt file ({exc})") from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"{self.path}: not valid JSON ({exc}); expected {{label: [prompts]}}") from None
        if not isinstance(data, dict) or not all(
            isinstance(v, list) and all(isinstance(p, str) for p in v) for v in data.values()
        ):
            raise ValueError(f"{self.path}: expected a JSON object mapping each label to a list of strings")
        self.data: dict[str, list[str]] = data
        self.sha256 = hashlib.sha256(raw).hexdigest()

    def prompts(self, labels: list[str]) -> dict[str, list[str]]:
        check_prompts(self.data, labels, str(self.path))
        return {lab: [p for p in self.data[lab] if p.strip()] for lab in labels}

    def params(self) -> dict[str, Any]:
        return {"path": str(self.path), "file_sha256": self.sha256}
