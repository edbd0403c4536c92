"""The distributed path on every CI run: two CPU ranks (gloo) launched by torchrun.

1. The contrastive loss gathered across ranks with gradients gives, after DDP's averaging, the
   gradient of the single-process loss on the concatenated batch.
2. ``torchrun -m zsbench.training tiny-cpu`` trains a few steps on two ranks, each with
   its own RNG state saved per rank in the checkpoint, and the export loads with the checkpoint's weights.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
import torch

from zsbench.training.loss import contrastive_loss

pytestmark = pytest.mark.slow

GRAD_SCRIPT = textwrap.dedent('''
    import sys, torch, torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP
    from zsbench.training.loss import contrastive_loss

    class Towers(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.t = torch.nn.Linear(6, 5), torch.nn.Linear(4, 5)
            self.scale = torch.nn.Parameter(torch.tensor(2.0))
        def forward(self, x, y):
            return self.a(x), self.t(y), self.scale

    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(0)
    model = Towers()
    x, y = torch.randn(8, 6), torch.randn(8, 4)
    share = 8 // world
    net = DDP(model)
    a, t, s = net(x[rank * share:(rank + 1) * share], y[rank * share:(rank + 1) * share])
    loss, _ = contrastive_loss(a, t, s)
    loss.backward()
    if rank == 0:
        torch.save({"loss": loss.detach(), "grads": {n: p.grad for n, p in model.named_parameters()}}, sys.argv[1])
    dist.destroy_process_group()
''')


def torchrun(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    assert proc.returncode == 0, f"torchrun failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def test_gathered_loss_has_the_single_process_gradient(tmp_path):
    script = tmp_path / "grad.py"
    script.write_text(GRAD_SCRIPT)
    torchrun(str(script), str(tmp_path / "ddp.pt"))
    ddp = torch.load(tmp_path / "ddp.pt", weights_only=True)

    torch.manual_seed(0)
    a, t = torch.nn.Linear(6, 5), torch.nn.Linear(4, 5)
    scale = torch.nn.Parameter(torch.tensor(2.0))
    x, y = torch.randn(8, 6), torch.randn(8, 4)
    loss, _ = contrastive_loss(a(x), t(y), scale)
    loss.backward()
    assert torch.allclose(ddp["loss"], loss.detach(), atol=1e-6)
    single = {"a.weight": a.weight.grad, "a.bias": a.bias.grad, "t.weight": t.weight.grad,
              "t.bias": t.bias.grad, "scale": scale.grad}
    for name, grad in single.items():
        assert torch.allclose(ddp["grads"][name], grad, atol=1e-6), name


def test_two_rank_training_through_torchrun(tmp_path):
    from zsbench.synthworld.corpus import write_corpus

    csv_path = write_corpus(tmp_path / "corpus", 3, seed=5, classes=("dial tone", "wind"), progress=False)
    out = tmp_path / "run"
    proc = torchrun("-m", "zsbench.training", "tiny-cpu", "--out", str(out), "--quiet", "--max-steps", "3",
                    "--batch-size", "4", "--threads", "1", "--set", f"train_csv={csv_path}", "--set", "eval=[]",
                    "--set", "model.channels=[4,8,8,8]", "--set", "log_every=1")
    assert "2 rank(s) on cpu" in proc.stdout
    state = torch.load(out / "checkpoints" / "last.pt", weights_only=True)
    assert state["step"] == 3 and len(state["rng"]) == 2
    assert not torch.equal(state["rng"][0]["torch"], state["rng"][1]["torch"])  # each rank its own stream
    from zsbench.adapters.base import LoadOptions
    from zsbench.adapters.demo import DemoModel

    model = DemoModel(LoadOptions(checkpoint=str(out / "model.safetensors")))
    for name, value in model.model.state_dict().items():
        assert torch.equal(value, state["state_dict"][name]), name
    assert (out / "log.csv").read_text().count("\n") == 4  # header + 3 steps, written by rank 0 only
