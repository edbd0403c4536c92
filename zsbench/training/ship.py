"""Ship a finished ``tiny-cpu`` run as the demo model: ``python -m zsbench.training.ship RUN_DIR``.

Copies the run's weights into ``adapters/weights/demo-tiny-clap.safetensors`` with the
reproduction command added to their metadata, and its training log and evaluations beside them.
Refuses a run whose config is not exactly ``tiny-cpu``'s, so ``zsbench train tiny-cpu``
really reproduces what ships.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from zsbench.models.tinyclap import load_tiny, save_tiny
from zsbench.training.config import get_config

REPRODUCE = "zsbench train tiny-cpu --out runs/tiny-cpu   (= python -m zsbench.training tiny-cpu; ~5 min on 2 cores)"


def ship(run_dir: Path, dest: Path) -> Path:
    from safetensors import safe_open

    run_dir = Path(run_dir)
    model, info = load_tiny(run_dir / "model.safetensors")
    if info["train_config"] != get_config("tiny-cpu").to_dict():
        raise ValueError(f"{run_dir}: trained with a config other than tiny-cpu's; ship only a plain "
                         "`zsbench train tiny-cpu` run")
    with safe_open(str(run_dir / "model.safetensors"), "pt") as f:
        import json

        extra = json.loads((f.metadata() or {}).get("extra", "{}"))
    extra["reproduce"] = REPRODUCE
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / "demo-tiny-clap.safetensors"
    save_tiny(model, info["train_config"], target, extra)
    shutil.copyfile(run_dir / "log.csv", dest / "demo-tiny-clap-log.csv")
    if (run_dir / "eval.jsonl").exists():
        shutil.copyfile(run_dir / "eval.jsonl", dest / "demo-tiny-clap-eval.jsonl")
    return target


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--dest", type=Path, default=Path(__file__).resolve().parents[2] / "adapters" / "weights")
    print(ship(**vars(ap.parse_args(argv))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
