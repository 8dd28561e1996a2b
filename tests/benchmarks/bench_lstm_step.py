#!/usr/bin/env python3
"""graphflow's side of the LSTM training-step benchmark.

Same work as ../shared/bench/peer_torch_lstm.py: input (batch 64, time 50, features 32)
float32 -> LSTM(128, sigmoid gates, tanh) keeping the last output -> Dense(10) -> softmax
cross-entropy; SGD(lr=0.01, momentum=0.9, nesterov=True). Prints one line
``RESULT {json}`` with train/infer medians (ms), the first step (s: model build +
compile + first step) and peak RSS (MB), which ``../shared/bench/compare_lstm.sh`` sets
beside PyTorch's nn.LSTM in the same run:

    .venv/bin/python tests/benchmarks/bench_lstm_step.py [steps] [--unroll] [--profile]
    ../shared/bench/compare_lstm.sh 3

``--profile`` prints the train function's per-op profile after the RESULT line.
"""
import argparse
import json
import time

import numpy as np

from graphflow.keras.layers import LSTM, Dense
from graphflow.keras.models import Sequential
from graphflow.keras.optimizers import SGD

from timing import peak_rss_mb, timed  # noqa: E402 (tests/benchmarks, the script's own folder)

B, T, FEAT, UNITS, NCLS = 64, 50, 32, 128, 10


def build(unroll):
    model = Sequential([LSTM(UNITS, recurrent_activation="sigmoid", unroll=unroll, input_shape=(T, FEAT)),
                        Dense(NCLS, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=SGD(lr=0.01, momentum=0.9, nesterov=True))
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("steps", nargs="?", type=int, default=15)
    ap.add_argument("--unroll", action="store_true", help="LSTM(unroll=True): the loop written out in the graph")
    ap.add_argument("--profile", action="store_true", help="print the train step's per-op profile")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4 * B, T, FEAT), dtype=np.float32)
    y = rng.integers(0, NCLS, 4 * B).astype(np.int32)
    t0 = time.perf_counter()
    model = build(args.unroll)
    it = [0]

    def train():
        k = it[0] % 4
        it[0] += 1
        model.train_on_batch(x[k * B:(k + 1) * B], y[k * B:(k + 1) * B])

    def infer():
        model.predict_on_batch(x[:B])

    train()
    first = time.perf_counter() - t0
    train_ms = timed(train, args.steps, 2)
    infer_ms = timed(infer, args.steps, 2)
    print("RESULT " + json.dumps({
        "name": "graphflow-lstm", "unroll": args.unroll, "train": {"median_ms": train_ms},
        "infer": {"median_ms": infer_ms}, "first_step_s": first,
        "peak_rss_mb": peak_rss_mb(),
    }), flush=True)
    if args.profile:
        f = model.train_function
        prof = f.profile(x[:B], y[:B, None], np.ones(B, np.float32)) if hasattr(f, "profile") else None
        print(prof if prof is not None else f.report())


if __name__ == "__main__":
    main()
