"""Every registered adapter passes the conformance check on seeded random weights, built offline
the way its own test module builds it; the checker catches breakage.

An adapter this module cannot build offline fails (``build``), it is never skipped: a new adapter
needs a builder here.
"""

from __future__ import annotations

import gc
import shutil
from pathlib import Path

import numpy as np
import pytest

from zsbench.adapters.base import LoadOptions
from zsbench.adapters.demo import DemoModel
from zsbench.conformance import ConformanceError, validate
from zsbench.registry import MODELS

# The small T5 tower and tokenizer of tests/test_adapter_reclap.py (flan-t5-large's are not offline).
SMALL_T5 = {"vocab_size": 128, "d_model": 32, "d_kv": 8, "d_ff": 64, "num_layers": 2, "num_heads": 4}
SENTENCES = ("This is a sound of dog.", "a dog barks twice", "rain on a tin roof", "church bells ring at noon",
             "a chainsaw cuts wood", "crackling fire in a stove", "a crying baby", "birds singing in the distance")
# Adapters that build and run in about a second; the others build full-size towers (RoBERTa, BERT,
# GPT-2, HTSAT) with random weights and save them once per architecture: seconds to tens of seconds.
FAST = ("demo", "hf-")


@pytest.fixture(scope="module")
def demo():
    return DemoModel(LoadOptions())


def test_demo_model_conforms(demo):
    validate(demo)


class Unnormalised(DemoModel):
    def embed_audio(self, windows, seeds=None):
        return 2 * super().embed_audio(windows, seeds)


class WrongDtype(DemoModel):
    def embed_text(self, texts):
        return super().embed_text(texts).astype(np.float64)


@pytest.mark.parametrize("broken,match", [(Unnormalised, "L2-normalised"), (WrongDtype, "float32")])
def test_checker_catches_broken_adapters(demo, broken, match):
    bad = broken.__new__(broken)
    bad.__dict__.update(demo.__dict__)
    with pytest.raises(ConformanceError, match=match):
        validate(bad)


class Weights:
    """Seeded random checkpoints, written once per architecture for this module and deleted after."""

    def __init__(self, root: Path):
        self.root = root
        self._made: dict[tuple, Path] = {}

    def _once(self, key: tuple, make) -> Path:
        if key not in self._made:
            self._made[key] = make(self.root / "-".join(map(str, key)))
        return self._made[key]

    def laion(self, amodel: str, fusion: bool) -> Path:
        """The package's CLAP_Module state as LAION's .pt files hold it (tests/test_adapter_laion.py)."""
        def make(path: Path) -> Path:
            import torch

            from zsbench.adapters import laion

            torch.manual_seed(0)
            torch.save({"state_dict": laion.build_clap(amodel, fusion).model.state_dict()}, path)
            return path

        return self._once(("laion", amodel, fusion), make)

    def msclap(self, version: str) -> Path:
        """msclap's own CLAPWrapper model, built offline (the adapter's build_wrapper), as {"model": ...}."""
        def make(path: Path) -> Path:
            import torch

            from zsbench.adapters import msclap

            torch.manual_seed(0)
            torch.save({"model": msclap.build_wrapper(version, path).clap.state_dict()}, path)
            return path

        return self._once(("msclap", version), make)

    def hf_clap(self, fusion: bool) -> Path:
        from zsbench.testing.models import save_tiny_clap

        return self._once(("hf-clap", fusion), lambda folder: save_tiny_clap(folder, fusion=fusion))

    def t5_tokenizer(self) -> Path:
        from zsbench.testing.models import save_tiny_t5_tokenizer

        return self._once(("t5-tokenizer",), lambda folder: save_tiny_t5_tokenizer(folder, SENTENCES,
                                                                                    SMALL_T5["vocab_size"]))

    def t5_clap(self, amodel: str, fusion: bool, with_config: bool) -> Path:
        """A small-T5 model of the ReCLAP layout in the authors' format (tests/test_adapter_reclap.py),
        with our recipe's "config" beside the weights when ``with_config``."""
        def make(path: Path) -> Path:
            import torch

            from zsbench.adapters import reclap

            config = {"amodel": amodel, "fusion": fusion, "t5_config": SMALL_T5}
            torch.manual_seed(0)
            model = reclap.build_model(reclap.T5ClapConfig.from_dict(config, "test"))
            obj = {"epoch": 1, "state_dict": {"module." + k: v for k, v in model.state_dict().items()}}
            torch.save({**obj, "config": config} if with_config else obj, path)
            return path

        return self._once(("t5-clap", amodel, fusion, with_config), make)


@pytest.fixture(scope="module")
def weights(tmp_path_factory, hf_cache):
    root = tmp_path_factory.mktemp("conformance-weights")
    yield Weights(root)
    shutil.rmtree(root, ignore_errors=True)  # a few GB of random full-size towers


def build(name: str, weights: Weights):
    """The registered adapter ``name`` on seeded random weights, offline."""
    from zsbench.adapters import demo, hf_clap, laion, msclap, reclap

    cls = MODELS.get(name)
    if issubclass(cls, reclap.T5ClapAdapter):  # before LaionClap, its base
        tokenizer = str(weights.t5_tokenizer())
        if cls is reclap.T5ClapRecipe:  # our recipe: the architecture comes from the file
            path = weights.t5_clap("HTSAT-tiny", False, with_config=True)
            return cls(LoadOptions(checkpoint=str(path), extra={"tokenizer": tokenizer}))
        path = weights.t5_clap(cls.config.amodel, cls.config.fusion, with_config=False)
        return cls(LoadOptions(checkpoint=str(path), extra={"tokenizer": tokenizer, "t5_config": SMALL_T5}))
    if issubclass(cls, laion.LaionClap):
        return cls(LoadOptions(checkpoint=str(weights.laion(cls.amodel, cls.fusion))))
    if issubclass(cls, msclap._MSCLAP):
        return cls(LoadOptions(checkpoint=str(weights.msclap(cls.version))))
    if issubclass(cls, hf_clap.HFClap):
        return cls(LoadOptions(checkpoint=str(weights.hf_clap(cls.meta.clip.long == "fusion"))))
    if issubclass(cls, demo.DemoModel):
        return cls(LoadOptions())
    pytest.fail(f"model {name!r} ({cls.__module__}.{cls.__qualname__}): no way to build it offline on random "
                "weights here; add one to tests/test_conformance.py::build (it must not be skipped)")


def _param(name: str):
    return pytest.param(name, marks=() if name.startswith(FAST) else pytest.mark.slow)


@pytest.mark.parametrize("name", [_param(name) for name in MODELS.names()])
def test_every_registered_adapter_conforms(name, weights):
    model = build(name, weights)
    try:
        validate(model)
    finally:
        del model
        gc.collect()


@pytest.mark.parametrize("name", MODELS.names())
def test_every_adapter_refuses_an_unknown_model_option_before_loading(name, tmp_path):
    """One check for all (zsbench.adapters.base.check_options): the option is named, nothing is read."""
    with pytest.raises(ValueError) as err:
        MODELS.get(name)(LoadOptions(checkpoint=str(tmp_path / "absent.pt"), extra={"bogus_option": 1}))
    message = str(err.value)
    assert "bogus_option" in message and "model option" in message and "absent.pt" not in message
