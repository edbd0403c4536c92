"""Dataset download and extraction against a local HTTP server serving archives built here."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from zsbench.data import download
from zsbench.data.datasets import Archive, CorruptArchive, DatasetSource, download_dataset, extract
from zsbench.data.download import DownloadError


class Files(BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    drop_once: set[str] = set()  # paths whose first response is cut halfway
    served: list[str] = []

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        name = self.path.lstrip("/")
        self.served.append(self.headers.get("Range") or "full")
        body = self.files.get(name)
        if body is None:
            self.send_error(404)
            return
        start = int(self.headers["Range"][6:].split("-")[0]) if self.headers.get("Range") else 0
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(body) - start))
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.end_headers()
        if name in self.drop_once:
            self.drop_once.discard(name)
            self.wfile.write(body[start:start + (len(body) - start) // 2])
            self.wfile.flush()
            self.connection.close()
            return
        self.wfile.write(body[start:])


@pytest.fixture
def server(monkeypatch):
    Files.files, Files.drop_once, Files.served = {}, set(), []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Files)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    monkeypatch.setattr(download, "BACKOFF_S", 0.0)
    monkeypatch.setattr(download, "TIMEOUT_S", 5.0)
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def a_zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_download_verify_extract_and_strip(server, tmp_path):
    archive = a_zip({"Top/meta/x.csv": b"a,b\n", "Top/audio/1.wav": b"RIFF" * 1000})
    Files.files["x.zip"] = archive
    source = DatasetSource(archives=(Archive(f"{server}/x.zip", md5=md5(archive)),), strip="Top")
    root = download_dataset("fake", source, tmp_path / "data")
    assert (root / "meta" / "x.csv").read_bytes() == b"a,b\n" and not (root / "Top").exists()
    served = len(Files.served)
    download_dataset("fake", source, tmp_path / "data")  # finished: nothing fetched again
    assert len(Files.served) == served


def test_interrupted_transfer_resumes(server, tmp_path):
    archive = a_zip({f"f{i}.bin": bytes(range(256)) * 400 for i in range(5)})
    Files.files["big.zip"] = archive
    Files.drop_once.add("big.zip")
    root = download_dataset("fake", DatasetSource(archives=(Archive(f"{server}/big.zip", md5=md5(archive)),)),
                            tmp_path)
    assert Files.served[0] == "full" and Files.served[1].startswith("bytes=")
    assert (root / "f4.bin").read_bytes() == bytes(range(256)) * 400


def test_checksum_mismatch_extracts_nothing(server, tmp_path):
    Files.files["x.zip"] = a_zip({"a.txt": b"tampered"})
    source = DatasetSource(archives=(Archive(f"{server}/x.zip", md5="0" * 32),))
    with pytest.raises(DownloadError, match="md5 expected 0{32}, got") as err:
        download_dataset("fake", source, tmp_path)
    assert "zsbench data download fake" in str(err.value)
    assert not (tmp_path / "a.txt").exists()
    assert not (tmp_path / ".downloads" / "x.zip").exists() and not (tmp_path / ".downloads" / "x.zip.part").exists()


def test_corrupt_archive_says_what_to_do(server, tmp_path):
    bad = a_zip({"a.txt": b"x" * 1000})[:-40]  # cut the central directory
    Files.files["x.zip"] = bad
    with pytest.raises(CorruptArchive, match="corrupt or incomplete archive.*re-run"):
        download_dataset("fake", DatasetSource(archives=(Archive(f"{server}/x.zip", md5=md5(bad)),)), tmp_path)


def test_missing_file_on_server(server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404.*Download it yourself into"):
        download_dataset("fake", DatasetSource(archives=(Archive(f"{server}/nope.zip"),)), tmp_path)


def test_unsafe_members_are_refused(tmp_path):
    evil = tmp_path / "evil.zip"
    evil.write_bytes(a_zip({"../outside.txt": b"x"}))
    with pytest.raises(CorruptArchive, match="outside the extraction folder"):
        extract(evil, tmp_path / "dest")
    assert not (tmp_path / "outside.txt").exists()
    tar = tmp_path / "evil.tar.gz"
    with tarfile.open(tar, "w:gz") as t:
        info = tarfile.TarInfo("../../outside2.txt")
        info.size = 1
        t.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(CorruptArchive):
        extract(tar, tmp_path / "dest")


def test_tar_and_plain_files(tmp_path):
    tar = tmp_path / "a.tar.gz"
    with tarfile.open(tar, "w:gz") as t:
        info = tarfile.TarInfo("nsynth-test/examples.json")
        info.size = 2
        t.addfile(info, io.BytesIO(b"{}"))
    extract(tar, tmp_path / "d")
    assert (tmp_path / "d" / "nsynth-test" / "examples.json").read_bytes() == b"{}"
    csv = tmp_path / "captions.csv"
    csv.write_text("file_name,caption_1\n")
    extract(csv, tmp_path / "d")
    assert (tmp_path / "d" / "captions.csv").exists()


@pytest.mark.skipif(shutil.which("zip") is None, reason="Info-ZIP `zip` is needed to build a real split archive")
def test_split_zip_like_fsd50k(server, tmp_path):
    """FSD50K's eval audio is a split zip (.z01 + .zip) as Info-ZIP writes it."""
    src = tmp_path / "src" / "FSD50K.eval_audio"
    src.mkdir(parents=True)
    payload = {f"{i}.wav": bytes(range(256)) * (300 + i) for i in range(4)}
    for name, data in payload.items():
        (src / name).write_bytes(data)
    (tmp_path / "split").mkdir()
    subprocess.run(["zip", "-q", "-r", "-0", "-s", "64k", str(tmp_path / "split" / "e.zip"), "FSD50K.eval_audio"],
                   cwd=src.parent, check=True, capture_output=True)
    parts = sorted((tmp_path / "split").glob("e.z[0-9]*"))
    assert len(parts) >= 2, "the test archive should span several parts"
    for p in [*parts, tmp_path / "split" / "e.zip"]:
        Files.files[p.name] = p.read_bytes()
    archive = Archive(f"{server}/e.zip", md5=md5(Files.files["e.zip"]),
                      parts=tuple(Archive(f"{server}/{p.name}", md5=md5(Files.files[p.name])) for p in parts))
    root = download_dataset("fake", DatasetSource(archives=(archive,)), tmp_path / "data")
    for name, data in payload.items():
        assert (root / "FSD50K.eval_audio" / name).read_bytes() == data


def test_sources_are_well_formed():
    from zsbench.tasks import catalog

    for task, source in catalog.SOURCES.items():
        assert source.archives or source.manual or source.zenodo, task
        for a in source.archives:
            assert a.url.startswith(("https://", "http://")) and a.filename
            assert a.md5 is None or len(a.md5) == 32
    assert catalog.source("esc50").checks["meta/esc50.csv"] == "54a0d0055a10bb7df84ad340a148722e"


def test_esc50_metadata_checksum_matches_the_real_file(shared):
    from zsbench.tasks import catalog

    real = shared / "data" / "esc50" / "meta" / "esc50.csv"
    assert download.file_digest(real, "md5") == catalog.source("esc50").checks["meta/esc50.csv"]
    clotho = shared / "data" / "clotho" / "clotho_captions_evaluation.csv"
    assert download.file_digest(clotho, "md5") == catalog.source("clotho").checks["clotho_captions_evaluation.csv"]


def zenodo_listing(server: str, names: list[str], md5s: dict[str, str]) -> bytes:
    """The shape of Zenodo's ``/api/records/<id>`` answer (InvenioRDM): files with key, md5, link."""
    import json

    return json.dumps({"id": 1, "files": [
        {"key": n, "size": len(Files.files[n]), "checksum": f"md5:{md5s[n]}",
         "links": {"self": f"{server}/api/records/1/files/{n}/content"}} for n in names]}).encode()


def test_cochlscene_split_zip_from_zenodo_api(server, tmp_path):
    """CochlScene's source lists its parts through Zenodo's API; the md5s come from there, the
    parts are joined in order, and the extracted release loads as the task."""
    import dataclasses
    import json

    import numpy as np
    import soundfile as sf

    from zsbench.tasks import cochlscene
    from zsbench.tasks import catalog

    src = tmp_path / "src"
    for k, scene in enumerate(["Bus", "Cafe", "Park"]):
        folder = src / "CochlScene" / "Test" / scene
        folder.mkdir(parents=True)
        for j in range(2):
            noise = np.random.default_rng(10 * k + j).normal(0, 0.1, 44100).astype(np.float32)
            sf.write(folder / f"{scene}_user{k:04d}_{j}.wav", noise, 44100)
    (tmp_path / "split").mkdir()
    subprocess.run(["zip", "-q", "-r", "-0", "-s", "64k", str(tmp_path / "split" / "CochlScene.zip"), "CochlScene"],
                   cwd=src, check=True, capture_output=True)
    names = sorted(p.name for p in (tmp_path / "split").iterdir())
    assert len(names) >= 3, "the test archive should span several parts"
    for n in names:
        Files.files[f"api/records/1/files/{n}/content"] = Files.files[n] = (tmp_path / "split" / n).read_bytes()
    md5s = {n: md5(Files.files[n]) for n in names}
    record = dataclasses.replace(catalog.source("cochlscene").zenodo, api=f"{server}/api/records", record="1")
    source = dataclasses.replace(catalog.source("cochlscene"), zenodo=record)

    bad = dict(md5s, **{names[0]: "0" * 32})  # the API's md5 disagrees with the file served
    Files.files["api/records/1"] = zenodo_listing(server, names, bad)
    with pytest.raises(DownloadError, match="corrupt or not the expected one"):
        download_dataset("cochlscene", source, tmp_path / "bad")

    Files.files["api/records/1"] = zenodo_listing(server, names, md5s)
    root = download_dataset("cochlscene", source, tmp_path / "data")
    task = cochlscene.load_cochlscene(data_root=root, allow_missing=True)
    assert len(task.items) == 6 and {task.labels[i.targets[0]] for i in task.items} == {"bus", "cafe", "park"}
    assert json.loads((root / ".downloads" / "zenodo-1.json").read_text())["files"]


def test_zenodo_listing_without_md5_is_refused():
    from zsbench.data.datasets import ZenodoRecord

    record = ZenodoRecord("9", ("*.zip",))
    with pytest.raises(ValueError, match="no download link or md5"):
        record.archives({"files": [{"key": "a.zip", "links": {"self": "http://x/a.zip"}}]})
    with pytest.raises(ValueError, match="lists no file matching"):
        record.archives({"files": [{"key": "readme.txt", "checksum": "md5:" + "0" * 32, "links": {"self": "x"}}]})


def test_zenodo_parts_without_their_zip_and_a_garbled_listing_are_refused(server, tmp_path):
    import dataclasses

    from zsbench.data.datasets import ZenodoRecord

    entry = {"key": "x.z01", "checksum": "md5:" + "0" * 32, "links": {"self": "http://x/x.z01"}}
    with pytest.raises(ValueError, match="have no .zip to join"):
        ZenodoRecord("9", ("x.*",)).archives({"files": [entry]})
    Files.files["api/records/9"] = b"<html>maintenance</html>"
    source = DatasetSource(zenodo=dataclasses.replace(ZenodoRecord("9"), api=f"{server}/api/records"))
    with pytest.raises(ValueError, match="^fake: Zenodo's file list .* was not JSON .* re-run later"):
        download_dataset("fake", source, tmp_path / "data")
    assert not (tmp_path / "data" / ".downloads" / "zenodo-9.json").exists()  # fetched again next time


# ---------------------------------------------------------------------------------------------
# ESC-50: verified by content (GitHub may regenerate archive/master.zip's bytes)
# ---------------------------------------------------------------------------------------------

ESC_ROWS = ["1-100032-A-0.wav,1,0,dog,True,100032,A", "1-100038-A-14.wav,1,14,chirping_birds,False,100038,A",
            "2-100648-A-43.wav,2,43,chainsaw,False,100648,A"]


def esc50_zip(rows: list[str] = ESC_ROWS, clips: list[str] | None = None, bad: str = "") -> tuple[bytes, bytes]:
    """(zip, metadata bytes): ESC-50's GitHub layout (ESC-50-master/...), with short real wavs."""
    import numpy as np
    import soundfile as sf

    meta = ("filename,fold,target,category,esc10,src_file,take\n" + "".join(r + "\n" for r in rows)).encode()
    members = {"ESC-50-master/meta/esc50.csv": meta, "ESC-50-master/README.md": b"# ESC-50\n"}
    for k, name in enumerate(clips if clips is not None else [r.split(",")[0] for r in rows]):
        buf = io.BytesIO()
        sf.write(buf, np.random.default_rng(k).normal(0, 0.1, 2205).astype(np.float32), 44100, format="WAV",
                 subtype="PCM_16")
        members[f"ESC-50-master/audio/{name}"] = b"RIFF not audio" if name == bad else buf.getvalue()
    return a_zip(members), meta


def esc50_source(server: str, archive_md5: str, meta_md5: str):
    import dataclasses

    from zsbench.tasks import catalog

    assert catalog.source("esc50").by_content and catalog.source("esc50").strip == "ESC-50-master"
    return dataclasses.replace(catalog.source("esc50"), archives=(Archive(f"{server}/master.zip", md5=archive_md5),),
                               checks={"meta/esc50.csv": meta_md5})


def test_esc50_archive_with_the_recorded_md5_is_checked_by_content_silently(server, tmp_path):
    import warnings

    from zsbench.tasks import esc50

    archive, meta = esc50_zip()
    Files.files["master.zip"] = archive
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same bytes as recorded: nothing to say
        root = download_dataset("esc50", esc50_source(server, md5(archive), md5(meta)), tmp_path / "data")
    assert (root / "meta" / "esc50.csv").read_bytes() == meta and not (root / "ESC-50-master").exists()
    assert len(esc50.load_esc50(root).items) == 3
    assert (root / ".downloads" / "master.zip.extracted").exists()


def test_esc50_archive_with_another_md5_is_reported_and_accepted_by_content(server, tmp_path):
    from zsbench.data.datasets import ArchiveChanged
    from zsbench.tasks import esc50

    archive, meta = esc50_zip()
    Files.files["master.zip"] = archive
    with pytest.warns(ArchiveChanged) as caught:
        root = download_dataset("esc50", esc50_source(server, "7771e4b9d86d0945acce719c7a59305a", md5(meta)),
                                tmp_path / "data")
    assert len(caught) == 1
    line = str(caught[0].message)
    assert "\n" not in line and "master.zip differs from the recorded one" in line and "verified by content" in line
    assert md5(archive) in line and "7771e4b9d86d0945acce719c7a59305a" in line
    assert len(esc50.load_esc50(root).items) == 3  # the copy is complete and kept


def test_esc50_content_that_fails_names_the_file_and_is_redone(server, tmp_path):
    from zsbench.data.datasets import ArchiveChanged
    from zsbench.tasks import esc50

    archive, meta = esc50_zip()
    Files.files["master.zip"] = archive
    with pytest.raises(CorruptArchive) as err:  # the metadata is not the one whose md5 is recorded
        download_dataset("esc50", esc50_source(server, md5(archive), "0" * 32), tmp_path / "a")
    message = str(err.value)
    assert str(tmp_path / "a" / "meta" / "esc50.csv") in message and f"md5 {md5(meta)}, expected {'0' * 32}" in message
    assert "re-run `zsbench data download esc50`" in message and str(tmp_path / "a" / ".downloads" / "master.zip") in message
    assert not (tmp_path / "a" / ".downloads" / "master.zip.extracted").exists()  # a re-run extracts and checks again

    archive, meta = esc50_zip(clips=[r.split(",")[0] for r in ESC_ROWS[:2]])  # one listed clip not in the archive
    Files.files["master.zip"] = archive
    with pytest.warns(ArchiveChanged), pytest.raises(CorruptArchive) as err:
        download_dataset("esc50", esc50_source(server, "1" * 32, md5(meta)), tmp_path / "b")
    assert "1 of 3 listed clips are missing" in str(err.value) and "2-100648-A-43.wav" in str(err.value)

    archive, meta = esc50_zip(bad="1-100038-A-14.wav")  # one clip that does not decode
    Files.files["master.zip"] = archive
    with pytest.raises(CorruptArchive, match=r"unreadable: .*1-100038-A-14\.wav"):
        download_dataset("esc50", esc50_source(server, md5(archive), md5(meta)), tmp_path / "c")
    assert len(esc50.load_esc50(tmp_path / "c").items) == 3  # on disk, but not a good copy


def test_other_sources_still_refuse_an_archive_with_another_md5(server, tmp_path):
    from zsbench.tasks import catalog

    assert [t for t, s in catalog.SOURCES.items() if s.by_content] == ["esc50"]
    archive, _ = esc50_zip()
    Files.files["x.zip"] = archive
    with pytest.raises(DownloadError, match="corrupt or not the expected one"):
        download_dataset("fake", DatasetSource(archives=(Archive(f"{server}/x.zip", md5="2" * 32),)), tmp_path)


# ---------------------------------------------------------------------------------------------
# TUT Acoustic Scenes 2017: two Zenodo records (development and evaluation sets)
# ---------------------------------------------------------------------------------------------

def test_tut2017_both_sets_from_zenodo_api(server, tmp_path):
    """tut2017 lists its files through Zenodo's API, for both records; the md5s come from there,
    and the extracted sets load as the task's two splits."""
    import dataclasses
    import json

    import numpy as np
    import soundfile as sf

    from zsbench.data.datasets import verify
    from zsbench.tasks import tut2017
    from zsbench.tasks import catalog

    def wav(seed: int) -> bytes:
        buf = io.BytesIO()
        sf.write(buf, np.random.default_rng(seed).normal(0, 0.1, 2205).astype(np.float32), 44100, format="WAV")
        return buf.getvalue()

    dev, ev = "TUT-acoustic-scenes-2017-development", "TUT-acoustic-scenes-2017-evaluation"
    zips = {
        f"{dev}.meta.zip": a_zip({f"{dev}/meta.txt": b"audio/b020_90_100.wav\tbeach\tb020\n"
                                                     b"audio/a001_10_20.wav\tcity_center\ta001\n",
                                  f"{dev}/evaluation_setup/fold1_evaluate.txt": b"audio/a001_10_20.wav\tcity_center\n"}),
        f"{dev}.audio.1.zip": a_zip({f"{dev}/audio/b020_90_100.wav": wav(0)}),
        f"{dev}.audio.2.zip": a_zip({f"{dev}/audio/a001_10_20.wav": wav(1)}),
        f"{dev}.doc.zip": b"not fetched",  # not matched by the source's patterns
        f"{ev}.meta.zip": a_zip({f"{ev}/meta.txt": b"audio/1.wav\tcafe/restaurant\r\naudio/2.wav\ttram\r\n"}),
        f"{ev}.audio.1.zip": a_zip({f"{ev}/audio/1.wav": wav(2), f"{ev}/audio/2.wav": wav(3)}),
    }
    records = {"400515": [n for n in zips if n.startswith(dev)], "1040168": [n for n in zips if n.startswith(ev)]}
    for record, names in records.items():
        for n in names:
            Files.files[n] = Files.files[f"api/records/{record}/files/{n}/content"] = zips[n]
        Files.files[f"api/records/{record}"] = json.dumps({"id": int(record), "files": [
            {"key": n, "size": len(zips[n]), "checksum": f"md5:{md5(zips[n])}",
             "links": {"self": f"{server}/api/records/{record}/files/{n}/content"}} for n in names]}).encode()
    listed = catalog.source("tut2017").zenodo_records
    assert [r.record for r in listed] == ["400515", "1040168"]
    source = dataclasses.replace(catalog.source("tut2017"), zenodo=tuple(
        dataclasses.replace(r, api=f"{server}/api/records") for r in listed))
    root = download_dataset("tut2017", source, tmp_path / "data")
    assert not any("doc.zip" in s for s in Files.served)
    task = tut2017.load_tut2017(root)
    assert [task.labels[it.targets[0]] for it in task.items] == ["city center"]
    evaluation = tut2017.load_tut2017(root, split="evaluation")
    assert [evaluation.labels[it.targets[0]] for it in evaluation.items] == ["cafe/restaurant", "tram"]
    report = verify("tut2017", catalog.source("tut2017"), root)
    assert report.ok and report.listed == report.present == 1

    Files.files["api/records/1040168"] = b"<html>maintenance</html>"  # the second record's list is fetched too
    with pytest.raises(ValueError, match=r"^tut2017: Zenodo's file list .*1040168.* was not JSON"):
        download_dataset("tut2017", source, tmp_path / "other")
