"""LAION-CLAP HTSAT-tiny on a GPU: clips/s and GPU utilisation, zsbench's audio pipeline against
LAION's own file-list API, on ESC-50-sized synthetic audio (5 s, 44.1 kHz, 16-bit WAV).

Both sides run the same seeded random weights (they cost what real ones cost). Ours:
``zsbench.evaluation.embed.embed_audio`` (decode + resample to 48 kHz in DataLoader worker processes,
batches of ``--batch``, no cache). Reference: ``CLAP_Module.get_audio_embedding_from_filelist``
on the same files in the same batches (librosa at 48 kHz in the main process). GPU utilisation
is sampled every 100 ms with ``nvidia-smi`` (or pynvml) while each side runs.

Self-contained on purpose: needs torch (CUDA), numpy, transformers, laion_clap, soundfile,
soxr, librosa, torchlibrosa and zsbench (``--no-deps`` is enough); no Hub and no network. The
tokenizer/config files come from ``--hf-cache`` (a copy of the project's offline cache).
Modules that laion_clap imports only for training (h5py, webdataset, torchvision, ...) are
replaced by empty stand-ins when absent, and the report lists them.

    python benchmarks/gpu/laion_gpu.py --hf-cache /path/to/hf-cache --out laion_gpu.json

It also times the decode pipeline alone (``--decode-scaling 1,2,4,8``): a near-free model in
place of the network at each worker count, against the bare single-core soundfile + soxr loop
and LAION's file-list API with the same near-free forward.

Check on CPU: ``--device cpu --clips 24 --rounds 1 --decode-scaling 1,2``. Default sizes finish
in about 2.5 minutes on one H100 with 16 cores (2000 clips; each side 1 warm-up + 2 timed rounds).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import types
from pathlib import Path

# laion_clap imports these at module level for its training code; inference never touches them.
TRAINING_ONLY = ("h5py", "braceexpand", "webdataset", "wget", "torchvision", "PIL", "pandas", "ftfy", "progressbar",
                 "sklearn")


class _StubLoader(importlib.abc.Loader):
    def create_module(self, spec):
        module = types.ModuleType(spec.name)
        module.__path__ = []  # a package, so that submodule imports (torchvision.ops.misc) resolve too
        module.__getattr__ = _absent_attr(spec.name)  # type: ignore[attr-defined]
        return module

    def exec_module(self, module) -> None:
        pass


class _StubFinder(importlib.abc.MetaPathFinder):
    """Serves an empty stand-in for each missing training-only package and its submodules."""

    def __init__(self, tops: set[str]):
        self.tops = tops

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.tops:
            return importlib.machinery.ModuleSpec(name, _StubLoader(), is_package=True)
        return None


def import_laion_clap_with_stand_ins(load) -> list[str]:
    """Call ``load()`` (which imports laion_clap) with stand-ins for the training-only packages
    that are not installed; afterwards nothing else sees them. Returns the names stood in for."""
    missing = {name for name in TRAINING_ONLY if importlib.util.find_spec(name) is None}
    finder = _StubFinder(missing)
    sys.meta_path.insert(0, finder)
    try:
        load()
    finally:
        sys.meta_path.remove(finder)
        for name in [m for m in sys.modules if m.split(".")[0] in missing]:
            del sys.modules[name]
    return sorted(missing)


def _absent_attr(module: str):
    def get(attr: str):
        if attr.startswith("__"):  # inspect and pickle probe dunders: a stub has none
            raise AttributeError(attr)
        return _Absent(f"{module}.{attr}")
    return get


class _Absent:
    """Stands in for anything taken from a stubbed module; fails only if actually used."""

    def __init__(self, name: str):
        self._name = name

    def __call__(self, *a, **k):
        raise RuntimeError(f"{self._name} is not installed (stubbed by laion_gpu.py)")

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return _Absent(f"{self._name}.{attr}")

    def __mro_entries__(self, bases):
        return (object,)


def setup_offline(hf_cache: Path, work: Path) -> None:
    """A writable copy of the offline Hub cache, and every zsbench folder inside ``work``."""
    hub = work / "hub"
    shutil.copytree(hf_cache, hub, ignore=shutil.ignore_patterns("README.md"), dirs_exist_ok=True)
    for folder, _, files in os.walk(hub):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)
    os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_HOME=str(work / "hf-home"),
                      HF_HUB_CACHE=str(hub), ZSBENCH_CACHE=str(work / "cache"),
                      ZSBENCH_RESULTS=str(work / "results"), ZSBENCH_DATA=str(work / "data"),
                      ZSBENCH_MODELS=str(work / "models"), TOKENIZERS_PARALLELISM="false")


def write_clips(folder: Path, n: int, seconds: float, rate: int) -> list[Path]:
    """``n`` distinct 16-bit WAVs: noise plus a tone that differs per clip (so no two are equal)."""
    import numpy as np
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * rate)) / rate
    paths = []
    for i in range(n):
        audio = 0.05 * rng.standard_normal(len(t)) + 0.3 * np.sin(2 * np.pi * (110 + 7 * i) * t)
        path = folder / f"clip-{i:05d}.wav"
        sf.write(path, audio.astype(np.float32), rate, subtype="PCM_16")
        paths.append(path)
    return paths


class GpuSampler:
    """Samples GPU utilisation (%) and memory (MiB) every ``period`` s in a background thread."""

    def __init__(self, device_index: int = 0, period: float = 0.1):
        self.index, self.period = device_index, period
        self.samples: list[tuple[float, float]] = []
        self.source = "none"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._nvml = None
        try:
            import pynvml

            pynvml.nvmlInit()
            self._nvml = (pynvml, pynvml.nvmlDeviceGetHandleByIndex(device_index))
            self.source = "pynvml"
        except Exception:  # noqa: BLE001  (no pynvml, or no driver: fall back to nvidia-smi)
            if shutil.which("nvidia-smi"):
                self.source = "nvidia-smi"

    def _read(self) -> tuple[float, float] | None:
        if self._nvml is not None:
            nv, handle = self._nvml
            return float(nv.nvmlDeviceGetUtilizationRates(handle).gpu), nv.nvmlDeviceGetMemoryInfo(handle).used / 2**20
        if self.source == "nvidia-smi":
            out = subprocess.run(["nvidia-smi", f"--id={self.index}", "--query-gpu=utilization.gpu,memory.used",
                                  "--format=csv,noheader,nounits"], capture_output=True, text=True, timeout=5)
            util, mem = out.stdout.strip().split(",")[:2]
            return float(util), float(mem)
        return None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                value = self._read()
            except Exception:  # noqa: BLE001
                value = None
            if value is not None:
                self.samples.append(value)
            self._stop.wait(self.period)

    def __enter__(self):
        self.samples.clear()
        self._stop.clear()
        if self.source != "none":
            self._thread = threading.Thread(target=self._loop, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def summary(self) -> dict:
        if not self.samples:
            return {"gpu_util_source": self.source, "gpu_util_mean": None}
        utils = sorted(u for u, _ in self.samples)
        return {"gpu_util_source": self.source, "gpu_util_mean": round(sum(utils) / len(utils), 1),
                "gpu_util_median": utils[len(utils) // 2], "gpu_mem_max_mib": round(max(m for _, m in self.samples)),
                "samples": len(utils)}


def timed(label: str, fn, n_clips: int, rounds: int, sampler: GpuSampler, sync) -> dict:
    fn()  # warm-up: cuDNN autotuning, allocator, page cache, worker start-up
    sync()
    times = []
    with sampler:
        for _ in range(rounds):
            t0 = time.perf_counter()
            fn()
            sync()
            times.append(time.perf_counter() - t0)
    best, mean = min(times), sum(times) / len(times)
    row = {"side": label, "clips": n_clips, "rounds": rounds, "seconds_mean": round(mean, 3),
           "clips_per_s_mean": round(n_clips / mean, 1), "clips_per_s_best": round(n_clips / best, 1),
           **sampler.summary()}
    print(json.dumps(row), flush=True)
    return row


def decode_scaling(paths: list[Path], batch: int, worker_counts: list[int], ref) -> dict:
    """The decode pipeline alone (issue 9's target): a near-free model in place of the network, so
    decoding is the whole cost. The bare single-core soundfile + soxr loop, zsbench's loader at
    each worker count, and LAION's own file-list API with the same near-free forward."""
    import numpy as np

    from zsbench.data.audio import Preprocessing
    from zsbench.evaluation.cache import EmbeddingCache
    from zsbench.evaluation.embed import embed_audio
    from zsbench.testing.models import NearFreeModel, bare_decode, near_free_laion_forward

    def rate(fn) -> float:
        fn()  # warm-up: page cache, worker start paths
        t0 = time.perf_counter()
        fn()
        return round(len(paths) / (time.perf_counter() - t0), 1)

    model = NearFreeModel(sample_rate=48000, seconds=10.0)
    prep = Preprocessing(48000, model.meta.clip, "seeded")
    out = {"bare_single_core": rate(lambda: bare_decode(paths))}
    for w in worker_counts:
        out[f"workers_{w}"] = rate(lambda: embed_audio(model, paths, prep, EmbeddingCache(None, "x"), batch_size=batch,
                                                       workers=w, progress=False))
    forward = ref.model.get_audio_embedding
    ref.model.get_audio_embedding = near_free_laion_forward
    files = [str(p) for p in paths]
    out["laion_filelist_near_free"] = rate(lambda: np.concatenate(
        [ref.get_audio_embedding_from_filelist(x=files[i:i + batch]) for i in range(0, len(files), batch)]))
    ref.model.get_audio_embedding = forward
    for w in worker_counts:
        out[f"workers_{w}_over_bare"] = round(out[f"workers_{w}"] / out["bare_single_core"], 2)
        out[f"workers_{w}_over_laion"] = round(out[f"workers_{w}"] / out["laion_filelist_near_free"], 2)
    print(json.dumps({"decode_scaling": out}), flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hf-cache", type=Path, required=True, help="copy of the project's offline Hub cache")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--clips", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rate", type=int, default=44100)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--workers", type=int, default=None, help="decode workers for zsbench (default: min(8, cores))")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--bf16", action="store_true", help="also time zsbench with --precision bf16")
    ap.add_argument("--decode-scaling", default="1,2,4,8",
                    help="decode worker counts to time with a near-free model ('' to skip)")
    ap.add_argument("--workdir", type=Path, default=None, help="default: a temporary folder, removed at the end")
    ap.add_argument("--out", type=Path, default=None, help="write the report here as JSON")
    args = ap.parse_args()
    if not args.hf_cache.is_dir():
        ap.error(f"--hf-cache {args.hf_cache}: not a folder (copy the project's shared/hf-cache)")

    started = time.perf_counter()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="laion-gpu-"))
    setup_offline(args.hf_cache, work)

    import numpy as np
    import torch
    import transformers  # noqa: F401  (before the stand-ins: it probes which packages exist at import)

    from zsbench.adapters import laion as family

    stubbed = import_laion_clap_with_stand_ins(family._import_laion_clap)  # cached: imported once
    from zsbench.adapters.base import LoadOptions
    from zsbench.data.audio import Preprocessing
    from zsbench.evaluation.cache import EmbeddingCache
    from zsbench.evaluation.embed import embed_audio

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("no CUDA device here: pass --device cpu for a check run")
    workers = args.workers if args.workers is not None else min(8, os.cpu_count() or 1)
    t0 = time.perf_counter()
    paths = write_clips(work / "audio", args.clips, args.seconds, args.rate)
    write_s = time.perf_counter() - t0

    torch.manual_seed(0)
    ref = family.build_clap("HTSAT-tiny", False, args.device)
    ckpt = work / "htsat-tiny-random.pt"
    torch.save({"state_dict": {"module." + k: v for k, v in ref.model.state_dict().items()}}, ckpt)
    ours = family.VARIANTS["laion-clap-630k-audioset-best"](LoadOptions(device=args.device, checkpoint=str(ckpt)))
    prep = Preprocessing(ours.meta.sample_rate, ours.meta.clip, "seeded")
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    index = torch.device(args.device).index or 0
    sampler = GpuSampler(index)

    def harness(precision: str = "fp32"):
        def go():
            out = embed_audio(ours, paths, prep, EmbeddingCache(None, "x"), batch_size=args.batch, workers=workers,
                              progress=False, device=args.device, precision=precision)
            assert out.computed == len(paths)
            return out
        return go

    files = [str(p) for p in paths]

    def package():
        return np.concatenate([ref.get_audio_embedding_from_filelist(x=files[i:i + args.batch])
                               for i in range(0, len(files), args.batch)])

    rows = [timed(f"zsbench embed_audio, {workers} decode workers, fp32", harness(), len(paths), args.rounds,
                  sampler, sync),
            timed("laion_clap get_audio_embedding_from_filelist", package, len(paths), args.rounds, sampler, sync)]
    if args.bf16:
        rows.append(timed(f"zsbench embed_audio, {workers} decode workers, bf16", harness("bf16"), len(paths),
                          args.rounds, sampler, sync))
    scaling = decode_scaling(paths, args.batch, [int(w) for w in args.decode_scaling.split(",") if w], ref)
    # same weights, same clips: the embeddings agree up to the resampler (ours soxr, LAION librosa's)
    k = min(8, len(paths))
    mine = embed_audio(ours, paths[:k], prep, EmbeddingCache(None, "x"), batch_size=args.batch, workers=0,
                       progress=False, device=args.device)
    mine = np.stack([mine.embeddings[i] for i in range(k)])
    theirs = ref.get_audio_embedding_from_filelist(x=files[:k])
    theirs = theirs / np.linalg.norm(theirs, axis=1, keepdims=True)
    report = {
        "device": torch.cuda.get_device_name(index) if args.device.startswith("cuda") else platform.processor() or "cpu",
        "cpu_cores": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__,
        "numpy": np.__version__, "clips": len(paths), "clip": f"{args.seconds:g} s at {args.rate} Hz, 16-bit WAV",
        "batch": args.batch, "workers": workers, "stubbed_training_imports": stubbed,
        "write_clips_s": round(write_s, 1), "rows": rows,
        "max_embedding_diff_vs_laion_first_clips": float(np.abs(mine - theirs).max()),
        "speedup_zsbench_over_laion": round(rows[0]["clips_per_s_mean"] / rows[1]["clips_per_s_mean"], 2),
        "decode_scaling_near_free_model": scaling,
        "total_s": round(time.perf_counter() - started, 1),
    }
    print(json.dumps({k: v for k, v in report.items() if k != "rows"}, indent=1))
    if args.out:
        args.out.write_text(json.dumps(report, indent=1))
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
