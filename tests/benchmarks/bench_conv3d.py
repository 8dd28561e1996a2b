#!/usr/bin/env python3
"""3-D convolution, transposed convolution and max pooling (graphflow's compositions of
the 2-D ops: gf.nn.conv3d, conv3d_transpose, max_pool3d) against PyTorch's own 3-D
kernels (CPU) in the same run: forward, and forward + gradients of the input and kernel
(one training step's work). A script, not collected by pytest:

    .venv/bin/python tests/benchmarks/bench_conv3d.py [--reps 5] [--batch 4]

PyTorch runs in a subprocess from the peer venv (``GRAPHFLOW_PEER_VENV``, default
``$TMPDIR/graphflow-peer-torch``); without it only graphflow's side is printed. Prints
the medians (ms) and the ratio graphflow / PyTorch for each case.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import graphflow as gf

# (name, (depth, rows, cols, channels) of the input, kernel taps, filters, strides, padding)
CASES = [("c3d_conv1", (16, 32, 32, 3), (3, 3, 3), 32, (1, 1, 1), "same"),
         ("c3d_conv2", (8, 16, 16, 32), (3, 3, 3), 64, (1, 1, 1), "same"),
         ("strided", (16, 32, 32, 16), (3, 3, 3), 32, (2, 2, 2), "valid")]

PEER = r'''
import json, statistics, sys, time
import torch
batch, reps, cases = int(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
torch.manual_seed(0)
def med(fn):
    fn(); ts = []
    for _ in range(reps):
        t0 = time.perf_counter(); fn(); ts.append(time.perf_counter() - t0)
    return statistics.median(ts)
out = {}
for name, (d, h, w, c), taps, filters, strides, padding in cases:
    x = torch.randn(batch, c, d, h, w, requires_grad=True)
    k = torch.randn(filters, c, *taps, requires_grad=True)
    pad = "same" if padding == "same" else 0
    conv = lambda: torch.nn.functional.conv3d(x, k, stride=strides, padding=pad)
    with torch.no_grad():
        out[name + "/fwd"] = med(conv)
    def step():
        y = conv(); y.backward(torch.ones_like(y)); x.grad = None; k.grad = None
    out[name + "/fwd+grads"] = med(step)
    y = torch.randn(batch, filters, d, h, w)
    with torch.no_grad():
        out[name + "/pool"] = med(lambda: torch.nn.functional.max_pool3d(y, 2))
        kt = torch.randn(filters, c, *taps)
        out[name + "/transpose"] = med(lambda: torch.nn.functional.conv_transpose3d(y, kt, stride=2))
print("RESULT " + json.dumps(out), flush=True)
'''


def peer(batch, reps):
    root = os.environ.get("GRAPHFLOW_PEER_VENV") or os.path.join(tempfile.gettempdir(), "graphflow-peer-torch")
    py = Path(root) / "bin" / "python"
    if not py.exists():
        return None
    res = subprocess.run([str(py), "-c", PEER, str(batch), str(reps), json.dumps(CASES)], capture_output=True,
                         text=True, timeout=1800)
    for line in res.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    print(f"torch peer failed: {res.stderr[-2000:]}", file=sys.stderr)
    return None


def med(fn, reps):
    fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def ours(batch, reps):
    rng = np.random.default_rng(0)
    out = {}
    for name, (d, h, w, c), taps, filters, strides, padding in CASES:
        x = rng.standard_normal((batch, d, h, w, c)).astype(np.float32)
        k = rng.standard_normal((*taps, c, filters)).astype(np.float32)
        xs, ks = gf.placeholder(x.shape, "float32"), gf.placeholder(k.shape, "float32")
        y = gf.nn.conv3d(xs, ks, strides, padding)
        fwd = gf.function([xs, ks], y)
        out[name + "/fwd"] = med(lambda: fwd(x, k), reps)
        step = gf.function([xs, ks], [y] + gf.grad(gf.sum(y), [xs, ks]))
        out[name + "/fwd+grads"] = med(lambda: step(x, k), reps)
        v = rng.standard_normal((batch, d, h, w, filters)).astype(np.float32)
        vs = gf.placeholder(v.shape, "float32")
        pool = gf.function([vs], gf.nn.max_pool3d(vs, 2))
        out[name + "/pool"] = med(lambda: pool(v), reps)
        kt = rng.standard_normal((*taps, c, filters)).astype(np.float32)
        kts = gf.placeholder(kt.shape, "float32")
        tr = gf.function([vs, kts], gf.nn.conv3d_transpose(vs, kts, 2))
        out[name + "/transpose"] = med(lambda: tr(v, kt), reps)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--batch", type=int, default=4)
    args = parser.parse_args(argv)
    mine = ours(args.batch, args.reps)
    theirs = peer(args.batch, args.reps) or {}
    print(f"batch {args.batch}, median of {args.reps}, ms (graphflow channels_last, PyTorch NCDHW)")
    print(f"{'case':28s} {'graphflow':>10s} {'pytorch':>10s} {'ratio':>7s}")
    for key, t in mine.items():
        p = theirs.get(key)
        ratio = f"{t / p:7.2f}" if p else "      -"
        print(f"{key:28s} {t * 1e3:10.1f} {p * 1e3 if p else float('nan'):10.1f} {ratio}")


if __name__ == "__main__":
    main()
