"""A procedural sound world: labelled, captioned audio that needs no network and no data.

The offline demo task (``synthworld``) and the training corpus of the tiny CLAP model both
come from here. Every clip is synthesised from a small acoustic recipe whose parameters
(pitch, rate, loudness, duration, onset) are drawn from a seed, and mixed over a scene
(street, room, forest, rain, crowd, quiet) at a drawn event-to-scene ratio, so the classes are
acoustically distinct yet vary within themselves the way real recordings do: zero-shot
classification is then neither trivial nor hopeless. Each clip carries a caption written from
the parameters that were actually rendered, scene included, plus procedural paraphrases (in the
format the LLM rewrite pipeline produces), so a text encoder trained on them links words
("slow", "high-pitched", "three times", "on a busy street") to sounds.

Modules: ``dsp`` (filters, oscillators), ``recipes_*`` (one function per class), ``classes``
(the class table), ``scenes`` (ambiences), ``text`` (captions), ``render`` (clips and splits),
``corpus`` (the training CSV and the held-out classes).
"""

from zsbench.synthworld.classes import CLASSES, RECIPES, SoundClass
from zsbench.synthworld.corpus import HELD_OUT, SEEN, class_subset
from zsbench.synthworld.render import (MAX_DURATION, MIN_DURATION, N_REWRITES, SAMPLE_RATE, Clip, clip_seed,
                                       generate, render, slug)
from zsbench.synthworld.scenes import SCENE_NAMES, SCENES
from zsbench.synthworld.text import _times  # noqa: F401  (tests check the number words)

__all__ = ["CLASSES", "RECIPES", "SoundClass", "MAX_DURATION", "MIN_DURATION", "N_REWRITES", "SAMPLE_RATE",
           "Clip", "clip_seed", "generate", "render", "slug", "SCENES", "SCENE_NAMES",
           "HELD_OUT", "SEEN", "class_subset"]
