"""``python -m zsbench.training CONFIG [options]``: the entry point torchrun launches on each rank.

    torchrun --nproc-per-node 8 -m zsbench.training reclap-base --set train_csv=train.csv --out runs/reclap
    python -m zsbench.training reclap-base --synthetic --max-steps 300     # GPU throughput and memory
    python -m zsbench.training tiny-cpu --out runs/tiny                     # the offline demo's model
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from zsbench.training.config import CONFIGS, get_config
from zsbench.training.train import RunOptions, train


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m zsbench.training", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", choices=sorted(CONFIGS), help="training configuration")
    p.add_argument("--out", type=Path, default=None, help="run folder (default runs/CONFIG)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field (JSON values; model.KEY for model options); repeatable")
    p.add_argument("--max-steps", type=int, default=None,
                   help="shorthand for --set max_steps=N (also caps warmup_steps at N/10 and checkpoint_every at N)")
    p.add_argument("--batch-size", type=int, default=None, help="global batch size (shorthand for --set)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--stop-after", type=int, default=None,
                   help="stop after N steps of this session, with a checkpoint (resume later)")
    p.add_argument("--synthetic", action="store_true",
                   help="random inputs of the real shapes, no data or tokenizer (throughput/memory)")
    p.add_argument("--device", default=None, help="default: cuda:LOCAL_RANK when CUDA is available, else cpu")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--no-save", action="store_true", help="write no checkpoints or export (throughput runs)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    cfg = get_config(args.config).with_overrides(args.overrides)
    if args.max_steps is not None:
        cfg = cfg.replace(max_steps=args.max_steps,
                          checkpoint_every=min(cfg.checkpoint_every, args.max_steps),
                          warmup_steps=min(cfg.warmup_steps, max(1, args.max_steps // 10)))
    if args.batch_size is not None:
        cfg = cfg.replace(batch_size=args.batch_size)
    if args.synthetic:
        cfg = cfg.replace(eval=())
    out = args.out or Path("runs") / cfg.name
    result = train(cfg, RunOptions(out_dir=out, resume=args.resume, stop_after=args.stop_after, device=args.device,
                                   synthetic=args.synthetic, progress=not args.quiet, threads=args.threads,
                                   save=not args.no_save))
    import os

    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
