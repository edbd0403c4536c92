"""Where each dataset is published, with the checksums its publisher lists.

Checksums are the md5 values published with each record (Zenodo lists md5 per file; the ESC-50
GitHub archive's value is the one the soundata loaders use). For ``ZenodoRecord`` sources the
file list and md5s are read from Zenodo's API when downloading. ``None`` means no checksum is
published (NSynth); such copies are verified by ``zsbench data verify`` (counts and headers) only.
"""

from __future__ import annotations

from zsbench.datasets import Archive, DatasetSource, ZenodoRecord

ZENODO = "https://zenodo.org/records"
YOUTUBE = ("The audio comes from YouTube and has no archive: extract each clip's audio as WAV or "
           "FLAC into the layout described in `zsbench tasks` / the task module, then run "
           "`zsbench data verify {task}` to see the coverage (clips found / listed).")

SOURCES: dict[str, DatasetSource] = {
    "esc50": DatasetSource(
        archives=(Archive("https://github.com/karoldvl/ESC-50/archive/master.zip", md5="7771e4b9d86d0945acce719c7a59305a"),),
        checks={"meta/esc50.csv": "54a0d0055a10bb7df84ad340a148722e"}, strip="ESC-50-master"),
    "us8k": DatasetSource(
        archives=(Archive(f"{ZENODO}/1203745/files/UrbanSound8K.tar.gz", md5="9aa69802bbf37fb986f71ec1483a196e"),),
        strip="UrbanSound8K"),
    "fsd50k": DatasetSource(archives=(
        Archive(f"{ZENODO}/4060432/files/FSD50K.ground_truth.zip", md5="ca27382c195e37d2269c4c866dd73485"),
        Archive(f"{ZENODO}/4060432/files/FSD50K.eval_audio.zip", md5="6fa47636c3a3ad5c7dfeba99f2637982",
                parts=(Archive(f"{ZENODO}/4060432/files/FSD50K.eval_audio.z01", md5="3090670eaeecc013ca1ff84fe4442aeb"),)),
    )),
    "clotho": DatasetSource(archives=(
        Archive(f"{ZENODO}/4783391/files/clotho_captions_evaluation.csv", md5="1b16b9e57cf7bdb7f13a13802aeb57e2"),
        Archive(f"{ZENODO}/4783391/files/clotho_audio_evaluation.7z", md5="4569624ccadf96223f19cb59fe4f849f"),
    ), checks={"clotho_captions_evaluation.csv": "1b16b9e57cf7bdb7f13a13802aeb57e2"}),
    "nsynth": DatasetSource(archives=(
        Archive("http://download.magenta.tensorflow.org/datasets/nsynth/nsynth-test.jsonwav.tar.gz"),)),
    "tut2018": DatasetSource(zenodo=ZenodoRecord("1228142", (
        "TUT-urban-acoustic-scenes-2018-development.meta.zip", "TUT-urban-acoustic-scenes-2018-development.audio.*.zip"))),
    # The whole release (Train, Val, Test) is one 54 GB split zip; only Test is scored.
    "cochlscene": DatasetSource(zenodo=ZenodoRecord("7080122", ("CochlScene.z*",))),
    "audiocaps": DatasetSource(manual=YOUTUBE.format(task="audiocaps")),
    "audioset": DatasetSource(manual=YOUTUBE.format(task="audioset")),
    "vggsound": DatasetSource(manual=YOUTUBE.format(task="vggsound")),
}
