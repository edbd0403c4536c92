"""The training recipe: caption augmentation as the paper samples it, data errors, bit-for-bit
resume, the held-out classes, and the recipe's CLI."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

from zsbench.synthworld import HELD_OUT, SEEN
from zsbench.training.config import get_config
from zsbench.training.data import (CaptionAugmentation, Example, batch_indices, read_csv, step_rng)
from zsbench.training.train import RunOptions, lr_factor, train

SMALL_CLASSES = ("dial tone", "heartbeat", "wind")


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory):
    from zsbench.synthworld.corpus import write_corpus

    return write_corpus(tmp_path_factory.mktemp("corpus") / "small", 4, seed=7, classes=SMALL_CLASSES,
                        progress=False)


def small_config(csv_path, **changes):
    """tiny-cpu shrunk to seconds: a few clips, a few-thousand-parameter CNN, no evaluation."""
    cfg = get_config("tiny-cpu").with_overrides([
        f"train_csv={csv_path}", "batch_size=6", "max_steps=6", "warmup_steps=2", "checkpoint_every=3",
        "log_every=1", 'loggers=["csv"]', "eval=[]", "model.channels=[4,8,8,8]", "model.embed_dim=16",
        "model.text_hidden=16"])
    return cfg.replace(**changes)


# --------------------------------------------------------------------------- caption augmentation

def test_augmentation_keeps_the_original_with_probability_p_else_a_uniform_rewrite():
    aug = CaptionAugmentation(p=0.4, k=4)
    draws = aug.choose(np.random.default_rng(0), np.full(200_000, 4))
    counts = np.bincount(draws, minlength=5) / len(draws)
    assert counts[0] == pytest.approx(0.4, abs=0.005)        # 5 sigma is about 0.0055
    assert counts[1:] == pytest.approx([0.15] * 4, abs=0.004)  # uniform over the K rewrites
    assert set(CaptionAugmentation(0.0, 4).choose(np.random.default_rng(1), np.full(10_000, 4))) == {1, 2, 3, 4}
    assert set(CaptionAugmentation(1.0, 4).choose(np.random.default_rng(1), np.full(1000, 4))) == {0}


def test_augmentation_draws_the_rewrite_first_then_decides_to_keep():
    """The authors' order: a rewrite is drawn for every sample, then kept or not; so with the same
    generator state, wherever p = 0.4 uses a rewrite it is the one p = 0 uses."""
    n = np.full(5000, 4)
    always = CaptionAugmentation(0.0, 4).choose(np.random.default_rng(3), n)
    paper = CaptionAugmentation(0.4, 4).choose(np.random.default_rng(3), n)
    used = paper > 0
    assert used.mean() == pytest.approx(0.6, abs=0.03)
    assert np.array_equal(paper[used], always[used])


def test_augmentation_respects_fewer_rewrites_and_k():
    aug = CaptionAugmentation(p=0.0, k=2)
    draws = aug.choose(np.random.default_rng(0), np.array([0, 1, 6] * 3000))
    assert set(draws[0::3]) == {0}          # no rewrites: always the original
    assert set(draws[1::3]) == {1}
    assert set(draws[2::3]) == {1, 2}       # only the first K of six rewrites
    ex = Example("x.wav", "orig", ("r1", "r2"))
    got = {CaptionAugmentation(0.5, 4).caption(np.random.default_rng(i), ex) for i in range(200)}
    assert got == {"orig", "r1", "r2"}


def test_batches_cover_each_epoch_once_and_do_not_depend_on_rank_count():
    n, batch = 10, 4
    first_epoch = np.concatenate([batch_indices(5, s, n, batch) for s in range(3)])[:n]
    assert sorted(first_epoch) == list(range(n))
    whole = batch_indices(5, 7, n, batch)
    halves = np.concatenate([batch_indices(5, 7, n, batch, rank=r, world=2) for r in range(2)])
    assert np.array_equal(whole, halves)
    assert np.array_equal(step_rng(1, 9).random(3), step_rng(1, 9).random(3))
    with pytest.raises(ValueError, match="divisible"):
        batch_indices(5, 0, n, 5, world=2)


def test_warmup_then_cosine():
    assert lr_factor(0, 10, 100) == pytest.approx(0.1) and lr_factor(9, 10, 100) == 1.0
    assert lr_factor(55, 10, 100) == pytest.approx(0.5) and lr_factor(100, 10, 100) == pytest.approx(0.0)


# --------------------------------------------------------------------------- data errors

def test_csv_errors_name_the_file_line_and_fix(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("path,caption\na.wav,a dog\n")
    with pytest.raises(ValueError, match=r"bad.csv: missing column\(s\) \['rewritten_captions'\]"):
        read_csv(bad)
    bad.write_text('path,caption,rewritten_captions\na.wav,a dog,"[\'single quotes\']"\n')
    with pytest.raises(ValueError, match=r"bad.csv, line 2: rewritten_captions is not a JSON list.*json.dumps"):
        read_csv(bad)
    good = tmp_path / "good.csv"
    good.write_text('path,caption,dataset,rewritten_captions\nclips/a.wav,a dog,x,"[""two barks""]"\n')
    (ex,) = read_csv(good)
    assert ex.path == str(tmp_path / "clips" / "a.wav") and ex.rewrites == ("two barks",)
    with pytest.raises(FileNotFoundError, match="train_csv"):
        read_csv(tmp_path / "missing.csv")


def test_overrides_are_checked():
    cfg = get_config("tiny-cpu")
    assert cfg.with_overrides(["lr=0.01", "model.embed_dim=32"]).model["embed_dim"] == 32
    with pytest.raises(ValueError, match="not a config field"):
        cfg.with_overrides(["learning_rate=1"])
    with pytest.raises(ValueError, match="keep_original_p"):
        cfg.with_overrides(["keep_original_p=1.5"])


# --------------------------------------------------------------------------- held-out classes

def test_no_held_out_label_is_in_any_training_caption(small_csv):
    """Held-out classes never appear by name in training captions: the shipped corpus's classes
    (many seeds, every rewrite) and the corpus writer's own check."""
    from zsbench import synthworld as sw
    from zsbench.synthworld.corpus import check_held_out, held_out_mentions

    assert not set(HELD_OUT) & set(SEEN) and len(HELD_OUT) == 5
    shipped = get_config("tiny-cpu").synthworld_corpus
    captions = []
    for label in SEEN:
        for i in range(30):
            clip = sw.render(label, sw.clip_seed(shipped["seed"], "train", label, i), duration=1.5)
            captions += [clip.caption, *clip.rewrites]
    assert held_out_mentions(captions) == []
    for ex in read_csv(small_csv):
        assert held_out_mentions([ex.caption, *ex.rewrites]) == []
    with pytest.raises(ValueError, match="name a held-out class.*'siren'"):
        check_held_out(["a police siren wailing"])


# --------------------------------------------------------------------------- resume

def _state(path):
    return torch.load(path, map_location="cpu", weights_only=True)


def test_resume_continues_bit_for_bit(small_csv, tmp_path):
    cfg = small_config(small_csv)
    straight = train(cfg, RunOptions(tmp_path / "straight", progress=False, threads=1))
    part = train(cfg, RunOptions(tmp_path / "split", progress=False, threads=1, stop_after=3))
    assert part["step"] == 3 and "export" not in part
    with open(tmp_path / "split" / "log.csv", "a") as f:  # a crash after logging step 4, before its checkpoint
        f.write("4,0.1,1.0,0.5,14.0,1.0,1.0,\n")
    with pytest.raises(FileExistsError, match="--resume"):
        train(cfg, RunOptions(tmp_path / "split", progress=False, threads=1))
    with pytest.raises(ValueError, match="another config"):
        train(cfg.replace(lr=1e-2), RunOptions(tmp_path / "split", resume=True, progress=False, threads=1))
    resumed = train(cfg, RunOptions(tmp_path / "split", resume=True, progress=False, threads=1))
    assert resumed["step"] == straight["step"] == 6
    a, b = _state(straight["checkpoint"]), _state(resumed["checkpoint"])
    for key, value in a["state_dict"].items():
        assert torch.equal(value, b["state_dict"][key]), key
    for k, s in a["optimizer"]["state"].items():
        assert all(torch.equal(v, b["optimizer"]["state"][k][n]) for n, v in s.items())
    assert a["scheduler"] == b["scheduler"]
    ckpts = tmp_path / "split" / "checkpoints"
    steps = sorted(ckpts.glob("step-*.pt"))
    assert os.path.samefile(ckpts / "last.pt", steps[-1])  # an alias, not a second copy on disk
    rows = (tmp_path / "split" / "log.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3", "4", "5", "6"]
    # the export is the tiny adapter's format, with the config inside
    from zsbench.adapters.demo import DemoModel
    from zsbench.adapters.base import LoadOptions

    demo = DemoModel(LoadOptions(checkpoint=resumed["export"]))
    assert demo.meta.embed_dim == 16 and demo.info["train_config"]["train_csv"] == str(small_csv)
    assert demo.embed_text(["a dial tone"]).shape == (1, 16)


def test_cli_train_runs_and_refuses_unknown_configs(small_csv, tmp_path, capsys):
    from zsbench.training.__main__ import main

    args = ["tiny-cpu", "--out", str(tmp_path / "run"), "--quiet", "--max-steps", "2", "--batch-size", "6",
            "--set", f"train_csv={small_csv}", "--set", "eval=[]", "--set", "model.channels=[4,8,8,8]"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert json.loads(out[out.index("{"):])["step"] == 2
    assert (tmp_path / "run" / "model.safetensors").exists() and (tmp_path / "run" / "config.json").exists()
    with pytest.raises(SystemExit):
        main(["nope"])


def test_zsbench_train_is_the_recipe_entry_point():
    import subprocess
    import sys
    from pathlib import Path

    zsbench = Path(sys.executable).parent / "zsbench"
    proc = subprocess.run([str(zsbench), "train", "nope"], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "invalid choice: 'nope'" in proc.stderr and "tiny-cpu" in proc.stderr


def test_webdataset_shards_are_read_like_the_csv(small_csv, tmp_path):
    import io
    import tarfile

    from zsbench.training.data import read_shards
    from zsbench.training.features import WINDOW_S, load_waveform

    rows = read_csv(small_csv)[:2]
    shard = tmp_path / "shard-000.tar"
    with tarfile.open(shard, "w") as tar:
        for i, ex in enumerate(rows):
            for name, data in ((f"clip{i}.flac", open(ex.path, "rb").read()),
                               (f"clip{i}.json", json.dumps({"caption": ex.caption,
                                                             "rewritten_captions": list(ex.rewrites)}).encode())):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    got = read_shards(str(tmp_path / "shard-*.tar"))
    assert [(g.caption, g.rewrites) for g in got] == [(r.caption, r.rewrites) for r in rows]
    assert np.array_equal(load_waveform(got[0].path), load_waveform(rows[0].path))
    assert len(load_waveform(got[0].path)) >= WINDOW_S * 16000
    with pytest.raises(FileNotFoundError, match="no WebDataset shards"):
        read_shards(str(tmp_path / "none-*.tar"))


def test_zsbench_train_and_the_torchrun_entry_take_one_set_of_options(capsys):
    """One training CLI: ``python -m zsbench.training`` is ``zsbench train``'s own command."""
    from typer.testing import CliRunner

    from zsbench.cli.main import app
    from zsbench.training.__main__ import main

    help_text = CliRunner().invoke(app, ["train", "--help"]).output
    for option in ("--out", "--set", "--max-steps", "--batch-size", "--resume", "--stop-after", "--synthetic",
                   "--device", "--threads", "--no-save", "--quiet"):
        assert option in help_text, option
    assert main(["--help"]) == 0
    solo = capsys.readouterr().out
    assert "python -m zsbench.training" in solo and "--resume" in solo and "--stop-after" in solo
