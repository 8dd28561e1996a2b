"""f.report(): per pass nodes before -> after, rewrites fired, time; kernels; static peak
memory and FLOPs for the shapes of the last call or given shapes."""
import io

import numpy as np

import graphflow as gf
from graphflow.compiler.cost import flops_of
from graphflow.compiler.shapes import concrete_types, source_types
from graphflow.graph import sources


def _report(f, **kw):
    buf = io.StringIO()
    if kw:
        print(f.program.report.format(**kw), file=buf)
    else:
        f.report(file=buf)
    return buf.getvalue()


def test_report_lists_passes_rewrites_and_kernels():
    x = gf.placeholder((None, 8), "float32")
    f = gf.function([x], gf.tanh(x / 2.0) * 3.0 + 1.0)
    text = _report(f)
    for name in ("prune", "fold", "merge", "canonicalize", "stabilize", "fuse", "schedule"):
        assert f"  {name} " in text
    assert "divide_by_constant×1" in text and "fused groups×1" in text and "ms" in text
    assert "kernels (1): fused×1" in text
    assert "call the function once" in text


def test_estimates_for_the_last_call_and_for_given_shapes():
    x = gf.placeholder((None, 100), "float32")
    f = gf.function([x], gf.sum(gf.exp(x) * 2.0 + 1.0, -1))
    f(np.ones((10, 100), "float32"))
    text = _report(f)
    assert "for placeholder" in text and "=(10, 100)" in text and "peak memory ≈" in text
    assert "4.00 kFLOP" in text  # 3 fused element-wise steps and a sum, over 1000 elements each
    bigger = _report(f, shapes={x: (1000, 100)})
    assert "=(1000, 100)" in bigger and "400.00 kFLOP" in bigger


def test_peak_memory_counts_planned_buffers_once():
    x = gf.placeholder((None, 1000), "float64")
    h = x
    for _ in range(10):  # a chain of groups split by reductions: buffers get reused
        h = gf.tanh(h * 2.0) - gf.mean(h, -1, keepdims=True)
    f = gf.function([x], gf.sum(h))
    feeds, mem, _ = f.program.estimate({x: (4, 1000)})
    assert mem["arena"] <= 3 * 4 * 1000 * 8 < mem["no_reuse"]


def test_flops_of_convolution_and_elementwise():
    x = gf.placeholder((None, 8, 8, 3), "float32")
    k = gf.variable(np.zeros((3, 3, 3, 4), "float32"))
    y = gf.nn.conv2d(x, k, padding="same")
    f = gf.function([x], y, optimize="O0")
    types = concrete_types(f.program.schedule, source_types(sources([y]), {x: (2, 8, 8, 3)}))
    assert flops_of(f.program.schedule, types) == 2 * (2 * 8 * 8 * 4) * (3 * 3 * 3)


def test_the_memory_estimate_counts_the_largest_kernel_scratch():
    """Kernels declare their work memory (KernelSpec.scratch_bytes): the conv layers' column
    matrices or Winograd tiles; the estimate adds the largest one call holds, also when
    the conv is the head of a fused conv + bias + ReLU."""
    from graphflow_numpy.kernels import nn_conv
    x = gf.placeholder((None, 30, 30, 16), "float32")
    k = gf.variable(np.ones((3, 3, 16, 8), "float32"))
    b = gf.variable(np.ones(8, "float32"))
    y = gf.relu(gf.nn.conv2d(x, k) + b)
    f = gf.function([x], gf.sum(y))
    assert any(n.op.op_name() == "fused_epilogue" for n in f.program.schedule)
    _, mem, _ = f.program.estimate({x: (4, 30, 30, 16)})
    want = nn_conv.scratch_bytes(gf.nn.Conv2D(), [(4, 30, 30, 16), (3, 3, 16, 8)])
    assert mem["scratch"] == want > 0
    assert mem["peak"] == mem["arena"] + mem["transient"] + mem["sources"] + want
    assert "kernel scratch" in _report(f, shapes={x: (4, 30, 30, 16)})
