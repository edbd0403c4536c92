"""LAION-CLAP HTSAT-tiny on a GPU, in one run and one JSON file: where zsbench's audio pass stands
against what bounds it (the model alone, decoding alone) and against LAION's own file-list API.

On ESC-50-sized synthetic audio (5 s, 44.1 kHz, 16-bit WAV), with seeded random weights (they
cost what real ones cost), it measures, in this order (the most telling first, so that the time
budget, ``--budget-s``, cuts the least telling when a machine is slow; a part skipped for time is
named under ``skipped`` in the JSON):

1. zsbench end to end (``zsbench.evaluation.embed.embed_audio``: decode + resample in DataLoader
   workers, batches copied to the GPU ahead from page-locked slots, no cache) at fp32, with GPU
   utilisation sampled every 100 ms (pynvml, else ``nvidia-smi``, else none: the JSON says which);
2. the model alone: pre-decoded batches already on the GPU, fp32 and bf16;
3. LAION's ``CLAP_Module.get_audio_embedding_from_filelist`` on the same weights and clips;
4. zsbench end to end at bf16;
5. decoding alone (a near-free model in place of the network) at 1, 2, 4, 8 and 12 workers,
   against the bare single-core soundfile + soxr loop;
6. ``--compile`` (torch.compile of the audio tower) against eager: model alone and end to end;

then the three targets of issue #19, each with its figures and pass/fail: end to end >= 0.8 x
min(model alone, decoding at 8 workers); end to end >= 5 x LAION's file-list API; decoding at 8
workers >= 0.8 x 8 x the single-core loop.

Self-contained on purpose: needs torch, numpy, transformers, laion_clap, soundfile, soxr,
librosa, torchlibrosa and zsbench (``--no-deps`` is enough); no Hub and no network. The
tokenizer/config files come from ``--hf-cache`` (a copy of the project's offline cache).
Modules that laion_clap imports only for training (h5py, webdataset, torchvision, ...) are
replaced by empty stand-ins when absent, and the report lists them.

    python benchmarks/gpu/laion_gpu.py --hf-cache shared/hf-cache            # -> $OUT/laion_gpu.json

``--smoke`` is the same script in a few seconds on the CPU (a handful of 1 s clips, GPU-only
parts skipped with a note): tests/test_gpu_script.py runs it so that the script cannot rot.
Default sizes aim at about 5 minutes on one H100/H200 with 16 cores; ``--budget-s`` (default 420)
skips what would start after it.
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
    """Decoding alone: a near-free model in place of the network, so decoding is the whole cost.
    The bare single-core soundfile + soxr loop, zsbench's loader at each worker count, and LAION's
    own file-list API with the same near-free forward."""
    import numpy as np

    from zsbench.data.audio import Preprocessing
    from zsbench.evaluation.cache import EmbeddingCache
    from zsbench.evaluation.embed import embed_audio
    from zsbench.testing.models import NearFreeModel, bare_decode, near_free_laion_forward

    def rate(fn, warm: bool = True) -> float:
        if warm:
            fn()  # warm-up: page cache, worker start paths
        t0 = time.perf_counter()
        fn()
        return round(len(paths) / (time.perf_counter() - t0), 1)

    model = NearFreeModel(sample_rate=48000, seconds=10.0)
    prep = Preprocessing(48000, model.meta.clip, "seeded")
    out = {"clips": len(paths), "bare_single_core": rate(lambda: bare_decode(paths))}
    for w in worker_counts:  # the page cache is warm after the bare loop: one timed pass each
        out[f"workers_{w}"] = rate(lambda: embed_audio(model, paths, prep, EmbeddingCache(None, "x"), batch_size=batch,
                                                       workers=w, progress=False), warm=False)
    forward = ref.model.get_audio_embedding
    ref.model.get_audio_embedding = near_free_laion_forward
    files = [str(p) for p in paths]
    try:
        out["laion_filelist_near_free"] = rate(lambda: np.concatenate(
            [ref.get_audio_embedding_from_filelist(x=files[i:i + batch]) for i in range(0, len(files), batch)]),
            warm=False)
    finally:
        ref.model.get_audio_embedding = forward
    for w in worker_counts:
        out[f"workers_{w}_over_bare"] = round(out[f"workers_{w}"] / out["bare_single_core"], 2)
        out[f"workers_{w}_over_laion"] = round(out[f"workers_{w}"] / out["laion_filelist_near_free"], 2)
    print(json.dumps({"decode_scaling": out}), flush=True)
    return out


def model_only(label: str, model, device: str, batch: int, n_batches: int, precision: str, rounds: int,
               sampler: GpuSampler, sync) -> dict:
    """The audio tower alone on pre-decoded batches already on the device (one random batch
    reused), through the adapter's device-tensor entry: what the pipeline could reach if decoding
    and copying cost nothing."""
    import torch

    from zsbench.runtime.precision import autocast

    n = model.meta.clip.samples(model.meta.sample_rate)
    x = (0.1 * torch.randn(batch, n, generator=torch.Generator().manual_seed(0))).to(device)

    def go() -> None:
        with torch.inference_mode(), autocast(precision, device):
            for _ in range(n_batches):
                model.embed_audio_tensor(x)

    return timed(label, go, batch * n_batches, rounds, sampler, sync)


def ratio_target(name: str, value: float | None, needed: float, how: str) -> dict:
    if value is None:
        return {"target": name, "how": how, "needed": needed, "ratio": None, "pass": None,
                "note": "not measured in this run (see skipped/errors)"}
    return {"target": name, "how": how, "needed": needed, "ratio": round(value, 3), "pass": bool(value >= needed)}


def targets(e2e: dict[str, float], alone: dict[str, float], decode: dict, laion: float | None,
            target_workers: int) -> list[dict]:
    """Issue #19's three targets from this run's figures (clips/s)."""
    dec = decode.get(f"workers_{target_workers}")
    bare = decode.get("bare_single_core")
    out = []
    for precision in ("fp32", "bf16"):
        e, m = e2e.get(precision), alone.get(precision)
        bound = min(m, dec) if m is not None and dec is not None else None
        out.append(ratio_target(f"end to end {precision} >= 0.8 x min(model alone, decode at {target_workers} workers)",
                                e / bound if e is not None and bound else None, 0.8,
                                f"{e} / min({m}, {dec})"))
    e = e2e.get("fp32")
    out.append(ratio_target("end to end fp32 >= 5 x LAION get_audio_embedding_from_filelist",
                            e / laion if e is not None and laion else None, 5.0, f"{e} / {laion}"))
    out.append(ratio_target(f"decode at {target_workers} workers >= 0.8 x {target_workers} x single-core loop",
                            dec / bare if dec is not None and bare else None, 0.8 * target_workers, f"{dec} / {bare}"))
    return out


def default_out() -> Path | None:
    return Path(os.environ["OUT"]) / "laion_gpu.json" if os.environ.get("OUT") else None


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hf-cache", type=Path, required=True, help="copy of the project's offline Hub cache")
    ap.add_argument("--device", default=None, help="default: cuda (cpu with --smoke)")
    ap.add_argument("--smoke", action="store_true", help="a few seconds on the CPU: tiny sizes, GPU-only parts skipped")
    ap.add_argument("--clips", type=int, default=None, help="default 2000 (6 with --smoke)")
    ap.add_argument("--decode-clips", type=int, default=1000, help="clips for the decode-only timings")
    ap.add_argument("--seconds", type=float, default=None, help="clip length, default 5 (1 with --smoke)")
    ap.add_argument("--rate", type=int, default=44100)
    ap.add_argument("--batch", type=int, default=None, help="default 64 (3 with --smoke)")
    ap.add_argument("--workers", type=int, default=None, help="decode workers for zsbench (default: min(8, cores))")
    ap.add_argument("--rounds", type=int, default=None, help="timed rounds per side after a warm-up (default 2)")
    ap.add_argument("--model-batches", type=int, default=None, help="batches per model-only round (default 30)")
    ap.add_argument("--decode-scaling", default=None, help="decode worker counts (default 1,2,4,8,12; '' to skip)")
    ap.add_argument("--target-workers", type=int, default=None, help="the worker count the targets use (default 8)")
    ap.add_argument("--no-compile", action="store_true", help="skip --compile against eager")
    ap.add_argument("--budget-s", type=float, default=420.0, help="skip parts that would start after this")
    ap.add_argument("--workdir", type=Path, default=None, help="default: a temporary folder, removed at the end")
    ap.add_argument("--out", type=Path, default=default_out(), help="the JSON report (default: $OUT/laion_gpu.json)")
    args = ap.parse_args(argv)
    smoke = args.smoke
    device = args.device or ("cpu" if smoke else "cuda")
    clips = args.clips or (6 if smoke else 2000)
    seconds = args.seconds or (1.0 if smoke else 5.0)
    batch = args.batch or (3 if smoke else 64)
    rounds = args.rounds or (1 if smoke else 2)
    model_batches = args.model_batches or (1 if smoke else 30)
    scaling_spec = args.decode_scaling if args.decode_scaling is not None else ("1,2" if smoke else "1,2,4,8,12")
    target_workers = args.target_workers or (2 if smoke else 8)
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
    import zsbench.evaluation.embed as embed_module
    from zsbench.adapters.base import LoadOptions
    from zsbench.data.audio import Preprocessing
    from zsbench.evaluation.cache import EmbeddingCache
    from zsbench.evaluation.embed import embed_audio

    cuda = device.startswith("cuda")
    if cuda and not torch.cuda.is_available():
        sys.exit("no CUDA device here: pass --smoke (or --device cpu) for a check run")
    workers = args.workers if args.workers is not None else min(2 if smoke else 8, os.cpu_count() or 1)
    report: dict = {"smoke": smoke, "notes": [], "skipped": {}, "errors": {}, "rows": []}
    if smoke:
        report["notes"].append("--smoke: tiny sizes on the CPU; the figures and pass/fail mean nothing, they only "
                               "show that every part of the script runs")

    def save() -> None:
        report["total_s"] = round(time.perf_counter() - started, 1)
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            tmp = args.out.with_suffix(".tmp")
            tmp.write_text(json.dumps(report, indent=1))
            os.replace(tmp, args.out)

    def part(name: str, fn, gpu_only: bool = False):
        """Run one part; a part that fails is reported and the rest still run (one GPU session)."""
        if gpu_only and not cuda:
            report["skipped"][name] = "needs a CUDA GPU"
            return None
        if time.perf_counter() - started > args.budget_s:
            report["skipped"][name] = f"time budget (--budget-s {args.budget_s:g}) used up"
            return None
        t0 = time.perf_counter()
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001
            report["errors"][name] = f"{type(exc).__name__}: {exc}"
            print(f"{name} failed: {exc!r}", file=sys.stderr, flush=True)
            return None
        finally:
            report.setdefault("part_s", {})[name] = round(time.perf_counter() - t0, 1)
            save()

    t0 = time.perf_counter()
    paths = write_clips(work / "audio", clips, seconds, args.rate)
    write_s = time.perf_counter() - t0

    torch.manual_seed(0)
    ref = family.build_clap("HTSAT-tiny", False, device)
    ckpt = work / "htsat-tiny-random.pt"
    torch.save({"state_dict": {"module." + k: v for k, v in ref.model.state_dict().items()}}, ckpt)
    variant = "laion-clap-630k-audioset-best"

    def load():
        return family.VARIANTS[variant](LoadOptions(device=device, checkpoint=str(ckpt)))

    ours = load()
    prep = Preprocessing(ours.meta.sample_rate, ours.meta.clip, "seeded")
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    index = torch.device(device).index or 0
    sampler = GpuSampler(index)
    if not cuda:  # no GPU to sample: a sampler that records nothing
        sampler.source, sampler._nvml = "none", None
    feed_modes: list[str] = []
    real_feeder = embed_module._feeder

    def feeder(ring, dev):  # note how batches reached the device (registered ring, staging or none)
        f = real_feeder(ring, dev)
        if f is not None:
            feed_modes.append(f.mode)
        return f

    embed_module._feeder = feeder
    report.update({
        "device": torch.cuda.get_device_name(index) if cuda else platform.processor() or "cpu",
        "cpu_cores": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__,
        "numpy": np.__version__, "clips": len(paths), "clip": f"{seconds:g} s at {args.rate} Hz, 16-bit WAV",
        "batch": batch, "workers": workers, "stubbed_training_imports": stubbed, "write_clips_s": round(write_s, 1),
        "gpu_util_source": sampler.source,
    })
    e2e: dict[str, float] = {}
    alone: dict[str, float] = {}

    def harness(model, precision: str = "fp32"):
        def go():
            out = embed_audio(model, paths, prep, EmbeddingCache(None, "x"), batch_size=batch, workers=workers,
                              progress=False, device=device, precision=precision)
            assert out.computed == len(paths)
            return out
        return go

    def end_to_end(precision: str, model=None, key: str | None = None):
        def go():
            row = timed(f"zsbench embed_audio, {workers} decode workers, {precision}"
                        + (", torch.compile" if key and "compile" in key else ""),
                        harness(model or ours, precision), len(paths), rounds, sampler, sync)
            report["rows"].append(row)
            e2e[key or precision] = row["clips_per_s_mean"]
            return row
        return go

    def alone_at(precision: str, model=None, key: str | None = None):
        def go():
            row = model_only(f"model alone (pre-decoded batches on {device}), {precision}"
                             + (", torch.compile" if key and "compile" in key else ""),
                             model or ours, device, batch, model_batches, precision, rounds, sampler, sync)
            report["rows"].append(row)
            alone[key or precision] = row["clips_per_s_mean"]
            return row
        return go

    files = [str(p) for p in paths]

    def laion_filelist():
        def go():
            return np.concatenate([ref.get_audio_embedding_from_filelist(x=files[i:i + batch])
                                   for i in range(0, len(files), batch)])
        row = timed("laion_clap get_audio_embedding_from_filelist", go, len(paths), 1, sampler, sync)
        report["rows"].append(row)
        return row["clips_per_s_mean"]

    def agreement():
        """Same weights, same clips: the fed path gives what the numpy path gives (bit for bit
        on the same device), and LAION's within the resampler's difference (soxr vs librosa)."""
        k = min(8, len(paths))

        def ours_at(w: int):
            out = embed_audio(ours, paths[:k], prep, EmbeddingCache(None, "x"), batch_size=min(batch, 4), workers=w,
                              progress=False, device=device)
            return np.stack([out.embeddings[i] for i in range(k)])

        numpy_path, fed = ours_at(0), ours_at(2)
        theirs = ref.get_audio_embedding_from_filelist(x=files[:k])
        theirs = theirs / np.linalg.norm(theirs, axis=1, keepdims=True)
        windows = 0.1 * np.random.default_rng(0).standard_normal((2, ours.meta.clip.samples(ours.meta.sample_rate)))
        windows = windows.astype(np.float32)
        entry = ours.embed_audio_tensor(torch.from_numpy(windows).to(device))  # the adapter's device-tensor entry
        return {"max_diff_tensor_entry_vs_numpy_entry": float(np.abs(entry - ours.embed_audio(windows)).max()),
                "max_diff_workers_vs_in_process": float(np.abs(fed - numpy_path).max()),
                "max_embedding_diff_vs_laion_first_clips": float(np.abs(numpy_path - theirs).max())}

    def compiled():
        from zsbench.runtime.compiling import apply_compile

        model = load()
        info = apply_compile(model, variant)
        first = time.perf_counter()
        with torch.inference_mode():  # as the timed calls run: no recompile for another grad mode
            model.embed_audio_tensor(torch.zeros(batch, model.meta.clip.samples(model.meta.sample_rate), device=device))
        sync()
        out = {"compile": info, "first_call_s": round(time.perf_counter() - first, 1)}
        alone_at("fp32", model, "fp32_compile")()
        end_to_end("fp32", model, "fp32_compile")()
        out["model_alone_speedup"] = round(alone["fp32_compile"] / alone["fp32"], 2) if "fp32" in alone else None
        out["end_to_end_speedup"] = round(e2e["fp32_compile"] / e2e["fp32"], 2) if "fp32" in e2e else None
        return out

    scaling_counts = [int(w) for w in scaling_spec.split(",") if w]
    part("end_to_end_fp32", end_to_end("fp32"))
    part("model_alone_fp32", alone_at("fp32"))
    part("model_alone_bf16", alone_at("bf16"))
    laion = part("laion_filelist", laion_filelist)
    part("end_to_end_bf16", end_to_end("bf16"))
    decode = part("decode_scaling", lambda: decode_scaling(paths[:max(args.decode_clips, 1)], batch, scaling_counts,
                                                           ref)) if scaling_counts else None
    report["agreement"] = part("agreement", agreement)
    if args.no_compile:
        report["skipped"]["compile"] = "--no-compile"
    elif smoke:
        report["skipped"]["compile"] = "--smoke: compiling on the CPU takes minutes"
    else:
        report["compile_vs_eager"] = part("compile", compiled, gpu_only=True)
    embed_module._feeder = real_feeder
    report["feed_modes"] = sorted(set(feed_modes)) or ["none (numpy path)"]
    report["end_to_end_clips_per_s"], report["model_alone_clips_per_s"] = e2e, alone
    report["laion_filelist_clips_per_s"] = laion
    report["decode_scaling_near_free_model"] = decode
    if laion and "fp32" in e2e:
        report["speedup_zsbench_over_laion"] = round(e2e["fp32"] / laion, 2)
    report["targets"] = targets(e2e, alone, decode or {}, laion, target_workers)
    report["targets_all_pass"] = all(t["pass"] for t in report["targets"])
    save()
    print(json.dumps({k: v for k, v in report.items() if k != "rows"}, indent=1))
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return report


if __name__ == "__main__":
    main()
