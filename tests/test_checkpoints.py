"""Checkpoint resolution against a local HTTP server and the offline Hub cache (no external network)."""

from __future__ import annotations

import hashlib
import random
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest

from zsbench.data import checkpoints, download
from zsbench.data.checkpoints import CheckpointSource, CheckpointUnavailable, resolve

DATA = random.Random(0).randbytes(300_000)
SHA = hashlib.sha256(DATA).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    """Serves DATA with Range support; ``server.state.mode`` picks a misbehaviour."""

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        state = self.server.state
        state.ranges.append(self.headers.get("Range"))
        if self.path.endswith("/missing.pt"):
            self.send_error(404)
            return
        if state.mode == "slow":  # never answers within the client's timeout; bounded so shutdown is quick
            state.release.wait(5)
            return
        if state.mode == "503_once" and len(state.ranges) == 1:
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if state.mode == "html":
            self._reply(200, b"<html><body>Google Drive can't scan this file for viruses</body></html>", "text/html")
            return
        body = DATA[::-1] if state.mode == "corrupt" else DATA
        requested = self.headers.get("Range")
        if requested and state.mode != "ignore_range":
            start = int(requested.removeprefix("bytes=").split("-")[0])
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self._reply(206, body[start:], content_range=f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self._reply(200, body)

    def _reply(self, code: int, payload: bytes, content_type: str = "application/octet-stream",
               content_range: str | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        if content_range:
            self.send_header("Content-Range", content_range)
        self.end_headers()
        if self.server.state.mode == "drop_once" and not self.server.state.dropped:
            self.server.state.dropped = True
            payload = payload[: len(payload) // 2]  # HTTP/1.0: the connection closes when we return
        self.wfile.write(payload)
        self.server.state.served += len(payload)


@pytest.fixture(autouse=True)
def fast_and_direct(monkeypatch):
    """Short timeouts and no backoff, so a regression fails fast; no proxy between us and 127.0.0.1."""
    monkeypatch.setattr(download, "TIMEOUT_S", 3.0)
    monkeypatch.setattr(download, "BACKOFF_S", 0.0)
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server():
    state = SimpleNamespace(mode="ok", ranges=[], served=0, dropped=False, release=threading.Event())
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.state = state
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield SimpleNamespace(url=f"http://127.0.0.1:{httpd.server_address[1]}/weights/ckpt.pt", state=state)
    finally:
        state.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _part(url: str) -> Path:
    final = checkpoints.download_path(url)
    return final.with_name(final.name + ".part")


# --- http(s) ---------------------------------------------------------------------------------


def test_default_url_is_downloaded_verified_and_reused(server, tmp_path):
    source = CheckpointSource(url=server.url, sha256=SHA)
    path = resolve(None, source, what="test checkpoint")
    assert path.read_bytes() == DATA
    assert path.name == "ckpt.pt" and path.parent.parent.name == "downloads"
    assert not _part(server.url).exists()
    assert resolve(None, source) == path  # reused, re-verified, not fetched again
    assert server.state.ranges == [None]


def test_dropped_connection_is_resumed_with_range(server):
    server.state.mode = "drop_once"
    path = resolve(server.url, sha256=SHA)
    assert path.read_bytes() == DATA
    half = len(DATA) // 2
    assert server.state.ranges == [None, f"bytes={half}-"]
    assert server.state.served == len(DATA)  # the second request sent only the missing half


def test_interrupted_download_leaves_only_a_part_file_and_the_next_run_resumes(server, monkeypatch):
    server.state.mode = "drop_once"
    monkeypatch.setattr(download, "RETRIES", 0)
    with pytest.raises(CheckpointUnavailable, match="re-run resumes"):
        resolve(server.url)
    assert not checkpoints.download_path(server.url).exists()
    assert _part(server.url).stat().st_size == len(DATA) // 2
    path = resolve(server.url, sha256=SHA)
    assert path.read_bytes() == DATA and not _part(server.url).exists()
    assert server.state.ranges[-1] == f"bytes={len(DATA) // 2}-"
    assert server.state.served == len(DATA)


def test_server_ignoring_range_restarts_from_zero(server):
    server.state.mode = "ignore_range"
    part = _part(server.url)
    part.parent.mkdir(parents=True, exist_ok=True)
    part.write_bytes(b"stale bytes that must not survive")
    path = resolve(server.url, sha256=SHA)
    assert path.read_bytes() == DATA
    assert server.state.ranges == ["bytes=33-"]


def test_complete_part_file_answered_416_is_verified_and_kept(server):
    part = _part(server.url)
    part.parent.mkdir(parents=True, exist_ok=True)
    part.write_bytes(DATA)
    path = resolve(server.url, sha256=SHA)
    assert path.read_bytes() == DATA
    assert server.state.served == 0


def test_sha256_mismatch_raises_and_leaves_no_file(server):
    server.state.mode = "corrupt"
    with pytest.raises(CheckpointUnavailable) as error:
        resolve(None, CheckpointSource(url=server.url, sha256=SHA))
    message = str(error.value)
    assert SHA in message and hashlib.sha256(DATA[::-1]).hexdigest() in message and "--checkpoint" in message
    assert not checkpoints.download_path(server.url).exists() and not _part(server.url).exists()


def test_default_sha256_does_not_bind_a_url_the_user_names(server):
    server.state.mode = "corrupt"  # "other weights" at a user-chosen URL
    path = resolve(server.url, CheckpointSource(url="https://example.invalid/ckpt.pt", sha256=SHA))
    assert path.read_bytes() == DATA[::-1]


def test_html_page_instead_of_a_file_is_refused(server):
    server.state.mode = "html"
    with pytest.raises(CheckpointUnavailable, match="HTML page") as error:
        resolve(server.url)
    assert "--checkpoint" in str(error.value)
    assert not checkpoints.download_path(server.url).exists() and not _part(server.url).exists()


def test_http_404_names_the_url_and_the_fix(server):
    url = server.url.replace("ckpt.pt", "missing.pt")
    with pytest.raises(CheckpointUnavailable) as error:
        resolve(None, CheckpointSource(url=url, how_to_get="download ckpt.pt from the paper's page"))
    message = str(error.value)
    assert url in message and "404" in message and "--checkpoint" in message
    assert "download ckpt.pt from the paper's page" in message
    assert server.state.ranges == [None]  # a 4xx is not retried


def test_server_error_is_retried(server):
    server.state.mode = "503_once"
    assert resolve(server.url).read_bytes() == DATA
    assert len(server.state.ranges) == 2


def test_unreachable_host_fails_fast():
    url = f"http://127.0.0.1:{_closed_port()}/x.pt"
    start = time.monotonic()
    with pytest.raises(CheckpointUnavailable) as error:
        resolve(url, what="ReCLAP checkpoint")
    assert time.monotonic() - start < 5
    message = str(error.value)
    assert message.startswith(f"could not download ReCLAP checkpoint from {url} (connection refused)")
    assert "--checkpoint PATH" in message


def test_silent_server_times_out_quickly(server, monkeypatch):
    server.state.mode = "slow"
    monkeypatch.setattr(download, "TIMEOUT_S", 0.3)
    start = time.monotonic()
    with pytest.raises(CheckpointUnavailable, match="no response within 0.3 s"):
        resolve(server.url)
    assert time.monotonic() - start < 3
    assert len(server.state.ranges) == 1


# --- local paths and specs -------------------------------------------------------------------


def test_local_paths(tmp_path, monkeypatch):
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"x")
    assert resolve(str(weights)) == weights
    assert resolve(weights.as_uri()) == weights
    assert resolve(str(tmp_path)) == tmp_path  # a folder (from_pretrained) is fine
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve("~/w.pt") == weights
    with pytest.raises(CheckpointUnavailable) as error:
        resolve(str(tmp_path / "nope.pt"), what="msclap checkpoint")
    assert str(tmp_path / "nope.pt") in str(error.value) and "--checkpoint" in str(error.value)


def test_nothing_given_says_to_pass_checkpoint():
    with pytest.raises(CheckpointUnavailable, match="compa-clap checkpoint: no checkpoint given; pass --checkpoint"):
        resolve(None, None, what="compa-clap checkpoint")
    with pytest.raises(CheckpointUnavailable, match="Google Drive"):
        resolve(None, CheckpointSource(how_to_get="download base_rewritten.pt from Google Drive"))
    with pytest.raises(CheckpointUnavailable, match="unsupported scheme s3://"):
        resolve("s3://bucket/w.pt")


@pytest.mark.parametrize("spec, parsed", [
    ("hf://roberta-base/config.json", ("roberta-base", "config.json")),
    ("hf://roberta-base", ("roberta-base", None)),
    ("hf://laion/clap-htsat-unfused", ("laion/clap-htsat-unfused", None)),
    ("hf://org/model-v1.5", ("org/model-v1.5", None)),
    ("hf://lukewys/laion_clap/630k-audioset-best.pt", ("lukewys/laion_clap", "630k-audioset-best.pt")),
    ("hf://org/name/sub/dir/model.safetensors", ("org/name", "sub/dir/model.safetensors")),
])
def test_hub_spec_parsing(spec, parsed):
    assert checkpoints._parse_hub_spec(spec, "checkpoint") == parsed


# --- Hugging Face Hub (offline cache from conftest) ------------------------------------------


def test_hub_file_and_snapshot_from_the_offline_cache(hf_cache):
    snapshot = next((hf_cache / "models--roberta-base" / "snapshots").iterdir())
    assert resolve("hf://roberta-base/config.json") == snapshot / "config.json"
    assert resolve("hf://roberta-base") == snapshot
    default = CheckpointSource(hub_repo="roberta-base", hub_filename="config.json")
    assert resolve(None, default) == snapshot / "config.json"


@pytest.mark.parametrize("spec", ["hf://zsbench-test/no-such-repo", "hf://zsbench-test/no-such-repo/model.pt"])
def test_hub_offline_and_not_cached_fails_fast_with_the_fix(hf_cache, spec):
    start = time.monotonic()
    with pytest.raises(CheckpointUnavailable) as error:
        resolve(spec, what="laion checkpoint")
    assert time.monotonic() - start < 5
    message = str(error.value)
    assert "zsbench-test/no-such-repo" in message and "HF_HUB_OFFLINE is set" in message
    assert "huggingface-cli download zsbench-test/no-such-repo" in message
    assert "--checkpoint" in message and "HF_HUB_CACHE" in message


def test_hub_unreachable_without_offline_mode_uses_the_cache_then_fails_fast(hf_cache, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    start = time.monotonic()
    assert resolve("hf://roberta-base/config.json").read_text().startswith("{")
    with pytest.raises(CheckpointUnavailable, match="the Hub is unreachable .*connection refused"):
        resolve("hf://zsbench-test/no-such-repo/model.pt")
    assert time.monotonic() - start < 5


def test_missing_hub_repo_is_said_plainly(monkeypatch):
    import huggingface_hub
    from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError

    def raising(error):
        def fake(*args, **kwargs):
            raise error
        return fake

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", raising(RepositoryNotFoundError("404 repo")))
    with pytest.raises(CheckpointUnavailable, match="the Hugging Face repo org/gone does not exist"):
        resolve("hf://org/gone/model.pt")
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", raising(EntryNotFoundError("404 entry")))
    with pytest.raises(CheckpointUnavailable, match="org/there has no file model.pt"):
        resolve("hf://org/there/model.pt")


def test_default_falls_back_from_the_hub_to_its_url(server, hf_cache):
    source = CheckpointSource(hub_repo="zsbench-test/no-such-repo", hub_filename="ckpt.pt", url=server.url, sha256=SHA)
    assert resolve(None, source).read_bytes() == DATA
    broken = CheckpointSource(hub_repo="zsbench-test/no-such-repo", hub_filename="x.pt",
                              url=server.url.replace("ckpt.pt", "missing.pt"), how_to_get="ask the authors")
    with pytest.raises(CheckpointUnavailable) as error:
        resolve(None, broken)
    message = str(error.value)  # both failures, then how to get it
    assert "HF_HUB_OFFLINE is set" in message and "404" in message
    assert message.endswith("How to get it: ask the authors")
