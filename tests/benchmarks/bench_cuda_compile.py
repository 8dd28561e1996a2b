#!/usr/bin/env python3
"""How many CUDA compiles does a first GPU run make, and what might they cost? (a script,
not collected by pytest; no GPU needed)

The CuPy backend compiles each source once per process with NVRTC (CuPy keeps the
binary in its disk cache, so a second run loads it): one source per generated kernel
(an element-wise group in one layout and index type) and one per hand-written csrc file
and (dtype, index type) instantiation. This script finds which sources the VGG-like
CNN's training step and inference (tests/gpu/vgg_check.py's model, batch 32, 100x100x3)
and the conformance catalog ask for, by running them on the CPU stand-in with kernels
that record their source (``HostDevice.collect``), then compiles each on its own with
nvcc to a cubin for sm_90 (front end, NVVM and ptxas: the work NVRTC plus the driver's
load does, plus nvcc's process start), one at a time, and prints counts, median and
total seconds. nvcc is an upper bound on NVRTC, which runs in-process.

    python tests/benchmarks/bench_cuda_compile.py              # --limit N: time N sources only
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TESTS = Path(__file__).resolve().parents[1]
for sub in ("gpu", "core"):
    sys.path.insert(0, str(TESTS / sub))

import cuda_tools  # noqa: E402
from graphflow_cupy.source import NVRTC_OPTIONS, static_kernels, static_source  # noqa: E402


class Recorder(cuda_tools.HostDevice):
    """The stand-in's kernels, noting each source a GPU would compile."""

    def __init__(self):
        super().__init__()
        self.generated, self.files = {}, set()

    def function(self, source, name):
        self.generated[name] = source
        return super().function(source, name)

    def static(self, kernel, dtype, index):
        self.files.add((kernel.file, np.dtype(dtype).name, np.dtype(index).name))
        return super().static(kernel, dtype, index)


def sources_of(run) -> tuple[dict, set]:
    """(generated kernel name -> source, {(csrc file, dtype, index)}) that ``run`` asks for."""
    host = cuda_tools.use_host_backend(host=Recorder())
    host.collect(run)
    return host.generated, host.files


def vgg():
    import vgg_check
    vgg_check.SHAPE, vgg_check.BATCH, vgg_check.GPU = (100, 100, 3), 32, cuda_tools.HOST
    model = vgg_check.model_on(cuda_tools.HOST)
    x, y = vgg_check.data(1)
    model.train_on_batch(x, y)
    model.predict(x[:32], batch_size=32)


def catalog():
    import graphflow as gf
    from conformance_cases import CASES, build, feeds
    for case in CASES:
        try:
            phs, outs = build(case)
            with np.errstate(all="ignore"):
                gf.function(phs, outs, backend=cuda_tools.HOST)(*feeds(case))
        except Exception:  # garbage values of the recording run may upset a check
            pass


def nvcc_seconds(source: str, nvcc: str) -> float:
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "k.cu"
        src.write_text(source)
        t0 = time.perf_counter()
        subprocess.run([nvcc, "--cubin", f"-arch={cuda_tools.ARCH}", "-std=c++17", *NVRTC_OPTIONS, "-o",
                        str(Path(d) / "k.cubin"), str(src)], check=True, capture_output=True)
        return time.perf_counter() - t0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="time at most this many sources of each kind")
    args = parser.parse_args(argv)
    from graphflow_cupy.source import INDEX_TYPES, KERNEL_DTYPES, instantiations
    found = {}
    for name, run in (("VGG-like CNN step + inference", vgg), ("conformance catalog", catalog)):
        generated, files = sources_of(run)
        found[name] = (generated, files)
        print(f"{name}: {len(generated)} generated kernels, {len(files)} csrc file instantiations "
              f"({', '.join(sorted(f'{f}<{d},{i}>' for f, d, i in files))})")
    gen = {k: v for g, _ in found.values() for k, v in g.items()}
    files = set().union(*(f for _, f in found.values()))
    print(f"both: {len(gen)} generated + {len(files)} csrc = {len(gen) + len(files)} NVRTC compiles in a first run "
          f"of tests/gpu_check.sh's steps 3-5")
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        print("nvcc is not on PATH: no compile times")
        return 0
    units = {"generated": list(gen.values()), "csrc": []}
    for f, d, i in sorted(files):
        kernels = static_kernels(f)
        units["csrc"].append(static_source(f) + "\n" + instantiations(kernels, {d: KERNEL_DTYPES[d]},
                                                                       {i: INDEX_TYPES[i]}))
    print(f"nvcc --cubin -arch={cuda_tools.ARCH}, one source at a time (machine load: {os.getloadavg()[0]:.1f}):")
    for kind, sources in units.items():
        sources = sources[:args.limit] if args.limit else sources
        secs = [nvcc_seconds(s, nvcc) for s in sources]
        n_all = len(units[kind])
        print(f"  {kind:<9} {len(secs)} timed: median {statistics.median(secs):.2f} s, total {sum(secs):.1f} s "
              f"(all {n_all}: ~{statistics.median(secs) * n_all:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
