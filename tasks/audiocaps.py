"""AudioCaps test split as audio-text retrieval: 975 YouTube clips x 5 captions (4,875), R@k.

Captions are grouped by ``youtube_id`` (clips in order of first appearance); ``Task.captions``
holds every caption and ``Task.caption_item`` the clip each describes. The audio comes from
YouTube, so copies are partial: missing clips are reported (``Task.coverage`` and a warning)
and their captions leave the query set with them (``partial_data="score-present"``);
``allow_missing=false`` makes them an error.

Expected layout (one file per clip, cut at start_time, wav or flac, any sample rate):
  <root>/dataset/test.csv                audiocap_id,youtube_id,start_time,caption (github.com/cdjkim/audiocaps)
  <root>/audio/test/<youtube_id>.wav     e.g. audio/test/7fmOlUlwoNg.wav (or .flac)
"""

from __future__ import annotations

from pathlib import Path

from zsbench.tasks import metadata
from zsbench.tasks.base import Task, TaskMeta, register_task

TASK_ID = "audiocaps"
SUFFIXES = (".wav", ".flac")
META = TaskMeta(
    id=TASK_ID, version="1", metric="retrieval",
    description="AudioCaps test, 975 clips x 5 captions, text-to-audio and audio-to-text retrieval (R@k)",
    citation="@inproceedings{kim2019audiocaps, author={Kim, Chris Dongjoo and Kim, Byeongchang and Lee, Hyunmin "
             "and Kim, Gunhee}, title={{AudioCaps}: Generating Captions for Audios in The Wild}, "
             "booktitle={Proc. NAACL-HLT}, pages={119--132}, year={2019}}",
    license="MIT (captions); the audio belongs to its YouTube uploaders",
    homepage="https://audiocaps.github.io/",
    partial_data="score-present",  # YouTube-sourced: never complete
    splits="test (975 clips, 4,875 captions)",
    leaderboard_order=80,
    source=metadata.youtube_source(TASK_ID),  # no archive: the layout to provide
)


def read_metadata(root: str | Path) -> metadata.Metadata:
    """Parse ``dataset/test.csv`` and group its captions by clip (no audio is touched)."""
    root = Path(root)
    hint = metadata.youtube_hint("AudioCaps", __doc__)
    (path,) = metadata.require(TASK_ID, root, ["dataset/test.csv"], hint)
    rows = metadata.read_table(path, ["audiocap_id", "youtube_id", "start_time", "caption"])
    metadata.check_unique(path, rows, "audiocap_id", what="caption id")
    audio = root / "audio" / "test"
    entries: list[metadata.Entry] = []
    first: dict[str, metadata.Row] = {}
    slot: dict[str, int] = {}  # clip -> index into entries
    captions, owner = [], []
    for r in rows:
        ytid = r["youtube_id"]
        if not r["caption"]:
            raise metadata.MetadataError(f"{path}, line {r.line}: empty caption")
        if ytid not in first:
            first[ytid] = r
            entries.append(metadata.Entry(id=ytid, paths=tuple(audio / f"{ytid}{s}" for s in SUFFIXES),
                                          targets=(), line=r.line))
        elif first[ytid]["start_time"] != r["start_time"]:
            raise metadata.MetadataError(f"{path}, line {r.line}: clip {ytid} starts at {r['start_time']} here but at "
                                      f"{first[ytid]['start_time']} on line {first[ytid].line}")
        captions.append(r["caption"])
        owner.append(slot.setdefault(ytid, len(entries) - 1))
    return metadata.Metadata(TASK_ID, root, path, [], [], entries, hint, audio_dirs=(audio,),
                             captions=captions, caption_entry=owner)


@register_task(META, "AudioCaps test: 975 YouTube clips x 5 captions, audio-text retrieval (coverage recorded)")
def load_audiocaps(data_root: str | Path | None = None, allow_missing: bool | None = None) -> Task:
    md = read_metadata(metadata.resolve_root(TASK_ID, data_root))
    return metadata.build_task(META, md, allow_missing=allow_missing)
