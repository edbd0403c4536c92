"""Tasks (installed as ``zsbench.tasks``); importing this package registers them."""

from zsbench.tasks import (  # noqa: F401
    audiocaps, audioset, clotho, cochlscene, esc50, folder, fsd50k, nsynth, synthworld, tut, tut2017, us8k,
    vggsound)
