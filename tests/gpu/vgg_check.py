#!/usr/bin/env python3
"""The seed note's VGG-like CNN (examples/vgg_cnn.py's model) on a GPU, for tests/gpu_check.sh.

``train``: 20 SGD steps (batch 32, 100x100x3 float32 from a fixed seed) on the NumPy and
the CuPy backend from the same weights, data and dropout seeds; prints both loss curves
side by side, checks they agree to float32 tolerance and that every dropout mask of the
step is bit-identical on both backends. ``speed``: the training step and inference
(median of N calls after warm-up, data already on the device) of graphflow-cupy beside
PyTorch eager on the same model (torch_peer.py: CUDA when torch sees a GPU, else the CPU,
in this interpreter or a peer one), their ratio, and graphflow's per-op-type profile of
the step (each kernel timed to the end of its GPU work). On a stand-in backend every
number is labelled a dry run.

    python tests/gpu/vgg_check.py train --steps 20
    python tests/gpu/vgg_check.py speed --steps 30

(``--backend``, ``--size`` and ``--batch`` exist so the test suite and the dry run can run
both checks small, on the CPU stand-in of the CuPy backend.)
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))

import graphflow as gf  # noqa: E402
from graphflow.keras.optimizers import SGD  # noqa: E402
from graphflow.ops.nn import Dropout  # noqa: E402
from vgg_cnn import vgg_like  # noqa: E402

CLASSES, SEED = 10, 1337
SHAPE, BATCH, GPU = (100, 100, 3), 32, "cupy"   # set by main() from the command line
LOSS_RTOL = 2e-3   # 20 steps of float32 training with different summation orders (cuBLAS, CUB)


def data(steps: int):
    rng = np.random.default_rng(SEED)
    x = rng.random((steps * BATCH,) + SHAPE, dtype=np.float32)
    y = np.eye(CLASSES, dtype=np.float32)[rng.integers(0, CLASSES, steps * BATCH)]
    return x, y


def model_on(backend, weights=None):
    """The model compiled for ``backend``; dropout seeds come from NumPy's generator at
    graph-building time, so seeding it first gives both backends the same seeds."""
    np.random.seed(SEED)
    gf.set_random_seed(SEED)
    model = vgg_like(SHAPE, CLASSES)
    if weights is not None:
        model.set_weights(weights)
    gf.set_default_backend(backend)
    try:
        model.compile(loss="categorical_crossentropy", optimizer=SGD(lr=0.01, decay=1e-6, momentum=0.9,
                                                                     nesterov=True))
        model.train_function  # compiled now, for this backend
        model.predict_function
    finally:
        gf.set_default_backend(None)
    return model


def dropout_ops(model):
    return [(n.op, n.inputs[0].type) for n in model.train_function.program.schedule if isinstance(n.op, Dropout)]


def masks_agree(ops, steps) -> int:
    """Every dropout op of the step, for the counters of ``steps`` calls: the same mask
    on both backends, bit for bit. Returns the number of masks compared."""
    n = 0
    for op, t in ops:
        x = gf.placeholder(t.shape, t.dtype)
        c = gf.placeholder((), "int64")
        _, mask = op(x, c)
        fs = {b: gf.function([x, c], mask, backend=b) for b in ("numpy", GPU)}
        ones = np.ones((BATCH,) + tuple(t.shape[1:]), t.dtype)
        for counter in range(steps):
            a, b = (f(ones, np.int64(counter)) for f in fs.values())
            if not np.array_equal(a, b):
                raise AssertionError(f"{op.label()} seed {op.seed}: masks differ at counter {counter} "
                                     f"({int((a != b).sum())} of {a.size} entries)")
            n += 1
    return n


def train(steps: int) -> int:
    x, y = data(steps)
    weights = model_on("numpy").get_weights()
    models = {"numpy": model_on("numpy", weights), "cupy": model_on(GPU, weights)}
    seeds = {b: [op.seed for op, _ in dropout_ops(m)] for b, m in models.items()}
    print(f"dropout seeds: {seeds['numpy']} (numpy), {seeds['cupy']} (cupy)")
    if seeds["numpy"] != seeds["cupy"]:
        print("FAIL: the two training steps draw different dropout seeds")
        return 1
    curves = {b: [] for b in models}
    print(f"{'step':>4} {'numpy loss':>12} {'cupy loss':>12} {'rel diff':>10}  (s/step numpy, cupy)")
    for i in range(steps):
        xb, yb = x[i * BATCH:(i + 1) * BATCH], y[i * BATCH:(i + 1) * BATCH]
        took = {}
        for b, m in models.items():
            t0 = time.perf_counter()
            curves[b].append(float(m.train_on_batch(xb, yb)))
            took[b] = time.perf_counter() - t0
        a, c = curves["numpy"][-1], curves["cupy"][-1]
        print(f"{i:>4} {a:>12.6f} {c:>12.6f} {abs(a - c) / abs(a):>10.2e}  ({took['numpy']:.2f}, {took['cupy']:.3f})",
              flush=True)
    worst = max(abs(a - c) / abs(a) for a, c in zip(curves["numpy"], curves["cupy"]))
    w_diff = max(float(np.max(np.abs(a - b)) / (np.max(np.abs(a)) + 1e-12))
                 for a, b in zip(models["numpy"].get_weights(), models["cupy"].get_weights()))
    ok = worst <= LOSS_RTOL and np.isfinite(curves["cupy"]).all()
    print(f"loss curves: largest relative difference {worst:.2e} (limit {LOSS_RTOL:.0e}); weights after "
          f"{steps} steps: largest difference {w_diff:.2e} of each tensor's largest entry; "
          f"cupy loss {curves['cupy'][0]:.4f} -> {curves['cupy'][-1]:.4f}: {'PASS' if ok else 'FAIL'}")
    n = masks_agree(dropout_ops(models["cupy"]), steps)
    print(f"dropout masks: {n} masks ({len(seeds['cupy'])} ops x {steps} counters) bit-identical on both backends")
    return 0 if ok else 1


# ---------------------------------------------------------------- speed
def median_ms(fn, steps: int, warmup: int = 5) -> float:
    for _ in range(min(warmup, steps)):   # (a dry run times one or two calls)
        fn()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def graphflow_times(steps):
    from graphflow.runtime import backend as registry
    cp = registry.get_backend(GPU).xp          # cupy (or the dry run's stand-in of it)
    model = model_on(GPU)
    x, y = data(1)
    xd, yd, wd = cp.asarray(x), cp.asarray(y), cp.ones(BATCH, np.float32)
    train_fn, predict_fn = model.train_function, model.predict_function
    train_ms = median_ms(lambda: train_fn(xd, yd, wd), steps)      # returns the loss: a synchronising copy
    infer_ms = median_ms(lambda: predict_fn(xd), steps)
    start, end = cp.cuda.Event(), cp.cuda.Event()
    start.record()
    for _ in range(steps):
        train_fn.call_on_device(xd, yd, wd)
    end.record()
    end.synchronize()
    gpu_ms = cp.cuda.get_elapsed_time(start, end) / steps
    prof = train_fn.profile(xd, yd, wd, repeat=min(5, steps))
    return train_ms, infer_ms, gpu_ms, prof


def torch_times(steps):
    """PyTorch's side (torch_peer.py): in this interpreter when it has torch, else in the
    peer interpreter (``torch_peer.peer_python``); None when neither has it."""
    import torch_peer
    try:
        return torch_peer.times(SHAPE[0], BATCH, steps)
    except ImportError:
        pass
    py = torch_peer.peer_python()
    if py is None:
        return None
    done = subprocess.run([py, torch_peer.__file__, "--size", str(SHAPE[0]), "--batch", str(BATCH),
                           "--steps", str(steps)], capture_output=True, text=True, timeout=600)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"the PyTorch peer ({py}) failed: {done.stderr[-2000:]}")


def speed(steps: int) -> int:
    dry = GPU != "cupy"
    tag = "DRY RUN (CPU stand-ins: these times say nothing about a GPU) - " if dry else ""
    train_ms, infer_ms, gpu_ms, prof = graphflow_times(steps)
    print(f"{tag}graphflow-{GPU}: training step {train_ms:.2f} ms, inference {infer_ms:.2f} ms (median of {steps}, "
          f"batch {BATCH}, {SHAPE}); {'GPU busy' if not dry else 'stand-in device busy'} {gpu_ms:.2f} ms per step "
          f"(events over {steps} queued steps)")
    peer = torch_times(steps)
    if peer is None:
        print("PyTorch not available (not in this interpreter, no GRAPHFLOW_PEER_VENV); no comparison")
    else:
        ptag = tag if dry or peer["device"] != "cuda" else ""
        print(f"{ptag}{peer['label']}: training step {peer['train_ms']:.2f} ms, inference {peer['infer_ms']:.2f} ms")
        target = " (target <= 1.5x against CUDA eager)" if peer["device"] == "cuda" and not dry else ""
        print(f"{ptag}ratio graphflow-{GPU} / PyTorch {peer['device']}: training {train_ms / peer['train_ms']:.2f}x"
              f"{target}, inference {infer_ms / peer['infer_ms']:.2f}x")
    print(f"{tag}kernel-type profile of the graphflow training step ({min(5, steps)} calls; each kernel timed to the "
          "end of its work, so launch overhead counts where it is paid):")
    print(prof.format(top=10))
    if not dry:   # this process's first use of each CUDA kernel: NVRTC, or CuPy's disk cache
        from graphflow.runtime import backend as registry
        jit = registry.get_backend(GPU).jit_stats().values()
        misses = [v["seconds"] for v in jit if v["cache"] == "miss"]
        print(f"CUDA kernels loaded by this process: {len(jit)}; {len(misses)} compiled by NVRTC in "
              f"{sum(misses):.1f} s, {len(jit) - len(misses)} from CuPy's kernel cache "
              f"({sum(v['seconds'] for v in jit) - sum(misses):.2f} s)")
    return 0


def main(argv=None) -> int:
    global SHAPE, BATCH, GPU
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("train", "speed"))
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--backend", default="cupy", help="the backend checked against numpy")
    parser.add_argument("--size", type=int, default=100, help="image rows and columns")
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args(argv)
    SHAPE, BATCH, GPU = (args.size, args.size, 3), args.batch, args.backend
    if args.backend == "cupy-on-host" and args.backend not in {i.name for i in gf.backends.available()}:
        import cuda_tools   # the CPU stand-in of the CuPy backend, for a dry run without a GPU
        cuda_tools.use_host_backend()
    ok, why = {i.name: (i.available, i.reason) for i in gf.backends.available()}.get(GPU, (False, "not installed"))
    if not ok:
        print(f"FAIL: the {GPU} backend is not available: {why}")
        return 1
    return train(args.steps) if args.mode == "train" else speed(args.steps)


if __name__ == "__main__":
    sys.exit(main())
