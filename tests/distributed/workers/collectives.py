"""Run by tests/distributed/test_mpi_jobs.py under ``mpirun -n N`` (or alone, as a job
of one): the collective ops against NumPy, and their gradients against finite
differences of the whole job's loss (the sum of every rank's loss), in float64.

Every rank computes what every other rank feeds (inputs are a function of the rank), so
each result is checked against a NumPy reference. Prints ``rank R ok`` at the end.
"""
import os
import sys
from pathlib import Path

import numpy as np
from mpi4py import MPI  # the test's own view of the job, independent of graphflow's

import graphflow as gf
import graphflow.distributed as dist

dist.init(timeout=60)
R, N = dist.rank(), dist.size()
world = MPI.COMM_WORLD
DEVICE = os.environ.get("GRAPHFLOW_TEST_DEVICE")   # "portable-on-host": device arrays, the NCCL stand-in
if DEVICE:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "gpu"))
    import cuda_tools
    (cuda_tools.use_host_backend if DEVICE == cuda_tools.HOST else cuda_tools.use_portable_backend)()
    gf.set_default_backend(DEVICE)


def data(rank, shape, dtype="float32", offset=0.0):
    """What rank ``rank`` feeds: distinct per rank and per element."""
    n = int(np.prod(shape))
    return (np.arange(n).reshape(shape) * (rank + 1) + 10 * rank + offset).astype(dtype)


def check_values():
    x = gf.placeholder((2, 3), name="x")
    xi = gf.placeholder((4,), "int32", name="xi")
    xd = gf.placeholder((5,), "float64", name="xd")
    rows = gf.placeholder((None, 3), name="rows")
    outs = [dist.allreduce(x, op=op) for op in ("mean", "sum", "max", "min")]
    outs += dist.allreduce([x, xi, xd, x * 2.0], op="sum")    # three dtypes: three exchanges
    outs += dist.broadcast([x, x + 1.0], root=N - 1)
    outs.append(dist.broadcast(xi, root=0))
    outs.append(dist.allgather(rows))
    f = gf.function([x, xi, xd, rows], outs)
    got = f(data(R, (2, 3)), data(R, (4,), "int32"), data(R, (5,), "float64"), data(R, (R + 1, 3)))
    xs = np.stack([data(r, (2, 3)) for r in range(N)])
    ints = np.stack([data(r, (4,), "int32") for r in range(N)])
    doubles = np.stack([data(r, (5,), "float64") for r in range(N)])
    expected = [xs.mean(0), xs.sum(0), xs.max(0), xs.min(0),
                xs.sum(0), ints.sum(0).astype("int32"), doubles.sum(0), (2 * xs).sum(0),
                data(N - 1, (2, 3)), data(N - 1, (2, 3)) + 1, data(0, (4,), "int32"),
                np.concatenate([data(r, (r + 1, 3)) for r in range(N)])]
    assert len(got) == len(expected)
    for i, (g, e) in enumerate(zip(got, expected)):
        assert g.dtype == e.dtype and g.shape == e.shape, (i, g.dtype, e.dtype, g.shape, e.shape)
        np.testing.assert_allclose(g, e, rtol=1e-6, err_msg=f"output {i}")
    # one fused exchange per dtype: 4 single + 3 (fused list) + 1 + 1 + 1
    assert f.program.report.kernels["allreduce"] == 7, f.program.report.kernels


def check_not_merged_or_folded():
    """Two equal all-reduces are two exchanges; an all-reduce of a constant is not folded."""
    x = gf.placeholder((3,), name="x")
    before = dist.stats()["collectives"]
    f = gf.function([x], [dist.allreduce(x, op="sum"), dist.allreduce(x, op="sum")])
    a, b = f(np.ones(3, np.float32))
    np.testing.assert_array_equal(a, np.full(3, N, np.float32))
    np.testing.assert_array_equal(b, a)
    assert dist.stats()["collectives"] - before == (2 if N > 1 else 0)
    c = gf.function([], dist.allreduce(gf.constant([1.0, 2.0]), op="sum"))()
    np.testing.assert_array_equal(c, [N, 2.0 * N])
    assert "allreduce" in f.program.report.kernels


def job_loss(f, feeds_of_rank):
    """The whole job's loss: every rank evaluates its own, the sum goes to all."""
    return world.allreduce(float(f(*feeds_of_rank)), op=MPI.SUM)


def check_gradient(name, build, in_shape):
    """d(sum over ranks of loss_r)/dx_r from the graph vs central differences."""
    x = gf.placeholder((None,) + in_shape[1:], "float64", name="x")
    y = build(x)
    rng = np.random.default_rng(100 + R)
    mine = rng.normal(size=in_shape)
    w = gf.placeholder((None,) + tuple(y.shape[1:]), "float64", name="w")
    weights = rng.normal(size=gf.function([x], y)(mine).shape)
    loss = gf.sum(y * w)
    f = gf.function([x, w], loss)
    analytic = gf.function([x, w], gf.grad(loss, x))(mine, weights).reshape(-1)
    eps = 1e-5
    for rank in range(N):
        sizes = world.allgather(mine.size)
        for i in range(sizes[rank]):
            bumped = []
            for sign in (1, -1):
                v = mine.copy().reshape(-1)
                if rank == R:
                    v[i] += sign * eps
                bumped.append(job_loss(f, [v.reshape(mine.shape), weights]))
            numeric = (bumped[0] - bumped[1]) / (2 * eps)
            if rank == R:
                assert abs(numeric - analytic[i]) < 1e-6 * max(1.0, abs(numeric)), (name, rank, i, numeric, analytic[i])


def main():
    check_values()
    check_not_merged_or_folded()
    check_gradient("allreduce(sum)", lambda x: gf.tanh(dist.allreduce(x * x, op="sum")), (2, 2))
    check_gradient("allreduce(mean)", lambda x: dist.allreduce(x, op="mean") ** 2, (3,))
    check_gradient("broadcast", lambda x: gf.tanh(dist.broadcast(x, root=N - 1)), (2, 2))
    check_gradient("allgather", lambda x: gf.tanh(dist.allgather(x)), (R + 1, 3))
    if DEVICE and N > 1:   # the device path ran over (stand-in) NCCL, not through host copies
        from graphflow.distributed.context import current
        calls = current().device["nccl"].calls
        assert calls > 10, calls
        print(f"rank {R}: {calls} NCCL calls on {DEVICE}", flush=True)
    print(f"rank {R} ok", flush=True)


if __name__ == "__main__":
    main()
    sys.exit(0)
