"""The device a user gets without asking (issue #19): the first CUDA GPU where torch sees one,
the CPU otherwise, resolved once when the config is made, so records never say "auto". CUDA is
monkeypatched, never used."""

from __future__ import annotations

import dataclasses
import io

import pytest
import torch

from zsbench.config import AUTO_DEVICE, RunConfig, load_options, resolve_device
from zsbench.evaluation.embed import default_workers


@pytest.mark.parametrize("cuda,expected", [(True, "cuda:0"), (False, "cpu")])
def test_the_default_device_follows_the_machine(monkeypatch, cuda, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    config = RunConfig()
    assert config.device == expected and dataclasses.asdict(config)["device"] == expected  # the record's
    assert RunConfig(device=AUTO_DEVICE).device == expected and resolve_device(None) == expected
    assert load_options(config).device == expected  # what the adapter is loaded on
    # a sweep point is made with dataclasses.replace: resolved there too
    assert dataclasses.replace(config, device=AUTO_DEVICE, seed=1).device == expected


@pytest.mark.parametrize("cuda", [True, False])
def test_an_explicit_device_is_kept(monkeypatch, cuda):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    assert RunConfig(device="cpu").device == "cpu"  # --device cpu still forces the CPU
    assert RunConfig(device="cuda:1").device == "cuda:1"


def test_workers_follow_the_resolved_device(monkeypatch):
    """The worker default is derived from the device (embed.default_workers): in-process on the
    CPU, decode workers on a GPU; so it follows the resolved default too."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert default_workers(RunConfig().device) >= 1
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert default_workers(RunConfig().device) == 0
    assert RunConfig().precision == "fp32"  # the precision default does not move with the device


def test_the_summary_names_the_device():
    """The console summary says which device ran, since the default now depends on the machine.
    A record stand-in with just what ``print_run`` reads: no model is run."""
    from types import SimpleNamespace

    from rich.console import Console

    from zsbench.evaluation.report import print_run

    record = SimpleNamespace(
        model={"name": "demo", "fingerprint": "f", "meta": {"description": "d"}},
        task={"id": "t", "version": 1, "n_scored": 3}, seed=0,
        prompts={"strategy": "template", "n_prompts": 2, "bank_hash": "b"}, preprocessing={"crop": "seeded"},
        cache={"dir": "c", "disabled_reason": None, "audio_computed": 3, "audio_hits": 0, "text_computed": 2,
               "text_hits": 0},
        config={"device": "cuda:0"}, inference=("fp32", False),
        metrics={"headline": "accuracy", "values": {"accuracy": 0.5}}, timings={"audio": 1.0})
    out = io.StringIO()
    print_run(Console(file=out, width=200, highlight=False), SimpleNamespace(record=record, record_path=None))
    assert "device cuda:0" in out.getvalue()


def test_the_command_line_defaults_to_auto():
    """`zsbench run`/`sweep`/`check-model` pass ``auto`` unless --device is given, so the CLI gets
    the GPU default too (the config resolves it)."""
    from typer.testing import CliRunner

    from zsbench.cli.main import app

    for command in ("run", "sweep", "check-model"):
        text = " ".join(CliRunner().invoke(app, [command, "--help"]).output.replace("│", " ").split())
        assert "auto (cuda:0 where CUDA is available, else cpu)" in text and "[default: auto]" in text, command
