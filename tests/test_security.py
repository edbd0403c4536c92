"""Security: checkpoint loading never runs pickled code, no text from an LLM or a CSV is ever
executed, downloads are verified before use, and API keys reach neither records nor output."""

from __future__ import annotations

import ast
import http.server
import json
import pickle
import subprocess
import sys
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCES = ["zsbench", "adapters", "tasks", "prompt_strategies", "leaderboard"]
SECRET = "sk-zsbench-test-7f3a9c1e5b"


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
            yield node, owner, name


def test_no_code_execution_paths_in_the_source():
    """Every ``torch.load`` passes ``weights_only=True``; no eval/exec, no pickle or marshal
    loads, no unsafe yaml, no shell=True anywhere in the installed packages."""
    problems = []
    for folder in SOURCES:
        for path in sorted((REPO / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node, owner, name in _calls(tree):
                where = f"{path.relative_to(REPO)}:{node.lineno}"
                kw = {k.arg: k.value for k in node.keywords}
                if owner == "torch" and name == "load":
                    flag = kw.get("weights_only")
                    if not (isinstance(flag, ast.Constant) and flag.value is True):
                        problems.append(f"{where}: torch.load without weights_only=True")
                if isinstance(node.func, ast.Name) and name in ("eval", "exec"):
                    problems.append(f"{where}: {name}()")
                if owner in ("pickle", "marshal", "dill", "cloudpickle") and name in ("load", "loads"):
                    problems.append(f"{where}: {owner}.{name}")
                if owner == "yaml" and name in ("load", "unsafe_load", "full_load"):
                    problems.append(f"{where}: yaml.{name} (use yaml.safe_load)")
                shell = kw.get("shell")
                if isinstance(shell, ast.Constant) and shell.value is True:
                    problems.append(f"{where}: shell=True")
    assert not problems, "\n".join(problems)


class _Payload:
    """Unpickling this creates the marker file: what a malicious checkpoint would do."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("model", ["laion-clap-630k-audioset-best", "msclap-2023"])
def test_checkpoint_with_code_is_refused_through_the_cli(model, tmp_path, hf_cache):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    import torch

    torch.save({"state_dict": {"w": torch.zeros(1)}, "x": _Payload(marker)}, evil)
    with open(evil, "rb") as f:  # sanity: plain unpickling really would run it (torch.save zips the pickle)
        assert f.read(2) == b"PK"
    done = subprocess.run([sys.executable, "-m", "zsbench.cli", "run", "--model", model, "--checkpoint", str(evil),
                           "--task", "folder", "--data-root", str(tmp_path), "--quiet", "--no-cache"],
                          capture_output=True, text=True, timeout=300)
    assert not marker.exists(), "the checkpoint's code ran"
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr
    assert str(evil) in done.stderr or evil.name in done.stderr, done.stderr


def test_payload_would_run_under_plain_pickle(tmp_path):
    """The payload is real: ``pickle.loads`` (what torch.load without weights_only does) runs it."""
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(_Payload(marker)))  # the one deliberate unpickle, on our own object
    assert marker.exists()


def test_download_with_wrong_digest_is_never_put_in_place(tmp_path):
    from zsbench.data.download import DownloadError, fetch

    source = tmp_path / "weights.bin"
    source.write_bytes(b"tampered weights")
    final = tmp_path / "store" / "weights.bin"
    with pytest.raises(DownloadError, match="corrupt or not the expected one"):
        fetch(source.as_uri(), final, what="test weights", sha256="0" * 64, show_progress=False)
    assert not final.exists() and not final.with_name("weights.bin.part").exists()


def test_csv_and_llm_text_is_data(tmp_path):
    """A label or a prompt that is Python code stays a string end to end (nothing evaluates it)."""
    from zsbench.prompt_strategies.file import FileStrategy
    from zsbench.tasks.folder import load_folder

    marker = tmp_path / "ran"
    code = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    (tmp_path / "a.wav").write_bytes(b"")
    table = tmp_path / "t.csv"
    table.write_text(f'a.wav,"{code}"\n', encoding="utf-8")
    task = load_folder(data_root=table)
    assert task.labels == [code]
    prompts = tmp_path / "p.json"
    prompts.write_text(json.dumps({code: [code]}), encoding="utf-8")
    assert FileStrategy(path=str(prompts)).prompts([code]) == {code: [code]}
    assert not marker.exists()


class _EchoAuth(http.server.BaseHTTPRequestHandler):
    """An 'LLM server' that rejects the key and echoes it back in its error body."""

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.dumps({"error": f"bad key {self.headers.get('Authorization')}"}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _grep_tree(root: Path, needle: str) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


def test_api_keys_never_reach_records_output_or_files(tmp_path, hf_cache, esc50_clips):
    from zsbench.testing.models import esc50_table, save_tiny_clap

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EchoAuth)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {**__import__("os").environ, "OPENAI_API_KEY": SECRET, "HF_TOKEN": SECRET, "ZSBENCH_TEST_KEY": SECRET}
    table = esc50_table(esc50_clips[:3], tmp_path / "t.csv")
    try:
        gen = subprocess.run([sys.executable, "-m", "zsbench.cli", "prompts", "generate", "--task", "folder",
                              "--data-root", table, "--llm", "openai:test-model", "--out", str(tmp_path / "bank.json"),
                              "--base-url", f"http://127.0.0.1:{server.server_port}/v1"],
                             capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    finally:
        server.shutdown()
    assert gen.returncode != 0 and "401" in gen.stdout + gen.stderr  # the server's error did come back ...
    assert SECRET not in gen.stdout + gen.stderr  # ... with the key it echoed redacted
    folder = save_tiny_clap(tmp_path / "clap")
    run = subprocess.run([sys.executable, "-m", "zsbench.cli", "run", "--model", "hf-clap", "--checkpoint", str(folder),
                          "--task", "folder", "--data-root", table, "--results", str(tmp_path / "results"),
                          "--cache-dir", str(tmp_path / "cache"), "--output", str(tmp_path / "record.json"),
                          "--save-predictions", str(tmp_path / "preds.csv"), "--workers", "0"],
                         capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert SECRET not in run.stdout + run.stderr
    assert list((tmp_path / "results").glob("*.json"))
    assert _grep_tree(tmp_path, SECRET) == []
