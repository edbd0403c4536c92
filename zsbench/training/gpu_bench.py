"""``reclap-base`` throughput and memory on one GPU, with synthetic data and no Hub access:

    python3 -m zsbench.training.gpu_bench [--steps 300] [--batch-size 256] [--out DIR]

HTSAT-base (aff_2d fusion, through ``laion-clap``, random init) + the Flan-T5-large encoder built
from its config in code (``zsbench.adapters.reclap.FLAN_T5_LARGE``), random token ids and fused
mels of the real shapes made on the device, bf16 autocast, Adam, the paper's global batch. No
checkpoints are written. If the whole batch does not fit, it retries with gradient
accumulation (micro-batches of 128, then 64 as the paper's per-GPU batch), which keeps the step's
sample count but shrinks the contrastive negatives; the summary says which ran. Prints (and
writes to ``--out``/reclap_base_gpu.json, default ``$OUT``) samples/s after the first 10 steps,
peak GPU memory, the GPU and the versions.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    import torch

    from zsbench.training.config import get_config
    from zsbench.training.train import RunOptions, train

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--grad-accum", type=int, default=1, choices=(1, 2, 4),
                    help="first accumulation to try (4: micro-batches of 64, the paper's per-GPU batch)")
    ap.add_argument("--cpu", action="store_true", help="run on the CPU anyway (to check the code path, tiny sizes)")
    ap.add_argument("--out", type=Path, default=Path(os.environ["OUT"]) if os.environ.get("OUT") else None)
    args = ap.parse_args(argv)
    if not torch.cuda.is_available() and not args.cpu:
        raise SystemExit("no CUDA GPU here: this measurement is for a GPU machine (the CPU path is tested by "
                         "tests/test_training_reclap.py)")
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none (CPU)"
    summary: dict = {"gpu": gpu, "torch": torch.__version__, "python": platform.python_version(),
                     "steps": args.steps, "batch_size": args.batch_size, "attempts": []}
    try:
        import transformers

        summary["transformers"] = transformers.__version__
    except ImportError:
        pass
    for accum in (a for a in (1, 2, 4) if a >= args.grad_accum):
        if args.batch_size % accum:
            continue
        cfg = get_config("reclap-base").replace(max_steps=args.steps, warmup_steps=min(3200, max(1, args.steps // 10)),
                                                batch_size=args.batch_size, grad_accum=accum, eval=(), log_every=10)
        run_dir = Path(tempfile.mkdtemp(prefix="reclap-base-gpu-"))
        try:
            result = train(cfg, RunOptions(out_dir=run_dir, synthetic=True, progress=False, save=False,
                                           device="cpu" if args.cpu else None))
        except torch.cuda.OutOfMemoryError as exc:
            summary["attempts"].append({"grad_accum": accum, "micro_batch": args.batch_size // accum,
                                        "error": f"out of memory: {str(exc).splitlines()[0]}",
                                        "peak_mem_mb": torch.cuda.max_memory_allocated() / 2**20})
            del exc
            torch.cuda.empty_cache()
            continue
        summary["attempts"].append({"grad_accum": accum, "micro_batch": args.batch_size // accum, **result})
        summary["result"] = summary["attempts"][-1]
        break
    text = json.dumps(summary, indent=1, default=str)
    print(text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "reclap_base_gpu.json").write_text(text)
    return 0 if "result" in summary else 1


if __name__ == "__main__":
    raise SystemExit(main())
