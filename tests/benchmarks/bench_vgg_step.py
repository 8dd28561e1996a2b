"""graphflow's side of the VGG-like CNN training-step benchmark (the seed note's model).

Same work as ../shared/bench/peer_torch_vgg.py: batch 32, 100x100x3 float32, 10 classes,
SGD(lr=0.01, momentum=0.9, nesterov=True), softmax cross-entropy, dropout on. Prints one
line ``RESULT {json}`` with train/infer medians (ms), first step (s) and peak RSS (MB), which
``../shared/bench/compare_vgg.sh`` sets beside PyTorch's in the same run:

    .venv/bin/python tests/benchmarks/bench_vgg_step.py [steps]
    ../shared/bench/compare_vgg.sh 3
"""
import json
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

import graphflow.keras as keras
from graphflow.keras.optimizers import SGD

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
from vgg_cnn import vgg_like  # noqa: E402

B, H, W, C, NCLS = 32, 100, 100, 3, 10
TRAIN_GFLOP = 40.61  # forward 13.54 GFLOP x 3, as the peer counts it


def build():
    model = vgg_like((H, W, C), NCLS)  # the seed note's model, shared with the demo
    model.compile(loss="categorical_crossentropy", optimizer=SGD(lr=0.01, momentum=0.9, nesterov=True))
    return model


def timed(fn, n, warmup):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(ts)


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    rng = np.random.default_rng(0)
    x = rng.random((4 * B, H, W, C), dtype=np.float32)
    y = keras.utils.to_categorical(rng.integers(0, NCLS, 4 * B), NCLS).astype(np.float32)
    t0 = time.perf_counter()
    model = build()
    it = [0]

    def train():
        k = it[0] % 4
        it[0] += 1
        model.train_on_batch(x[k * B:(k + 1) * B], y[k * B:(k + 1) * B])

    def infer():
        model.predict_on_batch(x[:B])

    train()
    first = time.perf_counter() - t0
    train_ms = timed(train, steps, 2)
    infer_ms = timed(infer, steps, 2)
    print("RESULT " + json.dumps({
        "name": "graphflow", "train": {"median_ms": train_ms}, "infer": {"median_ms": infer_ms},
        "first_step_s": first, "train_gflops_per_s": TRAIN_GFLOP / (train_ms / 1e3),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }), flush=True)


if __name__ == "__main__":
    main()
