#!/usr/bin/env python3
"""What a loop costs: ``gf.scan`` against hand-written NumPy loops, in one process.

    PYTHONPATH=.:backends python tests/benchmarks/bench_scan.py [--repeat 15]

Three bodies:

- ``tiny``: ``s = 0.5 * s + x_t`` on 4 floats, 2000 steps — the per-iteration overhead of
  the loop driver and one kernel call (the hand loop is the floor: one NumPy expression).
- ``rnn``: ``h = tanh(x_t @ W + h @ U)``, batch 64, 32 features, 128 units, 50 steps —
  forward, and forward + backward (BPTT for W, U, x and h0) against a hand-written NumPy
  forward and BPTT that stack into preallocated arrays; the ``_1blas`` rows run that hand
  loop with single-threaded BLAS (as graphflow runs loop bodies), the tuned peer.

The two run alternately (so on a shared machine both see the same load); it prints
medians (µs per step) and the median per-pair ratio graphflow / NumPy; the last line is
``RESULT {...}`` with the same numbers for scripts.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

import graphflow as gf


def _seconds(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def paired(ours, peer, repeat, steps):
    """``(our median, peer median, median of per-pair ratios)``, per step. The two run
    alternately, so on a shared machine both see the same load."""
    ours(), peer()
    a, b = [], []
    for _ in range(repeat):
        a.append(_seconds(ours))
        b.append(_seconds(peer))
    ratio = float(np.median(np.array(a) / np.array(b)))
    return float(np.median(a)) / steps, float(np.median(b)) / steps, ratio


def tiny(repeat, steps=2000):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((steps, 4)).astype("float32")
    s0 = np.zeros(4, "float32")
    x, h = gf.placeholder((None, 4)), gf.placeholder((4,))
    f = gf.function([x, h], gf.scan(lambda xt, s: s * 0.5 + xt, sequences=x, outputs_info=h))

    def hand():
        s, out = s0, np.empty_like(X)
        for t in range(steps):
            s = s * np.float32(0.5) + X[t]
            out[t] = s
        return out
    np.testing.assert_allclose(f(X, s0), hand(), rtol=1e-5, atol=1e-5)
    return paired(lambda: f(X, s0), hand, repeat, steps)


def _numpy_rnn(X, H0, W, U, gH=None):
    """Forward (and, given ``gH``, BPTT) of ``h = tanh(x_t W + h U)`` by hand."""
    T = len(X)
    hs = np.empty((T,) + H0.shape, X.dtype)
    h = H0
    for t in range(T):
        h = np.tanh(X[t] @ W + h @ U)
        hs[t] = h
    if gH is None:
        return hs
    gW, gU, gX = np.zeros_like(W), np.zeros_like(U), np.empty_like(X)
    carry = np.zeros_like(H0)
    for t in range(T - 1, -1, -1):
        gpre = (gH[t] + carry) * (1 - hs[t] * hs[t])
        prev = hs[t - 1] if t else H0
        gW += X[t].T @ gpre
        gU += prev.T @ gpre
        gX[t] = gpre @ W.T
        carry = gpre @ U.T
    return hs, gW, gU, gX, carry


def rnn(repeat, T=50, B=64, F=32, H=128):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((T, B, F)).astype("float32")
    H0 = np.zeros((B, H), "float32")
    W = (0.1 * rng.standard_normal((F, H))).astype("float32")
    U = (0.1 * rng.standard_normal((H, H))).astype("float32")
    x, h0 = gf.placeholder((None, None, F), name="x"), gf.placeholder((None, H), name="h0")
    w, u = gf.variable(W, name="w"), gf.variable(U, name="u")
    hs = gf.scan(lambda xt, h: gf.tanh(xt @ w + h @ u), sequences=x, outputs_info=h0, name="rnn")
    fwd = gf.function([x, h0], hs)
    loss = hs.sum() * 0.5
    bwd = gf.function([x, h0], [hs] + gf.grad(loss, [w, u, x, h0]))
    gH = np.full((T, B, H), 0.5, "float32")
    ours, ref = bwd(X, H0), _numpy_rnn(X, H0, W, U, gH)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, rtol=2e-3, atol=2e-4)
    hand_fwd, hand_bwd = (lambda: _numpy_rnn(X, H0, W, U)), (lambda: _numpy_rnn(X, H0, W, U, gH))
    return {"rnn_fwd": paired(lambda: fwd(X, H0), hand_fwd, repeat, T),
            "rnn_fwd_1blas": paired(lambda: fwd(X, H0), _one_blas_thread(hand_fwd), repeat, T),
            "rnn_fwd_bwd": paired(lambda: bwd(X, H0), hand_bwd, repeat, T),
            "rnn_fwd_bwd_1blas": paired(lambda: bwd(X, H0), _one_blas_thread(hand_bwd), repeat, T)}


def _one_blas_thread(fn):
    """``fn`` run with single-threaded BLAS: the tuned hand loop (on a shared machine a
    BLAS pool's wake-ups dominate small products; graphflow's loops run that way)."""
    from threadpoolctl import threadpool_limits

    def run():
        with threadpool_limits(1, user_api="blas"):
            return fn()
    return run


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    results = {"tiny": tiny(args.repeat)}
    results.update(rnn(args.repeat))
    print(f"{'body':<20}{'graphflow µs/step':>18}{'NumPy µs/step':>16}{'ratio':>8}")
    for name, (ours, peer, ratio) in results.items():
        print(f"{name:<20}{1e6 * ours:>18.1f}{1e6 * peer:>16.1f}{ratio:>8.2f}")
    print("RESULT " + json.dumps({k: {"graphflow_us": round(1e6 * a, 2), "numpy_us": round(1e6 * b, 2),
                                      "ratio": round(r, 3)} for k, (a, b, r) in results.items()}))


if __name__ == "__main__":
    main()
