#!/usr/bin/env python3
"""Each convolution of the seed note's VGG-like CNN (batch 32, 100x100x3 input), forward,
input gradient and filter gradient, against PyTorch (CPU) NCHW and channels_last in the
same run. A script, not collected by pytest:

    .venv/bin/python tests/benchmarks/bench_conv.py [--reps 7] [--batch 32] [--algos auto,im2col]
    .venv/bin/python tests/benchmarks/bench_conv.py --choice   # the table behind the algorithm choice

PyTorch runs in a subprocess from the peer venv (``GRAPHFLOW_PEER_VENV``, default
``$TMPDIR/graphflow-peer-torch``, which ``../shared/bench/compare_vgg.sh`` sets up); without
it only graphflow's side is printed. Sides alternate (ours, torch, ours, torch...) so
drift hits both; each figure is the median over all rounds. ``--algos`` times graphflow
once per ``GRAPHFLOW_CONV`` value (auto, im2col, winograd, winograd2).

``--choice`` times im2col against Winograd F(2x2) and F(4x4) on a range of 3x3 layers in
CPU seconds of one thread (BLAS included, its idle spinning not), the measure the rule in
``nn_conv.choose`` was drawn from, and says what ``auto`` picks for each in the exact
(default) and the ``winograd-fast`` precision mode.
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

# (name, input h=w, in channels, filters): the VGG-like model's four 3x3 valid convolutions
CONVS = [("conv1", 100, 3, 32), ("conv2", 98, 32, 32), ("conv3", 48, 32, 64), ("conv4", 46, 64, 64)]
PASSES = ("fwd", "bwd_input", "bwd_filter")

PEER = r'''
import json, statistics, sys, time
import torch
batch, reps, rounds = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
convs = json.loads(sys.argv[4])
torch.manual_seed(0)
out = {}
def med(fn):
    fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter(); fn(); ts.append(time.perf_counter() - t0)
    return statistics.median(ts)
for layout in ("nchw", "channels_last"):
    fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    for name, hw, c, o in convs:
        x = torch.randn(batch, c, hw, hw).contiguous(memory_format=fmt)
        w = torch.randn(o, c, 3, 3).contiguous(memory_format=fmt)
        y = torch.nn.functional.conv2d(x, w)
        dy = torch.randn_like(y).contiguous(memory_format=fmt)
        def back(mask):
            return lambda: torch.ops.aten.convolution_backward(dy, x, w, None, [1, 1], [0, 0], [1, 1],
                                                               False, [0, 0], 1, mask)
        fns = {"fwd": lambda: torch.nn.functional.conv2d(x, w), "bwd_input": back([True, False, False]),
               "bwd_filter": back([False, True, False])}
        with torch.no_grad():
            for p, fn in fns.items():
                out[f"{layout}/{name}/{p}"] = med(fn)
print("RESULT " + json.dumps(out), flush=True)
'''


def peer_python():
    root = os.environ.get("GRAPHFLOW_PEER_VENV") or os.path.join(tempfile.gettempdir(), "graphflow-peer-torch")
    py = Path(root) / "bin" / "python"
    return str(py) if py.exists() else None


def run_peer(py, batch, reps):
    res = subprocess.run([py, "-c", PEER, str(batch), str(reps), "1", json.dumps(CONVS)],
                         capture_output=True, text=True, timeout=1800)
    for line in res.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    print(f"torch peer failed: {res.stderr[-2000:]}", file=sys.stderr)
    return None


def ours(batch):
    """{(name, pass): callable} running each conv through a compiled graphflow function."""
    rng = np.random.default_rng(0)
    fns = {}
    for name, hw, c, o in CONVS:
        x = rng.standard_normal((batch, hw, hw, c)).astype(np.float32)
        k = (rng.standard_normal((3, 3, c, o)) / np.sqrt(9 * c)).astype(np.float32)
        dy = rng.standard_normal((batch, hw - 2, hw - 2, o)).astype(np.float32)
        xs, ks, dys = (gf.placeholder(a.shape, "float32") for a in (x, k, dy))
        op = (gf.nn.Conv2D, gf.nn.Conv2DBackpropInput, gf.nn.Conv2DBackpropFilter)
        graphs = {"fwd": (op[0]()(xs, ks), [xs, ks], (x, k)),
                  "bwd_input": (op[1]()(xs, ks, dys), [xs, ks, dys], (x, k, dy)),
                  "bwd_filter": (op[2]()(xs, ks, dys), [xs, ks, dys], (x, k, dy))}
        for p, (t, ins, vals) in graphs.items():
            f = gf.function(ins, t)
            fns[(name, p)] = (lambda f=f, vals=vals: f(*vals))
    return fns


def flops(name, batch):
    _, hw, c, o = next(cv for cv in CONVS if cv[0] == name)
    return 2 * batch * (hw - 2) ** 2 * o * 9 * c


def med_time(fn, reps, clock=time.perf_counter):
    """Median seconds of ``reps`` calls after one warm-up (``clock=time.process_time``:
    CPU seconds of this process)."""
    fn()
    ts = []
    for _ in range(reps):
        t0 = clock()
        fn()
        ts.append(clock() - t0)
    return statistics.median(ts)


CHOICE = [(32, 100, 3, 32), (32, 98, 32, 32), (32, 48, 32, 64), (32, 46, 64, 64), (32, 14, 64, 128),
          (4, 32, 256, 256), (32, 28, 1, 32), (32, 7, 128, 256)]


def choice(reps):
    from threadpoolctl import threadpool_limits
    from graphflow_numpy.kernels import nn_conv
    from graphflow_numpy.kernels.conv_geometry import ConvGeometry
    os.environ["GRAPHFLOW_NUM_THREADS"] = "1"
    rng = np.random.default_rng(0)
    print("one thread, CPU ms, forward / filter gradient")
    print(f"{'n, h, c -> o':18s} {'im2col':>15s} {'winograd F2':>15s} {'winograd F4':>15s}  "
          f"auto picks (forward, filter): exact | winograd-fast")
    for n, h, c, o in CHOICE:
        x = rng.standard_normal((n, h, h, c)).astype(np.float32)
        k = rng.standard_normal((3, 3, c, o)).astype(np.float32)
        dy = rng.standard_normal((n, h - 2, h - 2, o)).astype(np.float32)
        xs, ks, dys = (gf.placeholder(a.shape, "float32") for a in (x, k, dy))
        fwd = gf.function([xs, ks], gf.nn.conv2d(xs, ks))
        wgrad = gf.function([xs, ks, dys], gf.nn.Conv2DBackpropFilter()(xs, ks, dys))
        cells = []
        with threadpool_limits(1):
            for algo in ("im2col", "winograd2", "winograd"):
                os.environ["GRAPHFLOW_CONV"] = algo
                cpu = [1e3 * med_time(f, reps, time.process_time) for f in (lambda: fwd(x, k), lambda: wgrad(x, k, dy))]
                cells.append(f"{cpu[0]:6.1f} / {cpu[1]:6.1f}")
        os.environ["GRAPHFLOW_CONV"] = "auto"
        g = ConvGeometry.of(gf.nn.Conv2D(), x.shape, k.shape)
        name = lambda pick: pick[0] if pick[0] == "im2col" else f"F({pick[1]}x{pick[1]})"  # noqa: E731
        picks = " | ".join(f"{name(nn_conv.choose(g, exact=e))}, "
                           f"{name(nn_conv.choose(g, filter_pass=True, exact=e))}" for e in (True, False))
        print(f"{f'{n}, {h}, {c} -> {o}':18s} {cells[0]:>15s} {cells[1]:>15s} {cells[2]:>15s}  {picks}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--algos", default="auto")
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--choice", action="store_true", help="im2col against Winograd on a range of layers")
    args = ap.parse_args()
    if args.choice:
        return choice(args.reps)
    algos = args.algos.split(",")
    py = None if args.no_peer else peer_python()
    fns = ours(args.batch)
    times: dict = {}
    for _ in range(args.rounds):
        for algo in algos:
            os.environ["GRAPHFLOW_CONV"] = algo
            for key, fn in fns.items():
                times.setdefault((algo,) + key, []).append(med_time(fn, args.reps))
        if py:
            peer = run_peer(py, args.batch, args.reps)
            for k, v in (peer or {}).items():
                times.setdefault(tuple(k.split("/")), []).append(v)
    med = {k: statistics.median(v) for k, v in times.items()}
    cols = [f"gf:{a}" for a in algos] + (["torch nchw", "torch c_last"] if py else [])
    print(f"batch {args.batch}; ms (GFLOP/s); ratio = graphflow / torch")
    print(f"{'conv':6s} {'pass':10s} " + " ".join(f"{c:>16s}" for c in cols) + ("  x nchw  x c_last" if py else ""))
    total = dict.fromkeys(cols, 0.0)
    for name, *_ in CONVS:
        for p in PASSES:
            vals = [med.get((a, name, p)) for a in algos]
            if py:
                vals += [med.get(("nchw", name, p)), med.get(("channels_last", name, p))]
            cells = []
            for c, v in zip(cols, vals):
                total[c] += v or 0.0
                cells.append(f"{1e3 * v:8.1f} ({flops(name, args.batch) / v / 1e9:4.0f})" if v else f"{'-':>16s}")
            ratio = ""
            if py and vals[0] and vals[-2] and vals[-1]:
                ratio = f"  {vals[0] / vals[-2]:6.2f}  {vals[0] / vals[-1]:6.2f}"
            print(f"{name:6s} {p:10s} " + " ".join(cells) + ratio)
    print(f"{'total':17s}" + " ".join(f"{1e3 * total[c]:16.1f}" for c in cols))
    print("RESULT " + json.dumps({" ".join(k): v for k, v in med.items()}), flush=True)


if __name__ == "__main__":
    main()
