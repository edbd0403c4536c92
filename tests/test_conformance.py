"""Every adapter that can be built offline passes the conformance check; the checker catches breakage."""

from __future__ import annotations

import numpy as np
import pytest

from zsbench.adapters.base import LoadOptions
from zsbench.adapters.demo import DemoModel
from zsbench.conformance import ConformanceError, validate


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
