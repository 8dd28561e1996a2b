#!/usr/bin/env python3
"""PyTorch's side of tests/gpu/vgg_check.py's ``speed`` check: the seed note's VGG-like
CNN in PyTorch eager, its training step and inference timed (median of N after warm-up).

On CUDA when torch sees a GPU; on the CPU otherwise (the dry run: its numbers say nothing
about a GPU). It imports neither graphflow nor anything of this repository, so it also runs
in another interpreter that has torch (``GRAPHFLOW_PEER_VENV``, or
``$TMPDIR/graphflow-peer-torch``), printing one ``RESULT {json}`` line:

    python tests/gpu/torch_peer.py --size 100 --batch 32 --steps 30
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CLASSES, SEED = 10, 1337


def data(shape, batch):
    """The batch vgg_check.py's ``data(1)`` makes (same seed, same draws)."""
    rng = np.random.default_rng(SEED)
    x = rng.random((batch,) + tuple(shape), dtype=np.float32)
    y = np.eye(CLASSES, dtype=np.float32)[rng.integers(0, CLASSES, batch)]
    return x, y


def median_ms(fn, steps: int, warmup: int = 3) -> float:
    for _ in range(min(warmup, steps)):
        fn()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def times(size: int, batch: int, steps: int) -> dict:
    """Training-step and inference medians (ms) on CUDA if torch sees one, else the CPU."""
    import torch
    from torch import nn
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = False   # float32 against float32: graphflow uses no TF32
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(SEED)
    side = (((size - 4) // 2) - 4) // 2
    net = nn.Sequential(
        nn.Conv2d(3, 32, 3), nn.ReLU(), nn.Conv2d(32, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.Conv2d(64, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Flatten(), nn.Linear(64 * side * side, 256), nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, CLASSES),
    ).to(dev)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    loss_fn = nn.CrossEntropyLoss()
    x, y = data((size, size, 3), batch)
    xd = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous().to(dev)
    yd = torch.from_numpy(y.argmax(1)).to(dev)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(xd), yd)
        loss.backward()
        opt.step()
        return loss.item()                         # synchronises, as graphflow's returned loss does

    def infer():
        with torch.no_grad():
            return net(xd).softmax(1).cpu()
    net.train()
    train_ms = median_ms(step, steps)
    net.eval()
    infer_ms = median_ms(infer, steps)
    label = f"PyTorch {torch.__version__} CUDA eager (cuDNN {torch.backends.cudnn.version()}, TF32 off)" \
        if dev == "cuda" else f"PyTorch {torch.__version__} CPU eager ({torch.get_num_threads()} threads)"
    return {"train_ms": train_ms, "infer_ms": infer_ms, "device": dev, "label": label}


def peer_python() -> str | None:
    """An interpreter with torch for when this one has none: ``GRAPHFLOW_PEER_VENV``'s or
    ``$TMPDIR/graphflow-peer-torch``'s ``bin/python``."""
    root = os.environ.get("GRAPHFLOW_PEER_VENV") or os.path.join(tempfile.gettempdir(), "graphflow-peer-torch")
    py = Path(root) / "bin" / "python"
    return str(py) if py.exists() else None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args(argv)
    print("RESULT " + json.dumps(times(args.size, args.batch, args.steps)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
