#!/usr/bin/env python3
"""Run the backend conformance catalog (tests/core/conformance_cases.py) on one backend
without pytest (GPU machines may not have it): every case against the NumPy backend,
and again on the same backend for determinism. Prints one line per case and exits 1 if
any failed.

    python tests/gpu/run_catalog.py --backend cupy
"""
from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

import numpy as np

import graphflow as gf

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))

from conformance_cases import CASES, compare, feeds, run, training_step  # noqa: E402


def check(case, backend) -> str:
    ref, _, _ = run(case, "numpy")
    got, f, outs = run(case, backend)
    worst = compare(case, got, ref, outs)
    if not any(n.op.random for n in f.program.schedule):
        with np.errstate(all="ignore"):
            again = f(*feeds(case))
        for k, (g, a) in enumerate(zip(got, again)):
            if not np.array_equal(g, a, equal_nan=True):
                raise AssertionError(f"output {k} differs between two runs on {backend}")
    kernels = len(f.program.schedule)
    return "bit for bit" if case.exact else f"{worst:.2f} of the tolerance, {kernels} kernels"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="cupy")
    parser.add_argument("-k", default="", help="only cases whose name contains this")
    args = parser.parse_args(argv)
    cases = [c for c in CASES if args.k in c.name]
    if args.backend in ("cupy-on-host", "portable-on-host") and \
            args.backend not in {i.name for i in gf.backends.available()}:
        import cuda_tools   # the CPU stand-ins of the CuPy backend, for a dry run without a GPU
        (cuda_tools.use_host_backend if args.backend == cuda_tools.HOST else cuda_tools.use_portable_backend)()
    failed, t0 = [], time.perf_counter()
    for case in cases:
        t = time.perf_counter()
        try:
            note = check(case, args.backend)
            print(f"PASS {case.name:<48} {note} ({time.perf_counter() - t:.1f} s)", flush=True)
        except Exception as exc:  # report every case, then fail
            failed.append(case.name)
            print(f"FAIL {case.name}: {type(exc).__name__}: {str(exc)[:2000]}", flush=True)
            traceback.print_exc(limit=3)
    try:
        losses, values = training_step(args.backend)[:2]
        ref_losses, ref_values = training_step("numpy")[:2]
        np.testing.assert_allclose(losses, ref_losses, rtol=1e-5)
        for v, r in zip(values, ref_values):
            np.testing.assert_allclose(v, r, rtol=1e-4, atol=1e-6)
        print(f"PASS training step (fused groups, epilogue, dropout, momentum): losses {losses}")
    except Exception as exc:
        failed.append("training step")
        print(f"FAIL training step: {type(exc).__name__}: {str(exc)[:2000]}")
    print(f"catalog on {args.backend}: {len(cases) + 1 - len(failed)} of {len(cases) + 1} checks pass "
          f"({time.perf_counter() - t0:.0f} s)")
    if failed:
        print("failed:", ", ".join(failed))
    return 1 if failed or not cases else 0


if __name__ == "__main__":
    sys.exit(main())
