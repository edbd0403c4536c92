"""DCASE urban acoustic scenes: TUT Urban Acoustic Scenes 2018 (``tut2018``) and TAU Urban
Acoustic Scenes 2019 (``tau2019``), development set, fold-1 evaluate list, 10 scenes (accuracy).

The ReCLAP paper's "TUT" column is TUT 2018; its label file (tut.txt) lists the 15 scenes of
TUT 2017, a different edition, which is now a task of its own (``tut2017``, tasks/tut2017.py). Both editions here share the DCASE2018 task 1a layout: tab-separated
lists, with or without a header line, LF or CRLF; file names relative to the development folder.
Labels are the scene names with underscores turned to spaces (``metro_station`` -> ``metro
station``), in the order of ``labels/tut.json``; the edition is recorded in ``Task.params``.

Expected layout (TUT 2018: Zenodo record 1228142; TAU 2019: Zenodo record 2589280):
  <root>/TUT-urban-acoustic-scenes-2018-development/meta.csv                          (or TAU-...-2019-...)
  <root>/TUT-urban-acoustic-scenes-2018-development/evaluation_setup/fold1_evaluate.txt   (2019: .csv)
  <root>/TUT-urban-acoustic-scenes-2018-development/audio/<scene>-<city>-<id>-<seg>-a.wav
<root> may also be the development folder itself.
"""

from __future__ import annotations

from pathlib import Path

from zsbench.data.datasets import DatasetSource, ZenodoRecord
from zsbench.tasks import metadata
from zsbench.tasks.base import Task, TaskMeta, register_task

_LICENSE = "non-commercial research use (the dataset's own licence; see the Zenodo record)"
EDITIONS = {
    "tut2018": {
        "folder": "TUT-urban-acoustic-scenes-2018-development", "year": "2018",
        "name": "TUT Urban Acoustic Scenes 2018",
        "meta": TaskMeta(
            id="tut2018", version="1", metric="accuracy",
            description="TUT Urban Acoustic Scenes 2018 (DCASE2018 task 1a), development fold-1 evaluate list, "
                        "10 scenes, accuracy",
            citation="@inproceedings{mesaros2018multidevice, author={Mesaros, Annamaria and Heittola, Toni and "
                     "Virtanen, Tuomas}, title={A multi-device dataset for urban acoustic scene classification}, "
                     "booktitle={Proc. DCASE Workshop}, pages={9--13}, year={2018}}",
            license=_LICENSE, homepage="https://zenodo.org/record/1228142",
            splits="development set, fold-1 evaluate list", leaderboard_order=50,
            source=DatasetSource(zenodo=ZenodoRecord("1228142", (
                "TUT-urban-acoustic-scenes-2018-development.meta.zip",
                "TUT-urban-acoustic-scenes-2018-development.audio.*.zip"))))},
    "tau2019": {
        "folder": "TAU-urban-acoustic-scenes-2019-development", "year": "2019",
        "name": "TAU Urban Acoustic Scenes 2019",
        "meta": TaskMeta(
            id="tau2019", version="1", metric="accuracy",
            description="TAU Urban Acoustic Scenes 2019 (DCASE2019 task 1a), development fold-1 evaluate list, "
                        "10 scenes, accuracy",
            citation="@inproceedings{mesaros2019acoustic, author={Mesaros, Annamaria and Heittola, Toni and "
                     "Virtanen, Tuomas}, title={Acoustic scene classification in {DCASE} 2019 challenge: closed and "
                     "open set classification and data mismatch setups}, booktitle={Proc. DCASE Workshop}, "
                     "pages={164--168}, year={2019}}",
            license=_LICENSE, homepage="https://zenodo.org/record/2589280",
            splits="development set, fold-1 evaluate list")},  # no download known: lay out the Zenodo files
}
FOLD = 1


def read_metadata(root: str | Path, edition: str = "tut2018") -> metadata.Metadata:
    """Parse ``meta.csv`` and the fold-1 evaluate list (no audio is touched)."""
    spec = EDITIONS[edition]
    root = Path(root)
    dev = root if (root / "meta.csv").is_file() and not (root / spec["folder"]).is_dir() else root / spec["folder"]
    hint = metadata.download_hint(edition)
    setup = f"evaluation_setup/fold{FOLD}_evaluate"
    meta_path, eval_path = metadata.require(edition, dev, ["meta.csv", (f"{setup}.txt", f"{setup}.csv")], hint)

    scenes = metadata.load_sidecar("tut")["scenes"]
    index = {s: i for i, s in enumerate(scenes)}
    listed = metadata.read_table(meta_path, ["filename", "scene_label"], delimiter="\t",
                                 fieldnames=["filename", "scene_label", "identifier", "source_label"])
    metadata.check_unique(meta_path, listed, "filename")
    scene_of = {r["filename"]: (r["scene_label"], r.line) for r in listed}

    rows = metadata.read_table(eval_path, ["filename", "scene_label"], delimiter="\t",
                               fieldnames=["filename", "scene_label"])
    metadata.check_unique(eval_path, rows, "filename")
    entries = []
    for r in rows:
        name, scene = r["filename"], r["scene_label"]
        target = metadata.label_index(eval_path, r.line, scene, index, "labels/tut.json")
        if name not in scene_of:
            raise metadata.MetadataError(f"{eval_path}, line {r.line}: {name} is not listed in {meta_path}")
        if scene_of[name][0] != scene:
            raise metadata.MetadataError(f"{eval_path}, line {r.line}: {name} is {scene!r} here but "
                                      f"{scene_of[name][0]!r} in {meta_path}, line {scene_of[name][1]}")
        entries.append(metadata.Entry(id=name, paths=(dev / name,), targets=(target,), line=r.line))
    return metadata.Metadata(edition, dev, eval_path, [metadata.spaced(s) for s in scenes], list(scenes), entries, hint,
                             audio_dirs=(dev / "audio",), also_listed=frozenset(dev / n for n in scene_of))


def _load(edition: str, data_root: str | Path | None, allow_missing) -> Task:
    spec = EDITIONS[edition]
    md = read_metadata(metadata.resolve_root(edition, data_root), edition)
    return metadata.build_task(spec["meta"], md, allow_missing=allow_missing,
                               params={"edition": spec["name"], "year": spec["year"], "fold": FOLD})


def label_names(task_id: str = "tut2018") -> list[str]:
    """The 10 scenes as the task names them, without the data (``labels/tut.json``)."""
    return [metadata.spaced(s) for s in metadata.load_sidecar("tut")["scenes"]]


@register_task(EDITIONS["tut2018"]["meta"], "TUT Urban Acoustic Scenes 2018: 10 scenes, development fold-1 evaluate list, accuracy")
def load_tut2018(data_root: str | Path | None = None, allow_missing: bool | None = None) -> Task:
    return _load("tut2018", data_root, allow_missing)


@register_task(EDITIONS["tau2019"]["meta"], "TAU Urban Acoustic Scenes 2019: 10 scenes, development fold-1 evaluate list, accuracy")
def load_tau2019(data_root: str | Path | None = None, allow_missing: bool | None = None) -> Task:
    return _load("tau2019", data_root, allow_missing)
