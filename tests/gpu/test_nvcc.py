"""nvcc compiles the CUDA sources the CuPy backend hands NVRTC: the hand-written kernels
(assembled for sm_90, float with 32-bit and double with 64-bit indices: each template
parameter in both its forms) and the generated kernel of every element-wise pattern of
the corpus (tests/gpu/corpus.py), alternately in its contiguous / 32-bit and its strided /
64-bit form, to PTX. Device code only; nothing runs. Skipped where nvcc is not on PATH.
Each unit is compiled once per content (cached by hash in a temp folder)."""
from __future__ import annotations

from cuda_tools import needs_nvcc, nvcc_check, static_unit
from corpus import corpus

from graphflow_cupy.codegen import Operand, fused_source
from graphflow_cupy.source import STATIC_FILES, common, static_kernels


def generated_unit() -> tuple:
    """``(translation unit, number of kernels)`` for the corpus."""
    patterns = {(op, tuple(t.dtype for t in types)) for op, types in corpus()}
    bodies = []
    for i, (op, dtypes) in enumerate(sorted(patterns, key=repr)):
        kind, ndim, index = ("c", 0, "int32") if i % 2 else ("g", 3, "int64")
        bodies.append(fused_source(op, [Operand(d, kind) for d in dtypes], ndim, index, header=False)[1])
    return common() + "\n" + "\n".join(bodies), len(bodies)


@needs_nvcc
def test_hand_written_kernels_compile_in_every_instantiation():
    families = [k for f in STATIC_FILES for k in static_kernels(f)]
    assert len(families) == 14
    unit = static_unit([("float32", "int32"), ("float64", "int64")])
    assert unit.count("(void*)&") == 28
    assert nvcc_check(unit, "cubin").stat().st_size > 0


@needs_nvcc
def test_every_generated_kernel_of_the_corpus_compiles():
    unit, n = generated_unit()
    assert n > 100
    assert nvcc_check(unit, "ptx").stat().st_size > 0
