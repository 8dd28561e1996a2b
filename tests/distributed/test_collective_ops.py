"""The collective ops as graph ops, without starting MPI: types, errors, gradients'
structure, and the compiler's respect for them (never merged, never folded). Their
values and numeric gradients are checked in real MPI jobs (test_mpi_jobs.py)."""
from __future__ import annotations

import os
import subprocess
import sys
import importlib.util

import numpy as np
import pytest

import graphflow as gf
import graphflow.distributed as dist
from graphflow.graph import toposort
from graphflow.ops import collective as co


def ops_of(outputs, kind):
    return [n for n in toposort(outputs if isinstance(outputs, list) else [outputs]) if isinstance(n.op, kind)]


def test_types_are_kept_and_lists_fuse_per_dtype():
    x = gf.placeholder((None, 3), name="x")
    i = gf.placeholder((4,), "int32", name="i")
    d = gf.placeholder((2, 2), "float64", name="d")
    a, b, c, e = dist.allreduce([x, i, d, x * 2.0], op="sum")
    assert [t.type for t in (a, b, c, e)] == [x.type, i.type, d.type, x.type]
    nodes = ops_of([a, b, c, e], co.Allreduce)
    assert sorted(len(n.inputs) for n in nodes) == [1, 1, 2]  # float32 pair fused, one each for the rest
    assert dist.broadcast(d, root=1).type == d.type
    g = dist.allgather(x)
    assert g.shape == (None, 3) and g.dtype == "float32"
    assert co.ReduceScatter()(g, x).type == x.type
    assert co.Reduce(0)(d).type == d.type


@pytest.mark.parametrize("build, message", [
    (lambda x, i: dist.allreduce(x, op="median"), "op must be one of"),
    (lambda x, i: dist.allreduce(i, op="mean"), "op='mean' needs a float tensor"),
    (lambda x, i: dist.allgather(gf.sum(x)), "rank >= 1"),
    (lambda x, i: dist.broadcast(x, root=-1), "root must be a rank"),
    (lambda x, i: dist.allreduce(np.ones(3)), "expected a graphflow Tensor"),
    (lambda x, i: co.Allreduce("sum")(x, i), "one fused allreduce carries one dtype"),
    (lambda x, i: dist.allreduce(gf.greater(x, 0.0), op="max"), "cast to int32 first"),
])
def test_impossible_collectives_fail_when_built(build, message):
    x = gf.placeholder((2, 3), name="x")
    i = gf.placeholder((3,), "int32", name="i")
    with pytest.raises(gf.GraphError, match=message) as info:
        build(x, i)
    assert "test_collective_ops.py" in str(info.value)  # names the user's line


def test_equal_collectives_are_two_nodes_and_a_constant_one_is_not_folded():
    x = gf.placeholder((3,), name="x")
    assert co.Allreduce.collective and not co.Allreduce.random
    assert dist.allreduce(x) is not dist.allreduce(x)
    c = gf.constant([1.0, 2.0])
    f = gf.function([x], [dist.allreduce(x, op="sum"), dist.allreduce(x, op="sum"),
                          dist.allreduce(c, op="sum") * 2.0])
    assert f.program.report.kernels["allreduce"] == 3
    assert "allreduce×3" in f.program.report.format()
    assert "allreduce(sum)" in gf.viz.to_dot(f).source  # drawn like any op


def test_gradients_are_collectives_too():
    x = gf.placeholder((2, 3), "float64", name="x")
    assert ops_of(gf.grad(gf.sum(dist.allreduce(x, op="sum")), x), co.Allreduce)
    assert ops_of(gf.grad(gf.sum(dist.broadcast(x, root=1)), x), co.Reduce)[0].op.root == 1
    assert ops_of(gf.grad(gf.sum(dist.allgather(x)), x), co.ReduceScatter)
    with pytest.raises(gf.NonDifferentiableError, match="allreduce\\(op='max'\\) has no gradient"):
        gf.grad(gf.sum(dist.allreduce(x, op="max")), x)


def test_running_before_init_says_what_to_do():
    x = gf.placeholder((3,), name="x")
    f = gf.function([x], dist.allreduce(x))
    with pytest.raises(dist.NotInitializedError, match=r"call graphflow.distributed.init\(\) first"):
        f(np.ones(3, np.float32))
    with pytest.raises(dist.NotInitializedError):
        dist.rank()
    assert not dist.is_initialized()


def _init_in_subprocess(prelude, env=None):
    code = prelude + "\nimport graphflow.distributed as d\ntry:\n    d.init()\nexcept d.MPIUnavailableError as e:\n" \
                     "    print('ERROR', e)\nelse:\n    print('OK')\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})
    return proc.stdout + proc.stderr


def test_init_without_mpi4py_names_what_to_install():
    out = _init_in_subprocess("import sys; sys.modules['mpi4py'] = None")
    assert "ERROR graphflow.distributed needs mpi4py, which is not installed" in out
    assert "pip install 'graphflow[mpi]'" in out and "apt-get install openmpi-bin libopenmpi-dev" in out


@pytest.mark.skipif(importlib.util.find_spec("mpi4py") is None, reason="needs mpi4py without an MPI library")
def test_init_without_an_mpi_library_names_what_to_install():
    out = _init_in_subprocess("", env={"MPI4PY_LIBMPI": "/nonexistent/libmpi.so"})
    assert "is installed but cannot load an MPI library" in out and "/nonexistent/libmpi.so" in out
    assert "pip install 'graphflow[mpi]'" in out


def test_graphflow_imports_without_touching_mpi4py():
    code = "import sys, graphflow, graphflow.keras.distributed, graphflow_numpy; print('mpi4py' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_a_bad_timeout_is_refused_before_mpi_starts(monkeypatch):
    monkeypatch.setenv("GRAPHFLOW_COLLECTIVE_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="GRAPHFLOW_COLLECTIVE_TIMEOUT must be a number of seconds, got 'soon'"):
        dist.init()
    assert not dist.is_initialized()


def test_nccl_padding_round_trips_unequal_rows():
    """The GPU path pads rows to equal counts for NCCL; NumPy stands in for CuPy here."""
    from graphflow.distributed import device
    rows = np.array([1, 3, 2])
    top = int(rows.max())
    xs = [np.arange(n * 2, dtype=np.float32).reshape(n, 2) + 10 * r for r, n in enumerate(rows)]
    gathered = np.concatenate([device.padded_rows(np, x, top) for x in xs])
    np.testing.assert_array_equal(device.unpadded_rows(np, gathered, rows, top), np.concatenate(xs))
    g = np.concatenate(xs)
    blocks = device.scatter_layout(np, g, rows, top).reshape(len(rows), top, 2)
    for r, n in enumerate(rows):
        np.testing.assert_array_equal(blocks[r, :n], xs[r])
        assert not blocks[r, n:].any()
