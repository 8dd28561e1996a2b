"""Shared checks for rewrite tests: compile at O0 and at a level, compare numbers, look
at what the schedule holds and which rewrites fired."""
from __future__ import annotations

import numpy as np

import graphflow as gf


def compile_both(inputs, outputs, level="O1"):
    return gf.function(inputs, outputs, optimize="O0"), gf.function(inputs, outputs, optimize=level)


def kernels(f) -> list:
    """Op names of the compiled schedule, in run order."""
    return [n.op.op_name() for n in f.program.schedule]


def fired(f) -> dict:
    return f.program.report.fired()


def check(build, shapes, rule, expect_kernels, level="O1", data=None, dtype="float64", rtol=1e-12):
    """``build(*placeholders)`` -> output; the rewrite ``rule`` fires at ``level``, the
    schedule's op names are ``expect_kernels`` (sorted), values match O0 on ``data``."""
    phs = [gf.placeholder(s, dtype, name=f"x{i}") for i, s in enumerate(shapes)]
    out = build(*phs)
    f0, f1 = compile_both(phs, out, level)
    assert rule in fired(f1), f"{rule} did not fire; fired: {fired(f1)}"
    assert sorted(kernels(f1)) == sorted(expect_kernels), kernels(f1)
    rng = np.random.default_rng(0)
    data = data or [rng.normal(size=tuple(2 if d is None else d for d in s)).astype(dtype) for s in shapes]
    np.testing.assert_allclose(f1(*data), f0(*data), rtol=rtol, atol=1e-12)
    return f1
