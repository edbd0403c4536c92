"""Prompt-bank generation and caption rewrites, end to end against a scripted OpenAI-compatible
server on 127.0.0.1 (started per test, stopped by the test), plus the reply parser, the
retry policy, key hygiene and the transformers backend with a tiny random model."""

from __future__ import annotations

import csv
import os
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from zsbench.prompt_strategies.bank import load_bank, validate
from zsbench.prompt_strategies.generate import (ReplyError, check_items, generate_bank, parse_items,
                                                rewrite_captions)
from zsbench.prompt_strategies.llm import HFChat, LLMError, OpenAIChat, _retry_after, make_llm

KEY = "sk-test-DO-NOT-LEAK-7f3a9c2e51b04d86"
KEY_ENV = "ZSBENCH_TEST_LLM_KEY"

# (count, label[, description]) from either preset's wording (prompt_strategies/presets.py)
STAGE1 = re.compile(r"Give (?P<k>\d+) different ways to describe the sound of '(?P<label>.+?)'\."
                    r"|In what (?P<k2>\d+) different ways can the sound of '(?P<label2>.+?)' be described\?")
STAGE2 = re.compile(r"Write (?P<k>\d+) different one-sentence captions of audio recordings in which the sound of "
                    r"'(?P<label>.+?)', described as \"(?P<desc>.+?)\", occurs"
                    r"|the sound of '(?P<label2>.+?)' in its own way: \"(?P<desc2>.+?)\"\. Following that description, "
                    r"write (?P<k2>\d+) varied captions")


def _groups(m: re.Match) -> tuple:
    g = m.groupdict()
    return tuple(g[k] if g[k] is not None else g.get(k + "2") for k in ("k", "label", "desc") if k in g)
REWRITE = re.compile(r"Write (\d+) different rewrites of this caption: \"(.*)\"\n")


class FakeLLM:
    """A scripted chat-completions server. ``faults`` maps a fault name to label (or caption)
    texts; each fault fires once per (fault, text), except ``short_always``, which always does."""

    def __init__(self, faults: dict[str, set[str]] | None = None, sleep_s: float = 0.0):
        self.faults = faults or {}
        self.sleep_s = sleep_s
        self.fired: set[tuple] = set()
        self.systems: list[str | None] = []  # the system message of each request (None: none sent)
        self.answered = 0
        self.received = 0
        self.dead_after: int | None = None  # drop every request once this many were answered
        self.status: tuple[int, str] | None = None  # reply to everything with this HTTP error
        self.auth: set[str] = set()
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with fake.lock:
                    fake.received += 1
                    fake.auth.add(self.headers.get("Authorization", ""))
                    if fake.dead_after is not None and fake.answered >= fake.dead_after:
                        self.close_connection = True
                        return  # the server "died": no reply at all
                if self.path != "/v1/chat/completions":
                    return self._send(404, {"error": "no such route"})
                if fake.status is not None:
                    code, text = fake.status
                    return self._send(code, {"error": {"message": text}})
                action, content = fake.answer(body)
                if action == "sleep":
                    time.sleep(fake.sleep_s)
                elif action == "429":
                    return self._send(429, {"error": "slow down"}, {"Retry-After": "0"})
                with fake.lock:
                    fake.answered += 1
                self._send(200, {"object": "chat.completion", "model": body["model"],
                                 "choices": [{"index": 0, "finish_reason": "stop",
                                              "message": {"role": "assistant", "content": content}}]})

            def _send(self, code, payload, headers=None):
                data = json.dumps(payload).encode()
                try:
                    self.send_response(code)
                    for k, v in {"Content-Type": "application/json", "Content-Length": str(len(data)),
                                 **(headers or {})}.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def _fires(self, fault: str, text: str) -> bool:
        if text not in self.faults.get(fault, ()):
            return False
        with self.lock:
            if (fault, text) not in self.fired:
                self.fired.add((fault, text))
                return True
        return False

    def answer(self, body) -> tuple[str, str]:
        self.systems.append(body["messages"][0]["content"] if body["messages"][0]["role"] == "system" else None)
        prompt = next(m["content"] for m in body["messages"] if m["role"] == "user")
        if m := STAGE1.search(prompt):
            k, text = _groups(m)
            k, stage = int(k), "1"
            items = [f"{text} tone number {i}" for i in range(1, k + 1)]
        elif m := STAGE2.search(prompt):
            k, text, desc = _groups(m)
            k, stage = int(k), "2"
            items = [f"{desc}, in scene {i}" for i in range(1, k + 1)]
        elif m := REWRITE.search(prompt):
            k, text, stage = int(m.group(1)), m.group(2), "r"
            items = [f"rewrite {i}: {text}" for i in range(1, k + 1)]
        else:
            return "ok", "I do not understand"
        if self._fires("timeout", text):
            return "sleep", json.dumps(dict(enumerate(items, 1)))
        if self._fires("429", text):
            return "429", ""
        if self._fires("malformed", text):
            return "ok", '```json\n{"1": "unterminated, \n```'
        if self._fires("python", text):
            return "ok", repr({str(i): x for i, x in enumerate(items, 1)})  # single quotes: not JSON
        if stage == "2" and self._fires("banned", text):
            items[0] = "a dog barking is heard far away"
        if self._fires("count", text) or text in self.faults.get("short_always", ()):
            items = items[:-1]
        if self._fires("long", text):
            items[0] = " ".join(["word"] * 40)
        if text in self.faults.get("fenced", ()):
            return "ok", "Sure! Here they are:\n```json\n" + json.dumps(items) + "\n```\nEnjoy."
        return "ok", json.dumps({str(i): x for i, x in enumerate(items, 1)})


@pytest.fixture
def server():
    servers = []

    def start(**kwargs) -> FakeLLM:
        servers.append(FakeLLM(**kwargs))
        return servers[-1]

    yield start
    for s in servers:
        s.stop()


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)
    return KEY


def client(fake: FakeLLM, **kwargs) -> OpenAIChat:
    options = {"base_url": fake.url, "api_key_env": KEY_ENV, "timeout": 5.0, "max_retries": 2, "backoff": 0.001,
               "max_backoff": 0.01}
    options.update(kwargs)
    return OpenAIChat("fake-model", **options)


def no_key_anywhere(root: Path) -> None:
    files = [p for p in root.rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert KEY.encode() not in path.read_bytes(), path


# --- parsing --------------------------------------------------------------------------------------

def test_parse_items_accepts_json_objects_lists_and_fences():
    assert parse_items('{"2": "b", "10": "j", "1": "a"}') == ["a", "b", "j"]
    assert parse_items('```json\n["x", " y "]\n```') == ["x", "y"]
    assert parse_items('Here you go:\n{"1": "a", "2": "b"}\nHope that helps') == ["a", "b"]
    assert parse_items('{"captions": ["a", "b"]}') == ["a", "b"]


@pytest.mark.parametrize("reply", ["{'1': 'a'}", "__import__('os').getcwd()", '{"1": ["a"]}', "42", ""])
def test_parse_items_rejects_non_json_and_never_evaluates(reply):
    with pytest.raises(ReplyError):
        parse_items(reply)


def test_check_items_names_the_problem():
    check_items(["a", "b"], 2)
    for items, kwargs, words in [(["a"], {}, "1 items, 2"), (["a", "A "[:1]], {}, "the same"), (["a", ""], {}, "empty"),
                                 (["a", "the sound of it"], {"banned": True}, "'sound'"),
                                 (["a", "x " * 31], {"max_words": 30}, "31 words")]:
        with pytest.raises(ReplyError, match=words):
            check_items(items, 2, **kwargs)


def test_retry_after_parses_seconds_and_dates():
    assert _retry_after("0") == 0.0 and _retry_after("2.5") == 2.5
    assert _retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert _retry_after("soon") is None and _retry_after(None) is None


def test_make_llm_specs(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ValueError, match="OPENAI_API_KEY"):
        make_llm("openai:gpt-4o")
    assert make_llm("openai:llama3", base_url="http://127.0.0.1:1/v1").model_id == "openai:llama3"
    assert isinstance(make_llm("hf:some/model"), HFChat)
    for bad in ("gpt-4o", "openai:", "anthropic:x"):
        with pytest.raises(ValueError, match="expected openai:MODEL"):
            make_llm(bad)


# --- end to end against the local server ----------------------------------------------------------

def test_generate_bank_handles_faults_reasks_and_resumes_from_cache(server, key, isolated):
    faults = {"malformed": {"dog"}, "banned": {"rain"}, "timeout": {"cat"}, "429": {"cow"}, "count": {"bird"},
              "python": {"frog"}, "fenced": {"church bells"}, "short_always": {"glass"}}
    fake = server(faults=faults, sleep_s=1.2)
    llm = client(fake, timeout=0.4)
    labels = ["dog", "rain", "cat", "cow", "frog", "bird", "church_bells", "glass"]
    out = isolated / "bank.json"
    report = generate_bank("demo", labels, llm, out=out, t=2, n=3, cache_dir=isolated / "llm", concurrency=4,
                           max_attempts=3, progress=False, preset="strict")

    assert list(report.failures) == ["glass"] and "2 were asked for" in report.failures["glass"]
    assert report.out == out and report.labels == labels[:-1]
    # 7 good labels x (1 + 2) requests, re-asks for dog (malformed), frog (Python literal), rain
    # (banned word) and bird (wrong count), and 3 attempts for glass; the timeout and the 429 are
    # transport retries inside one request.
    assert report.requests == 7 * 3 + 4 + 3 and report.cached == 0
    bank = load_bank(out)
    assert validate(bank.labels, t=2, n=3) == []
    assert bank.sha256 == report.sha256 and bank.task == "demo"
    assert bank.provenance["incomplete"] == ["glass"]
    prov = bank.provenance
    assert prov["generator"] == "openai:fake-model" and prov["temperature"] == 0.7 and (prov["t"], prov["n"]) == (2, 3)
    assert prov["date"] and set(prov["instructions"]) >= {"stage1", "stage2"}
    assert prov["backend"]["endpoint"] == fake.url
    assert bank.descriptions("church_bells") == ["church bells tone number 1", "church bells tone number 2"]
    assert not any("heard" in c for c in bank.captions("rain"))
    assert fake.auth == {f"Bearer {KEY}"}
    assert {fault for fault, _ in fake.fired} == {"malformed", "banned", "timeout", "429", "count", "python"}

    # A second run pays nothing: every reply (good or bad) comes from the cache, same bank.
    again = generate_bank("demo", labels, llm, out=out, t=2, n=3, cache_dir=isolated / "llm", progress=False,
                          preset="strict")
    assert again.requests == 0 and again.cached == report.requests and again.sha256 == report.sha256
    # Raising max_attempts continues the cached conversation: one new request for glass.
    more = generate_bank("demo", labels, llm, out=out, t=2, n=3, cache_dir=isolated / "llm", progress=False,
                         max_attempts=4, preset="strict")
    assert more.requests == 1 and list(more.failures) == ["glass"]
    no_key_anywhere(isolated)


def test_paper_preset_is_the_default_asks_only_what_the_paper_asks_and_is_recorded(server, key, isolated):
    """No system message, the paper's two asks in our words, and a caption that says "heard" kept
    (the paper only asked to avoid it); the preset and its exact text are in the provenance."""
    from zsbench.prompt_strategies.presets import PAPER, STRICT

    fake = server(faults={"banned": {"rain"}})
    bank = load_bank(generate_bank("demo", ["rain", "dog"], client(fake), out=isolated / "b.json", t=2, n=3,
                                   cache_dir=isolated / "llm", progress=False).out)
    assert set(fake.systems) == {None}
    assert any("heard" in c for c in bank.captions("rain"))  # kept, not asked again
    prov = bank.provenance
    assert prov["preset"] == "paper" and prov["instructions"]["stage1"] == PAPER.stage1
    assert prov["instructions"]["stage2"] == PAPER.stage2 and prov["instructions"]["system"] is None
    for word in ("JSON", "heard", "sound", "scenes", "{t}", "{n}", "{description}"):
        assert word in PAPER.stage1 + PAPER.stage2
    assert not any(extra in PAPER.stage2 for extra in ("one-sentence", "indoors", "words long"))  # nothing more
    strict = load_bank(generate_bank("demo", ["rain"], client(fake), out=isolated / "s.json", t=2, n=3,
                                     cache_dir=isolated / "llm", progress=False, preset="strict").out)
    assert strict.provenance["preset"] == "strict" and strict.provenance["instructions"]["system"] == STRICT.system
    with pytest.raises(ValueError, match="unknown --preset 'loose'.*paper, strict"):
        generate_bank("demo", ["rain"], client(fake), out=isolated / "x.json", preset="loose")


def clean_requests(labels, t):
    return len(labels) * (1 + t)


def test_server_dying_midway_then_resume_pays_once(server, key, isolated):
    labels, t, n = ["dog", "rain", "cat"], 2, 3
    fake = server()
    fake.dead_after = 5  # stage 1 for the 3 labels, then dog's 2 descriptions' captions (one worker: in order)
    llm = client(fake, max_retries=1)
    out = isolated / "bank.json"
    first = generate_bank("demo", labels, llm, out=out, t=t, n=n, cache_dir=isolated / "llm", concurrency=1,
                          progress=False)
    assert list(first.failures) == ["rain", "cat"] and fake.answered == 5
    assert all("gave up after 2 attempts" in why for why in first.failures.values())
    partial = load_bank(out)  # the incomplete bank: complete entries only, the rest listed
    assert list(partial.labels) == ["dog"] and partial.provenance["incomplete"] == ["rain", "cat"]
    assert validate(partial.labels, t=t, n=n) == []
    fake.dead_after = None
    second = generate_bank("demo", labels, llm, out=out, t=t, n=n, cache_dir=isolated / "llm", concurrency=3,
                           progress=False)
    assert second.ok and second.cached == 5
    assert fake.answered == clean_requests(labels, t)  # nothing paid twice
    bank = load_bank(out)
    assert validate(bank.labels, t=t, n=n) == [] and "incomplete" not in bank.provenance


class Interrupting:
    """Raises KeyboardInterrupt (as Ctrl-C would) on the call after ``after``."""

    def __init__(self, inner, after: int):
        self.inner, self.after, self.calls = inner, after, 0
        self.model_id = inner.model_id

    def chat(self, messages, temperature):
        self.calls += 1
        if self.calls > self.after:
            raise KeyboardInterrupt
        return self.inner.chat(messages, temperature)


def test_keyboard_interrupt_propagates_writes_nothing_and_resumes(server, key, isolated):
    labels, t, n = ["dog", "rain", "cat"], 2, 3
    fake = server()
    llm = client(fake)
    out = isolated / "bank.json"
    with pytest.raises(KeyboardInterrupt):
        generate_bank("demo", labels, Interrupting(llm, 5), out=out, t=t, n=n, cache_dir=isolated / "llm",
                      concurrency=1, progress=False)
    assert not out.exists() and fake.answered == 5
    report = generate_bank("demo", labels, llm, out=out, t=t, n=n, cache_dir=isolated / "llm", progress=False)
    assert report.ok and report.cached == 5 and fake.answered == clean_requests(labels, t)
    assert validate(load_bank(out).labels, t=t, n=n) == []


def test_http_errors_are_bounded_and_never_show_the_key(server, key, isolated):
    fake = server()
    sleeps: list[float] = []
    fake.status = (503, f"overloaded; your key {KEY} is fine")
    llm = client(fake, max_retries=3, backoff=0.01, max_backoff=0.02, sleep=sleeps.append)
    with pytest.raises(LLMError) as err:
        llm.chat([{"role": "user", "content": "hi"}], 0.7)
    assert fake.received == 4 and len(sleeps) == 3 and all(0 < s <= 0.02 for s in sleeps)
    assert "HTTP 503" in str(err.value) and KEY not in str(err.value) and KEY not in repr(llm)

    fake.status = (401, f"Incorrect API key provided: {KEY}")
    fake.received = 0
    with pytest.raises(LLMError) as err:
        llm.chat([{"role": "user", "content": "hi"}], 0.7)
    assert fake.received == 1 and "HTTP 401" in str(err.value) and KEY_ENV in str(err.value)
    assert KEY not in str(err.value)

    report = generate_bank("demo", ["dog"], llm, out=isolated / "bank.json", t=2, n=3,
                           cache_dir=isolated / "llm", progress=False)
    assert report.out is None and not (isolated / "bank.json").exists()
    assert "HTTP 401" in report.failures["dog"] and KEY not in report.failures["dog"]


def test_unreachable_server_is_a_reported_failure(key, isolated):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    llm = OpenAIChat("m", base_url=f"http://127.0.0.1:{port}/v1", api_key_env=KEY_ENV, timeout=1, max_retries=1,
                     backoff=0.001)
    report = generate_bank("demo", ["dog"], llm, out=isolated / "b.json", t=1, n=1, cache_dir=isolated / "llm",
                           progress=False)
    assert "gave up after 2 attempts" in report.failures["dog"] and KEY not in report.failures["dog"]


def test_rewrite_captions(server, key, isolated):
    fake = server(faults={"long": {"A bell rings twice."}, "malformed": {"Wind blows."}})
    rows = [{"path": "a.wav", "caption": "A bell rings twice.", "split": "train"},
            {"path": "b.wav", "caption": "Wind blows.", "split": "train"},
            {"path": "c.wav", "caption": "", "split": "val"},
            {"path": "d.wav", "caption": "A bell rings twice.", "split": "val"}]
    src = isolated / "train.csv"
    with open(src, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["path", "caption", "split"])
        writer.writeheader()
        writer.writerows(rows)
    out = isolated / "train.rewritten.csv"
    report = rewrite_captions(src, out, client(fake), k=4, cache_dir=isolated / "llm", progress=False)
    assert (report.rows, report.written) == (4, 3) and report.requests == 2 + 2  # 2 captions + 2 re-asks
    assert [(f.row, f.path) for f in report.failures] == [(3, "c.wav")]
    with open(out, newline="") as f:
        written = list(csv.DictReader(f))
    assert [r["path"] for r in written] == ["a.wav", "b.wav", "d.wav"] and written[2]["split"] == "val"
    for r in written:
        rewrites = json.loads(r["rewritten_captions"])
        assert len(rewrites) == 4 and all(r["caption"] in x and len(x.split()) <= 30 for x in rewrites)
    prov = json.loads((isolated / "train.rewritten.csv.provenance.json").read_text())
    assert prov["temperature"] == 0.4 and prov["k"] == 4 and prov["failed"] == 1
    assert "Examples" in prov["instructions"]["rewrite"]

    kept = rewrite_captions(src, out, client(fake), k=4, cache_dir=isolated / "llm", keep_failed=True, progress=False)
    assert kept.requests == 0 and kept.written == 4
    with open(out, newline="") as f:
        assert json.loads(list(csv.DictReader(f))[2]["rewritten_captions"]) == []
    with pytest.raises(ValueError, match="caption"):
        bad = isolated / "bad.csv"
        bad.write_text("path,text\na.wav,x\n")
        rewrite_captions(bad, isolated / "o.csv", client(fake), progress=False)
    no_key_anywhere(isolated)


# --- transformers backend -------------------------------------------------------------------------

def test_hf_backend_with_a_tiny_random_model(hf_cache, isolated):
    """A 1-layer randomly initialised GPT-2 behind the gpt2 tokenizer (offline): the plumbing
    (chat template, generate, decode) works, and its gibberish is a reported failure."""
    torch = pytest.importorskip("torch")
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    tok = AutoTokenizer.from_pretrained("gpt2")
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(n_layer=1, n_head=2, n_embd=16, n_positions=256, vocab_size=tok.vocab_size))
    llm = HFChat("tiny-random-gpt2", model=model, tokenizer=tok, max_new_tokens=6)
    report = generate_bank("demo", ["dog"], llm, out=isolated / "b.json", t=1, n=1, cache_dir=isolated / "llm",
                           max_attempts=1, progress=False)
    assert "tokenizer has no chat template" in report.failures["dog"] and report.out is None

    tok.chat_template = ("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
                         "{% if add_generation_prompt %}assistant: {% endif %}")
    reply = llm.chat([{"role": "user", "content": "Say hi as JSON"}], temperature=0.7)
    assert isinstance(reply, str)
    report = generate_bank("demo", ["dog"], llm, out=isolated / "b.json", t=1, n=1, cache_dir=isolated / "llm",
                           max_attempts=2, progress=False)
    assert report.requests == 2 and "no usable reply in 2 attempts" in report.failures["dog"]


def test_cli_generate_then_show(server, key, isolated):
    """`zsbench prompts generate` through its entry point against the local server, then `show`."""
    import subprocess
    import sys

    fake = server()
    zsb = Path(sys.executable).parent / "zsbench"
    out = isolated / "synthworld-bank.json"
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.run([str(zsb), "prompts", "generate", "--task", "synthworld", "--llm", "openai:fake-model",
                           "--base-url", fake.url, "--api-key-env", KEY_ENV, "--t", "2", "--n", "3",
                           "--out", str(out)], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    bank = load_bank(out)
    assert len(bank.labels) == 18 and not validate(bank.labels, t=2, n=3)
    no_key_anywhere(isolated)
    shown = subprocess.run([str(zsb), "prompts", "show", str(out), "--label", "siren"], capture_output=True,
                           text=True, env=env, timeout=300).stdout
    assert "siren" in shown and bank.descriptions("siren")[0] in shown and bank.captions("siren")[0] in shown


def test_cli_show_shipped_bank_entry():
    import subprocess
    import sys

    zsb = Path(sys.executable).parent / "zsbench"
    shown = subprocess.run([str(zsb), "prompts", "show", "esc50", "--label", "dog"], capture_output=True, text=True,
                           env={**os.environ, "COLUMNS": "250"}, timeout=300)
    assert shown.returncode == 0
    bank = load_bank("esc50")
    lines = shown.stdout
    assert all(d in lines for d in bank.descriptions("dog")) and len(bank.captions("dog")) == 50
    assert all(c in lines for c in bank.captions("dog"))
    missing = subprocess.run([str(zsb), "prompts", "show", "esc50", "--label", "unicorn"], capture_output=True,
                             text=True, timeout=300)
    assert missing.returncode == 2 and "no entry for label 'unicorn'" in missing.stderr
