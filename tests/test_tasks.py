"""The ReCLAP datasets as tasks: metadata parsers on the real official metadata files, ESC-50
end to end on its real fold-4 clips, and bad input (written in tmp) for each kind of error."""

from __future__ import annotations

import csv
import json
import shutil
import warnings
from pathlib import Path

import pytest

from zsbench.registry import TASKS
from zsbench.tasks import (audiocaps, audioset, catalog, clotho, cochlscene, esc50, fsd50k, nsynth, tut, tut2017,
                           us8k, vggsound)
from zsbench.tasks.metadata import DataWarning, MetadataError, MissingAudioError
from zsbench.tasks.base import MissingDataError

# From the registry: every task on a published dataset (it says how to cite it), and those of them
# whose audio cannot be downloaded (YouTube sets: their source is the layout to provide).
TASK_IDS = [t for t, m in catalog.metas().items() if m.citation]
YOUTUBE_TASKS = catalog.by_hand()


def data(shared: Path, name: str) -> Path:
    return shared / "data" / name


def reclap(shared: Path, name: str) -> list[str]:
    return (shared / "reference" / "reclap_label_txts" / name).read_text(encoding="utf-8").splitlines()


def touch(*paths: Path) -> None:
    for p in paths:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"")  # loaders only look for files; nothing here decodes them


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------
# Every task is registered with complete metadata
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("task_id", TASK_IDS)
def test_every_task_is_registered_and_says_how_to_get_its_data(task_id):
    loader = TASKS.get(task_id)
    with pytest.raises(MissingDataError) as err:  # no data in the isolated data dir
        loader()
    message = str(err.value)
    assert task_id in message and "Looked for" in message
    if task_id in YOUTUBE_TASKS:
        assert "YouTube" in message and "<root>/" in message  # the documented layout
    else:
        assert f"zsbench data download {task_id}" in message


@pytest.mark.parametrize("task_id", TASK_IDS)
def test_task_metadata_fields(task_id):
    meta = catalog.meta(task_id)
    assert meta.id == task_id and meta.citation.startswith("@") and meta.license and meta.homepage
    assert meta.splits  # what is scored, in words
    assert meta.version == ("2" if task_id == "nsynth" else "1")  # nsynth 2: the 10 test-split families


def test_tut_editions_register_their_own_meta():
    assert [e["meta"].id for e in tut.EDITIONS.values()] == ["tut2018", "tau2019"]
    assert all(catalog.meta(e["meta"].id) is e["meta"] for e in tut.EDITIONS.values())


# ---------------------------------------------------------------------------------------------
# Metadata parsers on the real official files (no audio)
# ---------------------------------------------------------------------------------------------

def test_esc50_metadata(shared):
    md = esc50.read_metadata(data(shared, "esc50"))
    assert len(md.entries) == 2000 and len(md.labels) == 50
    assert {f: sum(e.group == f for e in md.entries) for f in "12345"} == dict.fromkeys("12345", 400)
    assert md.labels[11] == "sea waves" and md.raw_labels[11] == "sea_waves"
    assert md.raw_labels == reclap(shared, "ESC50.txt")  # ReCLAP keeps the underscores; order = target


def test_us8k_metadata(shared):
    md = us8k.read_metadata(data(shared, "urbansound8k"))
    assert len(md.entries) == 8732 and len(md.labels) == 10
    sizes = {f: sum(e.group == str(f) for e in md.entries) for f in us8k.FOLDS}
    assert all(sizes.values()) and sum(sizes.values()) == 8732
    assert md.labels == reclap(shared, "UrbanSound8K.txt") and md.raw_labels[0] == "air_conditioner"
    assert md.entries[0].paths[0].parts[-2] == f"fold{md.entries[0].group}"


def test_fsd50k_metadata(shared):
    root = data(shared, "fsd50k")
    md = fsd50k.read_metadata(root)
    assert len(md.entries) == 10231 and len(md.labels) == 200
    with open(root / "FSD50K.ground_truth/vocabulary.csv", encoding="utf-8") as f:
        vocab = [row[1] for row in csv.reader(f)]
    assert md.raw_labels == vocab  # vocabulary order, raw names kept
    assert md.labels[0] == "Accelerating, revving, vroom"
    assert md.labels[vocab.index("Dishes_and_pots_and_pans")] == "Dishes, pots, and pans"
    assert set(md.labels) == set(reclap(shared, "FSD50k.txt"))  # LAION/ReCLAP display names
    assert max(len(e.targets) for e in md.entries) > 1  # multi-label
    first = md.entries[0]
    assert first.id == "37199" and {md.raw_labels[t] for t in first.targets} >= {"Electric_guitar", "Music"}


def test_audioset_metadata(shared):
    md = audioset.read_metadata(data(shared, "audioset"))
    assert len(md.labels) == 527 and len(md.entries) == 20371
    assert md.labels[0] == "Speech" and max(len(e.targets) for e in md.entries) > 1
    names = {p.name for p in md.entries[0].paths}
    assert {"Y--4gqARaEJE.wav", "--4gqARaEJE_0.wav", "--4gqARaEJE_0.000.flac"} <= names
    # ReCLAP's audioset.txt lists all 632 ontology nodes; the 527 classes are a subset
    assert len(reclap(shared, "audioset.txt")) == 632 and set(md.labels) <= set(reclap(shared, "audioset.txt"))


def test_vggsound_metadata(shared):
    md = vggsound.read_metadata(data(shared, "vggsound"))
    assert len(md.entries) == 15446 and len(md.labels) == 309
    assert md.entries[0].id == "glLQrEijrKg_000300" and md.labels[md.entries[0].targets[0]] == "playing hammond organ"
    assert md.entries[0].paths[0] == data(shared, "vggsound") / "audio" / "glLQrEijrKg_000300.wav"
    assert set(md.labels) == set(reclap(shared, "VGGSound.txt"))
    assert len({e.targets[0] for e in md.entries}) == 309


def test_tau2019_metadata(shared):
    root = data(shared, "tau2019uas")
    evaluate = root / "TAU-urban-acoustic-scenes-2019-development/evaluation_setup/fold1_evaluate.csv"
    n_rows = sum(1 for line in evaluate.read_text(encoding="utf-8").splitlines() if line.strip()) - 1  # header
    md = tut.read_metadata(root, "tau2019")
    assert len(md.entries) == n_rows == 4185 and len(md.labels) == 10
    assert "metro station" in md.labels and "metro_station" in md.raw_labels
    assert len({e.targets[0] for e in md.entries}) == 10
    # ReCLAP's tut.txt is TUT 2017 (15 scenes); only four scenes are shared with the 2018/2019 editions
    assert len(reclap(shared, "tut.txt")) == 15
    assert set(md.raw_labels) & set(reclap(shared, "tut.txt")) == {"bus", "metro_station", "park", "tram"}


def test_tut2018_layout_headerless_crlf(tmp_path):
    dev = tmp_path / "TUT-urban-acoustic-scenes-2018-development"
    write(dev / "meta.csv", "audio/airport-barcelona-0-0-a.wav\tairport\tbarcelona-0\ta\r\n"
                            "audio/tram-vienna-1-1-a.wav\ttram\tvienna-1\ta\r\n")
    write(dev / "evaluation_setup/fold1_evaluate.txt", "audio/tram-vienna-1-1-a.wav\ttram\r\n")
    touch(dev / "audio/airport-barcelona-0-0-a.wav", dev / "audio/tram-vienna-1-1-a.wav")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the other fold's file is listed in meta.csv: no warning
        task = tut.load_tut2018(tmp_path)
    assert [it.id for it in task.items] == ["audio/tram-vienna-1-1-a.wav"]
    assert task.labels[task.items[0].targets[0]] == "tram"
    assert task.params["edition"] == "TUT Urban Acoustic Scenes 2018" and task.params["fold"] == 1
    assert task.coverage["unlisted"] == 0


def test_clotho_metadata(shared):
    md = clotho.read_metadata(data(shared, "clotho"))
    assert len(md.entries) == 1045 and len(md.captions) == 5225
    assert md.caption_entry[:6] == [0, 0, 0, 0, 0, 1] and md.entries[0].id == "Santa Motor.wav"


def test_audiocaps_groups_captions_by_clip(shared):
    md = audiocaps.read_metadata(data(shared, "audiocaps"))
    assert len(md.entries) == 975 and len(md.captions) == 4875
    per_clip = [md.caption_entry.count(k) for k in range(len(md.entries))]
    assert set(per_clip) == {5}
    assert md.entries[0].id == "7fmOlUlwoNg" and md.captions[0] == "Constant rattling noise and sharp vibrations"


def test_nsynth_families(shared, tmp_path):
    official = json.loads((data(shared, "nsynth") / "labels.json").read_text())["instrument_family"]
    write(tmp_path / "nsynth-test/examples.json", json.dumps({
        "bass_synthetic_068-049-025": {"instrument_family_str": "bass", "instrument_family": 0},
        "vocal_acoustic_000-060-075": {"instrument_family_str": "vocal", "instrument_family": 10}}))
    md = nsynth.read_metadata(tmp_path, classes="all")
    assert md.raw_labels == official and len(md.labels) == 11 and md.labels[9] == "synth lead"
    assert [e.targets for e in md.entries] == [(0,), (10,)]
    default = nsynth.read_metadata(tmp_path)  # the paper's 10: the families of the test split
    assert set(default.raw_labels) == set(reclap(shared, "nsynth.txt")) == set(official) - {"synth_lead"}
    assert default.raw_labels == [f for f in official if f != "synth_lead"]  # NSynth's id order kept
    assert [default.labels[e.targets[0]] for e in default.entries] == ["bass", "vocal"]


NSYNTH_NOTES = {
    "bass_synthetic_068-049-025": {"instrument_family_str": "bass", "instrument_family": 0},
    "synth_lead_synthetic_000-100-127": {"instrument_family_str": "synth_lead", "instrument_family": 9},
    "vocal_acoustic_000-060-075": {"instrument_family_str": "vocal", "instrument_family": 10}}


def nsynth_layout(root: Path, notes: dict) -> Path:
    write(root / "nsynth-test/examples.json", json.dumps(notes))
    touch(*(root / "nsynth-test/audio" / f"{n}.wav" for n in notes))
    return root


def test_nsynth_scores_the_10_test_families_by_default_and_all_11_on_request(tmp_path):
    nsynth_layout(tmp_path, {k: v for k, v in NSYNTH_NOTES.items() if "synth_lead" not in k})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the official test split has no synth_lead note: nothing dropped
        task = nsynth.load_nsynth(tmp_path)
    assert len(task.labels) == 10 and "synth lead" not in task.labels
    assert task.params == {"classes": "test"} and task.coverage["dropped_notes"] == 0
    assert task.meta.version == "2"
    every = nsynth.load_nsynth(tmp_path, classes="all")
    assert len(every.labels) == 11 and every.labels[9] == "synth lead" and every.params == {"classes": "all"}
    assert [every.labels[it.targets[0]] for it in every.items] == ["bass", "vocal"]


def test_nsynth_drops_notes_of_unscored_families_and_records_them(tmp_path):
    nsynth_layout(tmp_path, NSYNTH_NOTES)
    with pytest.warns(DataWarning, match=r"1 note\(s\) .*examples\.json.*synth_lead: 1.*classes=all"):
        task = nsynth.load_nsynth(tmp_path)
    assert [it.id for it in task.items] == ["bass_synthetic_068-049-025", "vocal_acoustic_000-060-075"]
    assert task.coverage["dropped_notes"] == 1 and task.coverage["dropped_families"] == {"synth_lead": 1}
    assert task.coverage["listed"] == 2 and task.coverage["unlisted"] == 0  # its audio is not "unlisted"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        every = nsynth.load_nsynth(tmp_path, classes="all")
    assert len(every.items) == 3 and every.coverage["dropped_notes"] == 0


def test_nsynth_classes_option_is_checked(tmp_path):
    nsynth_layout(tmp_path, NSYNTH_NOTES)
    with pytest.raises(ValueError, match=r"classes='ten': expected 'test' .* or 'all'"):
        nsynth.load_nsynth(tmp_path, classes="ten")
    with pytest.raises(ValueError, match=r"classes='ten'"):
        nsynth.label_names(classes="ten")


def test_label_names_pass_task_options_through():
    from zsbench.tasks.metadata import label_names

    assert label_names("nsynth") == nsynth.label_names() and len(label_names("nsynth")) == 10
    assert label_names("nsynth", classes="all") == nsynth.label_names(classes="all")
    assert len(label_names("nsynth", classes="all")) == 11 and "synth lead" in label_names("nsynth", classes="all")
    with pytest.raises(ValueError, match=r"task 'esc50': option\(s\) classes do not choose its labels"):
        label_names("esc50", classes="all")
    with pytest.raises(ValueError, match="no fixed label list"):
        label_names("folder")


def test_nsynth_bank_covers_both_class_sets():
    from zsbench.prompt_strategies.bank import load_bank

    bank = set(load_bank("nsynth").labels)
    assert bank == set(nsynth.label_names(classes="all")) and bank > set(nsynth.label_names())


def test_cochlscene_scenes(shared, tmp_path):
    official = (data(shared, "cochlscene") / "labels.txt").read_text().split()
    test_dir = tmp_path / "CochlScene/Test"
    for scene in official:
        (test_dir / scene).mkdir(parents=True)
    touch(test_dir / "ResidentialArea/ResidentialArea_user0001_1.wav", test_dir / "Bus/Bus_user0002_1.wav")
    task = cochlscene.load_cochlscene(tmp_path)
    assert task.raw_labels == official and len(task.labels) == 13
    assert "residential area" in task.labels and "subway station" in task.labels
    assert sorted(task.labels[it.targets[0]] for it in task.items) == ["bus", "residential area"]
    shutil.rmtree(test_dir / "Bus")
    with pytest.raises(MissingAudioError, match="Bus"):
        cochlscene.load_cochlscene(tmp_path)
    touch(test_dir / "stray.wav")
    with pytest.warns(DataWarning):
        task = cochlscene.load_cochlscene(tmp_path, allow_missing=True)
    assert task.coverage["missing_scenes"] == ["Bus"] and task.coverage["unlisted"] == 1
    (test_dir / "Kitchenn").mkdir()
    with pytest.raises(MetadataError, match="Kitchenn"):
        cochlscene.read_metadata(tmp_path)


# ---------------------------------------------------------------------------------------------
# ESC-50 end to end on the real fold-4 clips
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def esc50_root(esc50_clips, shared, tmp_path_factory) -> Path:
    """The official layout, with fold 4's 400 clips decoded back to 44.1 kHz 16-bit wav."""
    import soundfile as sf

    root = tmp_path_factory.mktemp("esc50")
    (root / "audio").mkdir()
    (root / "meta").mkdir()
    shutil.copy(data(shared, "esc50") / "meta/esc50.csv", root / "meta/esc50.csv")
    for clip in esc50_clips:
        audio, rate = sf.read(clip, dtype="int16")
        assert rate == 44100
        sf.write(root / "audio" / f"{clip.stem}.wav", audio, rate, subtype="PCM_16")
    return root


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("embedding-cache"))


@pytest.mark.slow
def test_esc50_end_to_end_fold4(esc50_root, shared_cache):
    import zsbench

    rec = zsbench.evaluate(model="demo", task="esc50", data_root=str(esc50_root), task_options={"folds": "4"},
                           workers=0, cache_dir=shared_cache).record
    assert rec.task["n_scored"] == 400 and rec.task["params"] == {"folds": [4]}
    assert rec.task["coverage"]["found"] == rec.task["coverage"]["listed"] == 400
    assert len(rec.metrics["per_class"]) == 50


def test_esc50_all_folds_names_the_missing_files(esc50_root):
    with pytest.raises(MissingAudioError) as err:
        esc50.load_esc50(esc50_root)
    message = str(err.value)
    assert "1600 of the 2000" in message and "allow_missing=true" in message
    assert "1-100032-A-0.wav" in message  # names the first few


@pytest.mark.slow
def test_esc50_allow_missing_scores_what_is_present(esc50_root, shared_cache):
    import zsbench

    with pytest.warns(DataWarning, match="400 of 2000"):
        rec = zsbench.evaluate(model="demo", task="esc50", data_root=str(esc50_root),
                               task_options={"allow_missing": True}, workers=0, cache_dir=shared_cache).record
    assert rec.task["n_scored"] == 400
    assert rec.task["coverage"]["found"] == 400 and rec.task["coverage"]["listed"] == 2000
    assert rec.task["params"] == {"folds": [1, 2, 3, 4, 5], "allow_missing": True}


def test_data_verify_counts_checksums_and_headers(esc50_root):
    """`zsbench data verify` through its entry point: 400 of 2000 present, metadata md5 ok."""
    import subprocess
    import sys

    zsb = Path(sys.executable).parent / "zsbench"
    proc = subprocess.run([str(zsb), "data", "verify", "esc50", "--data-root", str(esc50_root)],
                          capture_output=True, text=True, timeout=300)
    out = " ".join(proc.stdout.split())
    assert proc.returncode == 1  # clips are missing: not a clean copy
    assert "400 of 2000 listed clips present" in out and "meta/esc50.csv: ok" in out
    assert "1600 of 2000 listed clips are missing" in out


def test_data_verify_finds_unreadable_audio(tmp_path):
    import numpy as np
    import soundfile as sf

    from zsbench.data.datasets import verify

    root = esc_layout(tmp_path, ["1-1-A-0.wav,1,0,dog,True,1,A", "1-2-A-0.wav,1,0,dog,True,2,A"], [])
    (root / "audio").mkdir()
    sf.write(root / "audio" / "1-1-A-0.wav", np.zeros(4410, np.float32), 44100)
    (root / "audio" / "1-2-A-0.wav").write_bytes(b"RIFF not really")
    report = verify("esc50", catalog.source("esc50"), root)
    assert report.listed == report.present == 2 and not report.ok
    assert len(report.unreadable) == 1 and "1-2-A-0.wav" in report.unreadable[0]
    assert report.checksums["meta/esc50.csv"].startswith("md5 ")  # not the official file


# ---------------------------------------------------------------------------------------------
# Retrieval
# ---------------------------------------------------------------------------------------------

def test_clotho_retrieval_task(shared, tmp_path):
    import numpy as np
    import soundfile as sf

    shutil.copy(data(shared, "clotho") / "fixture_1row/clotho_captions_evaluation.csv", tmp_path)
    (tmp_path / "evaluation").mkdir()
    sf.write(tmp_path / "evaluation/Santa Motor.wav", np.zeros(4410, dtype=np.float32), 44100, subtype="PCM_16")
    task = clotho.load_clotho(tmp_path)
    assert task.meta.metric == "retrieval" and [it.id for it in task.items] == ["Santa Motor.wav"]
    assert len(task.captions) == 5 and task.caption_item == [0] * 5
    assert task.captions[4] == "While rhythmically punching or stamping, a machine whines and squeals."
    assert task.coverage == {"listed": 1, "found": 1, "missing": 0, "unlisted": 0}


def test_audiocaps_partial_copy_keeps_captions_of_present_clips(shared, tmp_path):
    rows = (data(shared, "audiocaps") / "dataset/test.csv").read_text(encoding="utf-8").splitlines()
    write(tmp_path / "dataset/test.csv", "\n".join(rows[:11]) + "\n")  # 10 captions
    md = audiocaps.read_metadata(tmp_path)
    touch(tmp_path / "audio/test" / f"{md.entries[2].id}.flac")
    with pytest.warns(DataWarning, match="1 of 10"):
        task = audiocaps.load_audiocaps(tmp_path)
    assert [it.id for it in task.items] == [md.entries[2].id] and task.items[0].path.suffix == ".flac"
    assert task.captions == [md.captions[2]] and task.caption_item == [0]
    assert task.coverage["found"] == 1 and task.coverage["listed"] == 10


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------

ESC_HEADER = "filename,fold,target,category,esc10,src_file,take\n"


def esc_layout(root: Path, rows: list[str], audio: list[str]) -> Path:
    write(root / "meta/esc50.csv", ESC_HEADER + "".join(r + "\n" for r in rows))
    touch(*(root / "audio" / name for name in audio))
    return root


def test_missing_column_names_file_and_column(tmp_path):
    write(tmp_path / "meta/esc50.csv", "filename,fold,target,esc10\n1-1-A-0.wav,1,0,True\n")
    with pytest.raises(MetadataError, match=r"esc50\.csv: missing column\(s\) 'category'"):
        esc50.read_metadata(tmp_path)


def test_unknown_label_names_file_line_and_label(tmp_path):
    gt = tmp_path / "FSD50K.ground_truth"
    write(gt / "vocabulary.csv", "0,Accordion,/m/0mkg\n1,Bark,/m/05tny_\n")
    write(gt / "eval.csv", 'fname,labels,mids\n1,Bark,/m/05tny_\n2,"Accordion,Meow",/m/0mkg\n')
    with pytest.raises(MetadataError, match=r"eval\.csv, line 3: unknown label 'Meow'"):
        fsd50k.read_metadata(tmp_path)
    # ESC-50 has no separate vocabulary: a category that contradicts its target is the unknown label
    esc_layout(tmp_path, ["1-1-A-0.wav,1,0,dog,True,1,A", "1-2-A-0.wav,1,0,cat,False,2,A"], [])
    with pytest.raises(MetadataError, match=r"esc50\.csv, line 3: unknown label 'cat' for target 0"):
        esc50.read_metadata(tmp_path)


def test_duplicated_clip_names_file_and_lines(tmp_path):
    esc_layout(tmp_path, ["1-1-A-0.wav,1,0,dog,True,1,A", "1-2-A-1.wav,1,1,rooster,False,2,A",
                          "1-1-A-0.wav,2,0,dog,True,1,A"], [])
    with pytest.raises(MetadataError, match=r"esc50\.csv, line 4: duplicated clip '1-1-A-0.wav'.*line 2"):
        esc50.read_metadata(tmp_path)


def test_listed_audio_missing_is_an_error_unless_allowed(tmp_path):
    esc_layout(tmp_path, ["1-1-A-0.wav,1,0,dog,True,1,A", "2-2-A-1.wav,2,1,rooster,False,2,A"], ["1-1-A-0.wav"])
    with pytest.raises(MissingAudioError, match=r"1 of the 2 .*\n  - .*2-2-A-1\.wav"):
        esc50.load_esc50(tmp_path)
    with pytest.warns(DataWarning, match="1 of 2 listed clips found"):
        task = esc50.load_esc50(tmp_path, allow_missing=True)
    assert [it.id for it in task.items] == ["1-1-A-0.wav"]
    assert task.coverage["found"] == 1 and task.coverage["listed"] == 2 and task.params["allow_missing"] is True
    assert esc50.load_esc50(tmp_path, folds=1).params == {"folds": [1]}  # fold 1 is complete
    with pytest.raises(ValueError, match="valid folds are 1, 2, 3, 4, 5"):
        esc50.load_esc50(tmp_path, folds="6")


def test_unlisted_audio_is_warned_about_and_not_scored(tmp_path):
    esc_layout(tmp_path, ["1-1-A-0.wav,1,0,dog,True,1,A"], ["1-1-A-0.wav", "extra.wav", "notes.txt"])
    with pytest.warns(DataWarning, match="1 audio file.*not listed.*extra.wav"):
        task = esc50.load_esc50(tmp_path)
    assert [it.id for it in task.items] == ["1-1-A-0.wav"]
    assert task.coverage["unlisted"] == 1 and task.coverage["unlisted_examples"][0].endswith("extra.wav")


def test_wrong_dataset_root_says_which_file_was_not_found(shared):
    with pytest.raises(MissingDataError) as err:
        esc50.load_esc50(data(shared, "urbansound8k"))
    assert str(data(shared, "urbansound8k") / "meta" / "esc50.csv") in str(err.value)
    assert "zsbench data download esc50" in str(err.value)
    with pytest.raises(MissingDataError, match=r"vocabulary\.csv"):
        fsd50k.load_fsd50k(data(shared, "esc50"))


def test_vggsound_partial_root_reports_coverage(tmp_path):
    write(tmp_path / "test.csv", "aaaaaaaaaaa_000010.mp4,dog barking\nbbbbbbbbbbb_000000.mp4,\"donkey, ass braying\"\n"
                                 "ccccccccccc_000030.mp4,playing hammond organ\n")
    touch(tmp_path / "audio/aaaaaaaaaaa_000010.wav", tmp_path / "audio/ccccccccccc_000030.flac")
    with pytest.warns(DataWarning, match="2 of 3 listed clips found"):
        task = vggsound.load_vggsound(tmp_path)
    assert [it.id for it in task.items] == ["aaaaaaaaaaa_000010", "ccccccccccc_000030"]
    assert task.labels[task.items[0].targets[0]] == "dog barking"
    assert task.coverage["found"] == 2 and task.coverage["listed"] == 3 and task.coverage["missing"] == 1
    with pytest.raises(MissingAudioError, match=r"1 of the 3 audio files .*(?s:.*)Pass allow_missing=true"):
        vggsound.load_vggsound(tmp_path, allow_missing=False)
    with pytest.raises(MissingAudioError):
        vggsound.load_vggsound(tmp_path, allow_missing="false")  # as --task-option gives it
    assert "allow_missing" not in task.params  # scoring what is present is this task's default
    write(tmp_path / "test.csv", "aaaaaaaaaaa_000010.mp4,dog barking\nbbbbbbbbbbb_000000.mp4,dog barkin\n")
    with pytest.raises(MetadataError, match=r"test\.csv, line 2: unknown label 'dog barkin'"):
        vggsound.read_metadata(tmp_path)


# ---------------------------------------------------------------------------------------------
# One partial-data policy: allow_missing, its default from TaskMeta.partial_data
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("task_id", TASK_IDS)
def test_every_task_takes_allow_missing_with_its_default_from_the_meta(task_id):
    import inspect

    params = inspect.signature(TASKS.get(task_id)).parameters
    assert "allow_missing" in params and params["allow_missing"].default is None  # None: the task's default
    assert "require_all" not in params  # one name only
    assert catalog.meta(task_id).partial_data == ("score-present" if task_id in YOUTUBE_TASKS else "refuse")


def test_allows_missing_is_one_rule_for_both_kinds_of_task():
    from zsbench.tasks.metadata import allows_missing
    from zsbench.tasks.base import TaskMeta

    assert allows_missing(vggsound.META) is True and allows_missing(esc50.META) is False
    for value, expected in [(True, True), ("true", True), ("1", True), (False, False), ("false", False), ("no", False)]:
        assert allows_missing(vggsound.META, value) is expected and allows_missing(esc50.META, value) is expected
    with pytest.raises(ValueError, match=r"allow_missing='maybe': expected true or false"):
        allows_missing(esc50.META, "maybe")
    with pytest.raises(ValueError, match=r"task x: partial_data 'sometimes'"):
        TaskMeta(id="x", version="1", description="", metric="accuracy", partial_data="sometimes")


def test_archive_and_youtube_defaults_and_overrides_through_the_loaders(tmp_path):
    esc = esc_layout(tmp_path / "esc", ["1-1-A-0.wav,1,0,dog,True,1,A", "2-2-A-1.wav,2,1,rooster,False,2,A"],
                     ["1-1-A-0.wav"])
    with pytest.raises(MissingAudioError, match="allow_missing=true"):  # archive: refuses by default
        esc50.load_esc50(esc)
    with pytest.warns(DataWarning):
        task = esc50.load_esc50(esc, allow_missing="true")  # as --task-option allow_missing=true gives it
    assert len(task.items) == 1 and task.params["allow_missing"] is True
    yt = tmp_path / "yt"
    write(yt / "dataset/test.csv", "audiocap_id,youtube_id,start_time,caption\n1,aaaaaaaaaaa,0,a dog\n"
                                   "2,bbbbbbbbbbb,0,a cat\n")
    touch(yt / "audio/test/aaaaaaaaaaa.wav")
    with pytest.warns(DataWarning, match="1 of 2"):  # YouTube: scores what is present by default
        task = audiocaps.load_audiocaps(yt)
    assert len(task.items) == 1 and "allow_missing" not in task.params
    with pytest.raises(MissingAudioError, match="allow_missing=true"):
        audiocaps.load_audiocaps(yt, allow_missing="false")


# ---------------------------------------------------------------------------------------------
# TUT Acoustic Scenes 2017
# ---------------------------------------------------------------------------------------------

TUT17_DEV = "TUT-acoustic-scenes-2017-development"
TUT17_EVAL = "TUT-acoustic-scenes-2017-evaluation"
TUT17_CLIPS = {"audio/b020_90_100.wav": "beach", "audio/a001_10_20.wav": "residential_area",
               "audio/c001_0_10.wav": "cafe/restaurant", "audio/b003_0_10.wav": "city_center"}
TUT17_EVAL_CLIPS = {"audio/1.wav": "tram", "audio/2.wav": "cafe/restaurant", "audio/3.wav": "forest_path"}


def short_wav(path: Path, seed: int) -> None:
    import numpy as np
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.random.default_rng(seed).normal(0, 0.1, 4410).astype(np.float32), 44100, subtype="PCM_16")


def tut2017_tree(root: Path) -> Path:
    """The official layout of both sets (meta.txt, fold-1 evaluate list), with short generated wavs."""
    dev = root / TUT17_DEV
    write(dev / "meta.txt", "".join(f"{n}\t{s}\t{n[6:10]}\n" for n, s in TUT17_CLIPS.items()))
    write(dev / "evaluation_setup/fold1_evaluate.txt", "audio/c001_0_10.wav\tcafe/restaurant\n"
                                                       "audio/b003_0_10.wav\tcity_center\n")
    write(dev / "evaluation_setup/fold1_train.txt", "audio/b020_90_100.wav\tbeach\naudio/a001_10_20.wav\t"
                                                    "residential_area\n")
    evaluation = root / TUT17_EVAL
    write(evaluation / "meta.txt", "".join(f"{n}\t{s}\r\n" for n, s in TUT17_EVAL_CLIPS.items()))  # CRLF
    for k, name in enumerate([*TUT17_CLIPS, *TUT17_EVAL_CLIPS]):
        short_wav((dev if k < len(TUT17_CLIPS) else evaluation) / name, k)
    return root


def test_tut2017_development_fold1_by_default(tmp_path):
    tut2017_tree(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the fold's other clips are listed in meta.txt: no warning
        task = tut2017.load_tut2017(tmp_path)
    assert [it.id for it in task.items] == ["audio/c001_0_10.wav", "audio/b003_0_10.wav"]
    assert [task.labels[it.targets[0]] for it in task.items] == ["cafe/restaurant", "city center"]
    assert task.labels == tut2017.label_names() and len(task.labels) == 15
    assert task.params == {"split": "development", "fold": 1} and task.meta.id == "tut2017"
    assert task.coverage == {"listed": 2, "found": 2, "missing": 0, "unlisted": 0}
    same = tut2017.load_tut2017(tmp_path / TUT17_DEV)  # the set's folder itself as the root
    assert [it.path for it in same.items] == [it.path for it in task.items]


def test_tut2017_evaluation_set(tmp_path):
    tut2017_tree(tmp_path)
    task = tut2017.load_tut2017(tmp_path, split="evaluation")
    assert [it.id for it in task.items] == list(TUT17_EVAL_CLIPS)
    assert [task.labels[it.targets[0]] for it in task.items] == ["tram", "cafe/restaurant", "forest path"]
    assert task.params == {"split": "evaluation"}
    assert tut2017.load_tut2017(tmp_path, split="eval").params == {"split": "evaluation"}
    with pytest.raises(ValueError, match=r"split='test': expected 'development' .* or 'evaluation'"):
        tut2017.load_tut2017(tmp_path, split="test")


def test_tut2017_unknown_or_contradicting_scene_names_file_and_line(tmp_path):
    tut2017_tree(tmp_path)
    dev = tmp_path / TUT17_DEV
    write(dev / "evaluation_setup/fold1_evaluate.txt", "audio/c001_0_10.wav\tcafe/restaurant\n"
                                                       "audio/b003_0_10.wav\tcity centre\n")
    with pytest.raises(MetadataError, match=r"fold1_evaluate\.txt, line 2: unknown label 'city centre' \(not one of "
                                            r"the 15 labels of labels/tut2017\.json\)"):
        tut2017.load_tut2017(tmp_path)
    write(dev / "evaluation_setup/fold1_evaluate.txt", "audio/c001_0_10.wav\tbeach\n")
    with pytest.raises(MetadataError, match=r"fold1_evaluate\.txt, line 1: audio/c001_0_10\.wav is 'beach' here but "
                                            r"'cafe/restaurant' in .*meta\.txt, line 3"):
        tut2017.load_tut2017(tmp_path)
    write(dev / "evaluation_setup/fold1_evaluate.txt", "audio/zzz.wav\tbeach\n")
    with pytest.raises(MetadataError, match=r"fold1_evaluate\.txt, line 1: audio/zzz\.wav is not listed in"):
        tut2017.load_tut2017(tmp_path)
    write(dev / "evaluation_setup/fold1_evaluate.txt", "audio/c001_0_10.wav\n")
    with pytest.raises(MetadataError, match=r"fold1_evaluate\.txt, line 1: no value for column\(s\) 'scene_label'"):
        tut2017.load_tut2017(tmp_path)
    write(tmp_path / TUT17_EVAL / "meta.txt", "audio/1.wav\ttram\r\naudio/2.wav\tairport\r\n")
    with pytest.raises(MetadataError, match=rf"{TUT17_EVAL}.meta\.txt, line 2: unknown label 'airport'"):
        tut2017.load_tut2017(tmp_path, split="evaluation")


def test_tut2017_missing_data_and_clips(tmp_path):
    with pytest.raises(MissingDataError) as err:
        tut2017.load_tut2017(tmp_path)
    assert "fold1_evaluate.txt" in str(err.value) and "zsbench data download tut2017" in str(err.value)
    tut2017_tree(tmp_path)
    (tmp_path / TUT17_DEV / "audio/b003_0_10.wav").unlink()
    with pytest.raises(MissingAudioError, match=r"1 of the 2 audio files(?s:.*)b003_0_10\.wav(?s:.*)allow_missing=true"):
        tut2017.load_tut2017(tmp_path)
    with pytest.warns(DataWarning, match="1 of 2 listed clips found"):
        task = tut2017.load_tut2017(tmp_path, allow_missing=True)
    assert task.params["allow_missing"] is True and len(task.items) == 1


def test_tut2017_labels_bank_and_registration():
    from typer.testing import CliRunner

    from zsbench.cli.main import app
    from zsbench.prompt_strategies.bank import load_bank
    from zsbench.tasks.metadata import label_names

    assert label_names("tut2017") == list(load_bank("tut2017").labels)  # the shipped bank's 15 labels
    assert "cafe/restaurant" in label_names("tut2017") and "city center" in label_names("tut2017")
    assert "tut2017" in tut.__doc__  # tut2018 keeps the paper's column and points at the 2017 task
    listing = CliRunner().invoke(app, ["tasks"])
    assert listing.exit_code == 0 and "tut2017" in listing.output and "TUT Acoustic Scenes 2017" in listing.output


def test_tut2017_labels_are_reclaps_tut_txt(shared):
    from zsbench.tasks import metadata

    assert metadata.load_sidecar("tut2017")["scenes"] == reclap(shared, "tut.txt")  # same names, same order


# ---------------------------------------------------------------------------------------------
# The folder task
# ---------------------------------------------------------------------------------------------

def test_folder_with_one_label_warns_that_accuracy_is_trivial(tmp_path):
    from zsbench.tasks.folder import SingleLabelWarning, load_folder

    touch(tmp_path / "tree/dog/a.wav", tmp_path / "tree/dog/b.flac")
    with pytest.warns(SingleLabelWarning, match=r"only one label \('dog'\).*trivially 100 %"):
        task = load_folder(tmp_path / "tree")
    assert task.labels == ["dog"] and len(task.items) == 2
    table = write(tmp_path / "one.csv", f"{tmp_path}/tree/dog/a.wav,dog\n{tmp_path}/tree/dog/b.flac,dog\n")
    with pytest.warns(SingleLabelWarning, match=r"one\.csv has only one label"):
        load_folder(table)
    touch(tmp_path / "tree/cat/c.wav")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_folder(tmp_path / "tree").labels == ["cat", "dog"]


def test_empty_folder_names_every_accepted_extension(tmp_path):
    from zsbench.tasks.folder import AUDIO_SUFFIXES, load_folder

    (tmp_path / "empty").mkdir()
    touch(tmp_path / "empty/dog/notes.txt")
    with pytest.raises(MissingDataError) as err:
        load_folder(tmp_path / "empty")
    message = str(err.value)
    assert all(f"*{suffix}" in message for suffix in AUDIO_SUFFIXES) and len(AUDIO_SUFFIXES) >= 6
    assert str(tmp_path / "empty") in message and "subfolder named after the class" in message
    touch(tmp_path / "empty/loose.wav")
    with pytest.raises(MissingDataError, match=r"1 audio file\(s\) lie directly in .*loose\.wav"):
        load_folder(tmp_path / "empty")


def test_audio_file_as_data_root_says_what_data_root_expects(tmp_path):
    from zsbench.tasks.folder import load_folder

    clip = tmp_path / "bark.wav"
    short_wav(clip, 0)
    with pytest.raises(ValueError) as err:
        load_folder(clip)
    message = str(err.value)
    assert f"{clip} is an audio file" in message and "--data-root" in message and "<label>" in message
    assert "UTF-8" not in message
    disguised = tmp_path / "clips.csv"  # audio, whatever its name says
    disguised.write_bytes(clip.read_bytes())
    with pytest.raises(ValueError, match=r"clips\.csv is an audio file"):
        load_folder(disguised)
    flac = tmp_path / "bark.data"
    import soundfile as sf

    sf.write(flac, sf.read(clip)[0], 44100, format="FLAC")
    with pytest.raises(ValueError, match=r"bark\.data is an audio file"):
        load_folder(flac)
    text = write(tmp_path / "riff.csv", f"RIFF{clip},dog\n{clip},cat\n")  # text that starts like a WAV: a CSV
    assert load_folder(text).labels == ["cat", "dog"]
