#!/usr/bin/env python3
"""graphflow's side of the VGG-like CNN training-step benchmark (the seed note's model).

Same work as ../shared/bench/peer_torch_vgg.py: batch 32, 100x100x3 float32, 10 classes,
SGD(lr=0.01, momentum=0.9, nesterov=True), softmax cross-entropy, dropout on. Prints one
line ``RESULT {json}`` with train/infer medians (ms), first step (s: model build + compile
+ first step), peak RSS (MB) and the seconds spent compiling or loading numba loops,
which ``../shared/bench/compare_vgg.sh`` sets beside PyTorch's in the same run:

    .venv/bin/python tests/benchmarks/bench_vgg_step.py [steps] [--batch 32]
    .venv/bin/python tests/benchmarks/bench_vgg_step.py --scale 8,32,128   # per-sample time, RSS
    .venv/bin/python tests/benchmarks/bench_vgg_step.py --first-step       # numba cache cold, warm
    ../shared/bench/compare_vgg.sh 3

``--scale`` and ``--first-step`` run each case in a fresh process (peak RSS is per process;
"cold" is an empty ``GRAPHFLOW_CACHE_DIR``, "warm" the same directory again) and print a
``SCALE`` / ``FIRST`` JSON line after their table.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import graphflow.keras as keras
from graphflow.keras.optimizers import SGD

from timing import peak_rss_mb, timed  # noqa: E402 (tests/benchmarks, the script's own folder)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
from vgg_cnn import vgg_like  # noqa: E402

B, H, W, C, NCLS = 32, 100, 100, 3, 10
TRAIN_GFLOP = 40.61  # forward 13.54 GFLOP x 3, as the peer counts it


def build():
    model = vgg_like((H, W, C), NCLS)  # the seed note's model, shared with the demo
    model.compile(loss="categorical_crossentropy", optimizer=SGD(lr=0.01, momentum=0.9, nesterov=True))
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("steps", nargs="?", type=int, default=15)
    ap.add_argument("--batch", type=int, default=B)
    ap.add_argument("--scale", help="comma-separated batch sizes, one fresh process each")
    ap.add_argument("--first-step", action="store_true", help="first step with the numba cache cold, then warm")
    args = ap.parse_args()
    if args.scale:
        return scale([int(b) for b in args.scale.split(",")], args.steps)
    if args.first_step:
        return first_step(args.steps)
    run(args.steps, args.batch)


def run(steps, b):
    rng = np.random.default_rng(0)
    x = rng.random((4 * b, H, W, C), dtype=np.float32)
    y = keras.utils.to_categorical(rng.integers(0, NCLS, 4 * b), NCLS).astype(np.float32)
    t0 = time.perf_counter()
    model = build()
    it = [0]

    def train():
        k = it[0] % 4
        it[0] += 1
        model.train_on_batch(x[k * b:(k + 1) * b], y[k * b:(k + 1) * b])

    def infer():
        model.predict_on_batch(x[:b])

    train()
    first = time.perf_counter() - t0
    train_ms = timed(train, steps, 2)
    infer_ms = timed(infer, steps, 2)
    print("RESULT " + json.dumps({
        "name": "graphflow", "batch": b, "train": {"median_ms": train_ms}, "infer": {"median_ms": infer_ms},
        "first_step_s": first, "train_gflops_per_s": TRAIN_GFLOP * b / 32 / (train_ms / 1e3),
        "peak_rss_mb": peak_rss_mb(),
        "numba_s": numba_seconds(),
    }), flush=True)


def numba_seconds():
    """Seconds this process spent compiling or loading numba loops (0 without them)."""
    try:
        from graphflow_numpy import jit
    except ImportError:
        return 0.0
    return sum(v["seconds"] for v in jit.STATS.values())


def _child(args, env=None):
    res = subprocess.run([sys.executable, __file__, *map(str, args)], capture_output=True, text=True,
                         env=env, timeout=3600)
    for line in res.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"benchmark child {args} failed:\n{res.stderr[-3000:]}")


PEER = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("peer_torch_vgg", sys.argv[1])
peer = importlib.util.module_from_spec(spec)
spec.loader.exec_module(peer)
peer.B = int(sys.argv[2])
sys.argv = [sys.argv[1], "eager", sys.argv[3]]
peer.main()
"""


def torch_peer():
    """(python, peer_torch_vgg.py) of the shared PyTorch peer when both are here, else None."""
    venv = os.environ.get("GRAPHFLOW_PEER_VENV") or os.path.join(tempfile.gettempdir(), "graphflow-peer-torch")
    root = Path(__file__).resolve().parents[2]
    for script in (root.parent / "shared" / "bench" / "peer_torch_vgg.py",
                   root.parents[1] / "shared" / "bench" / "peer_torch_vgg.py"):
        if script.exists() and (Path(venv) / "bin" / "python").exists():
            return str(Path(venv) / "bin" / "python"), str(script)
    return None


def _torch_child(peer, batch, steps):
    res = subprocess.run([peer[0], "-c", PEER, peer[1], str(batch), str(steps)], capture_output=True, text=True,
                         timeout=3600)
    for line in res.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    return None


def per_sample(result, b) -> dict:
    return {"train_ms_per_sample": result["train"]["median_ms"] / b,
            "infer_ms_per_sample": result["infer"]["median_ms"] / b, "peak_rss_mb": result["peak_rss_mb"]}


def scale(batches, steps):
    """Per-sample time and peak RSS per batch size, graphflow and (when its venv and the
    shared peer script are here) PyTorch eager, each case in a fresh process."""
    peer = torch_peer()
    rows = {}
    for b in batches:
        rows[b] = (_child([steps, "--batch", b]), _torch_child(peer, b, steps) if peer else None)
    print(f"{'batch':>5s} {'train ms/sample':>16s} {'torch':>8s} {'infer ms/sample':>16s} {'torch':>8s} "
          f"{'peak RSS MB':>12s} {'torch':>8s}")
    out = {}
    for b, (r, t) in rows.items():
        ours = per_sample(r, b)
        theirs = per_sample(t, b) if t else None
        cells = [f"{ours[k]:{w}.{p}f}" + (f" {theirs[k]:8.{p}f}" if theirs else f" {'-':>8s}")
                 for k, w, p in (("train_ms_per_sample", 16, 2), ("infer_ms_per_sample", 16, 2), ("peak_rss_mb", 12, 0))]
        print(f"{b:5d} " + " ".join(cells))
        out[b] = dict(ours, torch=theirs)
    print("SCALE " + json.dumps(out), flush=True)


def first_step(steps):
    with tempfile.TemporaryDirectory(prefix="graphflow-cache-") as cache:
        env = dict(os.environ, GRAPHFLOW_CACHE_DIR=cache)  # numba's cache of our loops lives there
        cold, warm = _child([max(steps, 1)], env), _child([max(steps, 1)], env)
    print(f"first step (build + compile + run): cold numba cache {cold['first_step_s']:.2f} s "
          f"(numba {cold['numba_s']:.2f} s), warm {warm['first_step_s']:.2f} s (numba {warm['numba_s']:.2f} s)")
    print("FIRST " + json.dumps({"cold_s": cold["first_step_s"], "warm_s": warm["first_step_s"],
                                 "cold_numba_s": cold["numba_s"], "warm_numba_s": warm["numba_s"]}), flush=True)


if __name__ == "__main__":
    main()
