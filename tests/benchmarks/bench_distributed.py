#!/usr/bin/env python3
"""Data-parallel scaling of the demo's VGG-like CNN (28x28x1 inputs, 10 classes, SGD with
Nesterov momentum, dropout on) with 1 and 2 processes on this machine, each process with
one BLAS thread and a batch of 32 of its own (Horovod's weak scaling: 2 processes train
on 64 samples per step). Each rank runs in its own session (``setsid``), so that Linux's
per-session CPU fairness (autogroup) gives it its own share of a busy machine, as a
process on a machine of its own would have.

Runs the two jobs alternately ``rounds`` times and prints the medians: throughput
(samples/s), step time, the time each step spends in communication (moving data, and
waiting at the rendezvous for the other rank), the bytes all-reduced per step, the
scaling efficiency (throughput with 2 / twice the throughput with 1), and what ring
all-reduce of those bytes would cost between machines at 10 and 100 Gb/s:

    .venv/bin/python tests/benchmarks/bench_distributed.py [steps] [rounds]
"""
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))
B, NCLS = 32, 10
LATENCY = 10e-6  # seconds per message step between machines (TCP over 10/100 GbE, order of magnitude)


def worker(steps):
    import graphflow.distributed as dist
    from graphflow.keras import distributed as kd
    from graphflow.keras.optimizers import SGD
    from vgg_cnn import vgg_like  # the demo's model

    dist.init()
    rank, size = dist.rank(), dist.size()
    model = vgg_like((28, 28, 1), NCLS)
    model.compile(loss="categorical_crossentropy",
                  optimizer=kd.DistributedOptimizer(SGD(lr=0.01, momentum=0.9, nesterov=True)))
    rng = np.random.default_rng(rank)
    x = rng.random((4 * B, 28, 28, 1), dtype=np.float32)
    y = np.eye(NCLS, dtype=np.float32)[rng.integers(0, NCLS, 4 * B)]
    step = model.train_function
    feeds = [[x[k * B:(k + 1) * B], y[k * B:(k + 1) * B], np.ones(B, np.float32)] for k in range(4)]
    for k in range(3):
        step(*feeds[k % 4])
    kd.average(0.0)  # start together
    dist.reset_stats()
    times = []
    start, cpu = time.perf_counter(), time.process_time()
    for k in range(steps):
        t0 = time.perf_counter()
        step(*feeds[k % 4])
        times.append(time.perf_counter() - t0)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    stats = dist.stats()  # before the averages below, which are collectives too
    elapsed, cpu = kd.average([elapsed, cpu])  # the ranks finish within a step of each other
    result = {"processes": size, "samples_per_s": size * B * steps / elapsed,
              "step_ms": 1e3 * statistics.median(times), "cpu_ms": 1e3 * cpu / steps,
              "transfer_ms": 1e3 * stats["transfer_seconds"] / steps, "wait_ms": 1e3 * stats["wait_seconds"] / steps,
              "bytes_per_step": stats["bytes"] / steps, "allreduces_per_step": stats["collectives"] / steps,
              "params": int(model.count_params())}
    if rank == 0:
        print("RESULT " + json.dumps(result), flush=True)


def run(n, steps):
    from graphflow.distributed import launch
    # each rank in a session of its own: Linux's per-session CPU fairness (autogroup) would
    # otherwise give all ranks of the job together one share of a busy machine
    if shutil.which("setsid"):
        args, env = launch.command(n, [sys.executable, __file__, "--worker", str(steps)], python="setsid",
                                   allow_root=True)
    else:
        args, env = launch.command(n, [__file__, "--worker", str(steps)], allow_root=True)
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=1200)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if proc.returncode != 0 or line is None:
        raise SystemExit(f"the {n}-process job failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(line[len("RESULT "):])


def ring_seconds(nbytes, processes, gbit):
    """Ring all-reduce: 2 (p-1)/p of the bytes cross each link, in 2 (p-1) steps."""
    return 2 * (processes - 1) / processes * nbytes / (gbit * 1e9 / 8) + 2 * (processes - 1) * LATENCY


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    results = {1: [], 2: []}
    for _ in range(rounds):
        for n in (1, 2):
            results[n].append(run(n, steps))
    med = {n: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for n, rs in results.items()}
    print(f"VGG-like CNN, 28x28x1, batch {B} per process, {steps} steps, median of {rounds} alternating rounds, "
          f"one BLAS thread per process")
    print(f"{'processes':>9} {'samples/s':>10} {'step ms':>8} {'CPU ms/step':>12} {'core share':>11} "
          f"{'comm ms/step':>13} {'wait ms/step':>13} {'bytes all-reduced/step':>23} {'all-reduces/step':>17}")
    for n, m in med.items():
        print(f"{n:>9} {m['samples_per_s']:>10.1f} {m['step_ms']:>8.1f} {m['cpu_ms']:>12.1f} "
              f"{m['cpu_ms'] / m['step_ms']:>11.2f} {m['transfer_ms']:>13.2f} {m['wait_ms']:>13.2f} "
              f"{m['bytes_per_step']:>23,.0f} {m['allreduces_per_step']:>17.0f}")
    per_round = ", ".join(f"{b['samples_per_s'] / (2 * a['samples_per_s']):.2f}" for a, b in zip(results[1], results[2]))
    print(f"scaling efficiency with 2 processes (samples/s with 2 / twice that with 1): "
          f"{med[2]['samples_per_s'] / (2 * med[1]['samples_per_s']):.2f} (per round: {per_round})")
    print(f"work efficiency (CPU time per step with 1 / with 2, each process on its own batch; 1.0 = distribution "
          f"costs no CPU): {med[1]['cpu_ms'] / med[2]['cpu_ms']:.2f}")
    print("  'core share' is the CPU time a process got per second of its steps: below 1, other work on this "
          "machine\n  took the cores, and the wall-clock numbers measure that, not graphflow.")
    nbytes, compute = med[2]["bytes_per_step"], med[1]["cpu_ms"] / 1e3
    print(f"between machines ({med[1]['params']:,} parameters = {nbytes / 2**20:.2f} MiB all-reduced per step; "
          f"compute {1e3 * compute:.0f} ms per step = the CPU time of one process here; ring all-reduce with "
          f"{LATENCY * 1e6:.0f} us per message step; efficiency without overlap = compute / (compute + all-reduce)):")
    for p in (2, 8, 64):
        cells = []
        for gbit in (10, 100):
            t = ring_seconds(nbytes, p, gbit)
            cells.append(f"{gbit:>3} Gb/s: {1e3 * t:6.2f} ms, efficiency {compute / (compute + t):.3f}")
        print(f"  {p:>2} machines  " + "   ".join(cells))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(int(sys.argv[2]))
    else:
        main()
