"""Chat LLM backends for prompt generation: an OpenAI-compatible HTTP endpoint and a local
transformers model, plus an on-disk response cache.

A backend is any object with a ``model_id`` string and ``chat(messages, temperature) -> str``.

``openai:MODEL`` talks to ``POST {base_url}/chat/completions`` with urllib (OpenAI, or a vLLM,
Ollama or llama.cpp server through ``base_url``). The API key is read from an environment
variable (``OPENAI_API_KEY`` unless another name is given) and lives only in a wrapper whose
``repr`` is ``***``: it is never logged, cached, written into a bank or put into an error
message (a server's error body is redacted before it is quoted). Transient failures (HTTP 429
and 5xx, timeouts, dropped connections) are retried a bounded number of times with exponential
backoff, honouring ``Retry-After`` (capped at ``max_backoff``).

``hf:MODEL_ID`` loads a causal LM with transformers (imported lazily) and generates through the
tokenizer's chat template. Calls are serialised: one model, one forward pass at a time.
"""

from __future__ import annotations

import email.utils
import hashlib
import http.client
import json
import os
import random
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from zsbench.runtime.fsutil import atomic_write

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_KEY_ENV = "OPENAI_API_KEY"
Messages = list[dict[str, str]]


class LLMError(RuntimeError):
    """A request that failed for good (retries exhausted, or an error that retrying cannot fix)."""


class _Transient(Exception):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


@runtime_checkable
class ChatLLM(Protocol):
    model_id: str

    def chat(self, messages: Messages, temperature: float) -> str: ...


class _Secret:
    """Holds a credential; prints as ``***`` so tracebacks and reprs never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def redact(self, text: str) -> str:
        return text.replace(self._value, "***") if self._value else text

    def __repr__(self) -> str:
        return "***"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


def _public_url(url: str) -> str:
    """The URL without user info, query or fragment (safe to record and print)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


class OpenAIChat:
    """An OpenAI-compatible chat-completions endpoint."""

    def __init__(self, model: str, base_url: str | None = None, api_key_env: str = DEFAULT_KEY_ENV,
                 timeout: float = 120.0, max_retries: int = 5, backoff: float = 1.0, max_backoff: float = 60.0,
                 max_tokens: int | None = None, sleep: Callable[[float], None] = time.sleep):
        if not model:
            raise ValueError("openai backend: a model name is required (openai:MODEL)")
        self.model = model
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.endpoint = _public_url(self.base_url)
        self.model_id = f"openai:{model}"
        self.api_key_env = api_key_env
        self._key = _Secret(os.environ.get(api_key_env, ""))
        if not self._key and self.base_url == DEFAULT_BASE_URL:
            raise ValueError(f"openai backend: set the environment variable {api_key_env} to your API key "
                             "(or pass --base-url for a local server that needs none)")
        self.timeout = float(timeout)
        self.max_retries = max(0, int(max_retries))
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.max_tokens = max_tokens
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"OpenAIChat(model={self.model!r}, endpoint={self.endpoint!r}, key_env={self.api_key_env!r})"

    def describe(self) -> dict[str, Any]:
        return {"backend": "openai", "model": self.model, "endpoint": self.endpoint}

    def chat(self, messages: Messages, temperature: float) -> str:
        body: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": temperature}
        if self.max_tokens:
            body["max_tokens"] = self.max_tokens
        data = json.dumps(body).encode("utf-8")
        last = ""
        for attempt in range(self.max_retries + 1):
            try:
                return self._post(data)
            except _Transient as exc:
                last = str(exc)
                if attempt == self.max_retries:
                    break
                delay = min(self.max_backoff, self.backoff * 2 ** attempt) * (0.5 + random.random() / 2)
                if exc.retry_after is not None:
                    delay = min(max(exc.retry_after, 0.0), max(self.max_backoff, 0.0))
                self._sleep(delay)
        raise LLMError(f"{self.model_id} at {self.endpoint}: gave up after {self.max_retries + 1} attempts "
                       f"(last: {last})")

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._key:
            headers["Authorization"] = "Bearer " + self._key.reveal()
        return headers

    def _post(self, data: bytes) -> str:
        req = urllib.request.Request(self.base_url + "/chat/completions", data=data, headers=self._headers(),
                                     method="POST")
        failure: Exception | None = None
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            failure = self._http_failure(exc)
        except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            failure = _Transient(self._key.redact(f"{type(exc).__name__}: {reason}"))
        if failure is not None:
            raise failure from None
        try:
            payload = json.loads(raw.decode("utf-8"))
            content = payload["choices"][0]["message"]["content"]
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, IndexError, TypeError):
            raise _Transient("the server's reply is not a chat completion: "
                             + self._key.redact(raw[:200].decode("utf-8", "replace"))) from None
        if not isinstance(content, str):
            raise _Transient("the server's reply has no text content") from None
        return content

    def _http_failure(self, exc: urllib.error.HTTPError) -> Exception:
        try:
            body = exc.read()[:300].decode("utf-8", "replace")
        except (OSError, http.client.HTTPException):
            body = ""
        message = self._key.redact(f"HTTP {exc.code} {exc.reason}: {body}".strip())
        if exc.code == 429 or exc.code >= 500 or exc.code == 408:
            return _Transient(message, _retry_after(exc.headers.get("Retry-After") if exc.headers else None))
        hint = f" (check {self.api_key_env})" if exc.code in (401, 403) else ""
        return LLMError(f"{self.model_id} at {self.endpoint}: {message}{hint}")


class HFChat:
    """A local transformers causal LM, prompted through its tokenizer's chat template."""

    def __init__(self, model_id: str, model: Any = None, tokenizer: Any = None, device: str | None = None,
                 max_new_tokens: int = 1024, dtype: str = "auto"):
        if not model_id:
            raise ValueError("hf backend: a model id is required (hf:MODEL_ID)")
        self.hf_id = model_id
        self.model_id = f"hf:{model_id}"
        self.max_new_tokens = int(max_new_tokens)
        self._model, self._tokenizer = model, tokenizer
        self._device, self._dtype = device, dtype
        self._lock = threading.Lock()

    def describe(self) -> dict[str, Any]:
        return {"backend": "hf", "model": self.hf_id, "max_new_tokens": self.max_new_tokens}

    def _load(self) -> None:
        if self._model is not None and self._tokenizer is not None:
            return
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        device = self._device or ("cuda" if torch.cuda.is_available() else "cpu")
        if self._tokenizer is None:
            self._tokenizer = AutoTokenizer.from_pretrained(self.hf_id)
        if self._model is None:
            self._model = AutoModelForCausalLM.from_pretrained(self.hf_id, dtype=self._dtype).to(device).eval()

    def chat(self, messages: Messages, temperature: float) -> str:
        with self._lock:
            self._load()
            import torch

            tok, model = self._tokenizer, self._model
            if not getattr(tok, "chat_template", None):
                raise LLMError(f"{self.model_id}: the tokenizer has no chat template; use an instruction-tuned model")
            enc = tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                          return_dict=True)
            device = next(model.parameters()).device
            enc = {k: v.to(device) for k, v in enc.items()}
            pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
            kwargs: dict[str, Any] = {"max_new_tokens": self.max_new_tokens, "pad_token_id": pad}
            if temperature > 0:
                kwargs.update(do_sample=True, temperature=float(temperature))
            else:
                kwargs.update(do_sample=False)
            with torch.inference_mode():
                out = model.generate(**enc, **kwargs)
            return tok.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True)


def make_llm(spec: str, *, base_url: str | None = None, api_key_env: str = DEFAULT_KEY_ENV,
             timeout: float = 120.0, max_retries: int = 5, **kwargs: Any) -> ChatLLM:
    """A backend from ``openai:MODEL`` or ``hf:MODEL_ID``."""
    kind, sep, name = spec.partition(":")
    if not sep or kind not in ("openai", "hf") or not name:
        raise ValueError(f"--llm {spec!r}: expected openai:MODEL (e.g. openai:gpt-4o, with --base-url for "
                         "vLLM/Ollama/llama.cpp) or hf:MODEL_ID (a local transformers model)")
    if kind == "openai":
        return OpenAIChat(name, base_url=base_url, api_key_env=api_key_env, timeout=timeout,
                          max_retries=max_retries, **kwargs)
    if base_url:
        raise ValueError("--base-url applies to openai: backends only")
    return HFChat(name, **kwargs)


class ResponseCache:
    """One JSON file per request, keyed by sha256 of (model, messages, temperature), written atomically.

    Only successful replies are stored, so an interrupted run resumes without paying twice, and a
    failed request is asked again next time. ``root=None`` disables it.
    """

    def __init__(self, root: Path | str | None):
        self.root = Path(root) if root is not None else None

    @staticmethod
    def key(model_id: str, messages: Messages, temperature: float) -> str:
        canonical = json.dumps({"model": model_id, "messages": messages, "temperature": float(temperature)},
                               sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def _path(self, key: str) -> Path:
        assert self.root is not None
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> str | None:
        if self.root is None:
            return None
        path = self._path(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, json.JSONDecodeError):
            return None  # unreadable entry: ask again and overwrite it
        reply = data.get("response") if isinstance(data, dict) else None
        return reply if isinstance(reply, str) else None

    def put(self, key: str, model_id: str, messages: Messages, temperature: float, response: str) -> None:
        if self.root is None:
            return
        record = {"model": model_id, "temperature": temperature, "messages": messages, "response": response,
                  "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        with atomic_write(self._path(key)) as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")

