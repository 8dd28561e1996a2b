"""Backends: the entry-point registry, selection (argument, default, environment), kernel
tables, and a conformance suite run on every available backend against NumPy.

The catalog (``conformance_cases.py``: every op of ``graphflow.ops`` and ``gf.nn``, their
gradients through ``gf.grad``, and the fused patterns the compiler makes) runs on every
backend ``gf.backends.available()`` lists besides NumPy, compared with the NumPy backend
(an unavailable one, such as ``cupy`` on a machine without a GPU, is skipped with its
reason), and on two stand-ins of a GPU whose arrays are not NumPy's (tests/gpu/host_cupy.py:
an implicit conversion to NumPy raises TypeError, as CuPy's does): ``cupy-on-host``, the
CuPy backend with its CUDA kernels compiled for the CPU (tests/gpu/cuda_tools.py), so its
launch code and kernel source run everywhere a C++ compiler does; and
``portable-on-host``, the NumPy backend's portable kernel table (what CuPy inherits)."""
from __future__ import annotations

import importlib
import importlib.metadata
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import graphflow as gf
from graphflow.graph import Op
from graphflow.runtime import Backend, KernelTable, backend as registry

from conformance_cases import CASES, NOT_OPS, build, compare, feeds, run, training_step

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gpu"))
import cuda_tools  # noqa: E402  (tests/gpu: the CuPy backend on the host)


@pytest.fixture
def fresh_registry(monkeypatch):
    """Test-local backends vanish afterwards; the default backend is restored."""
    registry.available()  # discover the installed ones first
    monkeypatch.setattr(registry, "_classes", dict(registry._classes))
    monkeypatch.setattr(registry, "_instances", dict(registry._instances))
    monkeypatch.setattr(registry, "_default", [None])
    monkeypatch.delenv("GRAPHFLOW_BACKEND", raising=False)


class Unavailable(Backend):
    name = "nodevice"

    def available(self):
        return False, "no such device on this machine"


class Broken(Backend):
    def __init__(self):
        raise ImportError("libmissing.so not found")


def numpy_backend():
    return registry.get_backend("numpy")


# ---------------------------------------------------------------- registry
def test_numpy_backend_is_installed_as_an_entry_point():
    eps = importlib.metadata.entry_points(group="graphflow.backends")
    by_name = {ep.name: ep for ep in eps}
    assert "numpy" in by_name
    graphflow_numpy = importlib.import_module("graphflow_numpy")
    assert by_name["numpy"].load() is graphflow_numpy.NumpyBackend
    assert issubclass(graphflow_numpy.NumpyBackend, Backend)


def test_available_lists_every_backend_with_a_reason():
    infos = gf.backends.available()
    numpy_info = next(i for i in infos if i.name == "numpy")
    assert numpy_info.available and numpy_info.reason == ""
    for info in infos:
        assert isinstance(info.available, bool) and (info.available or info.reason)


def test_unavailable_and_broken_plugins_are_listed_not_fatal(fresh_registry):
    registry.register_backend("nodevice", Unavailable)
    registry.register_backend("broken", Broken)
    infos = {i.name: i for i in gf.backends.available()}
    assert infos["nodevice"].available is False and infos["nodevice"].reason == "no such device on this machine"
    assert not infos["broken"].available and "failed to load: libmissing.so" in infos["broken"].reason
    assert infos["numpy"].available
    with pytest.raises(RuntimeError, match="'nodevice' cannot run here: no such device"):
        gf.function([], gf.constant(1.0), backend="nodevice")


def test_unknown_backend_lists_the_installed_ones(fresh_registry):
    registry.register_backend("nodevice", Unavailable)
    for call in (lambda: gf.set_default_backend("tpu"), lambda: gf.function([], gf.constant(1.0), backend="tpu")):
        with pytest.raises(ValueError, match=r"unknown backend 'tpu'; installed backends: ") as err:
            call()
        assert "numpy (available)" in str(err.value)
        assert "nodevice (unavailable: no such device on this machine)" in str(err.value)


def test_selection_by_argument_default_and_environment(fresh_registry, monkeypatch):
    class Other(type(numpy_backend())):
        name = "numpy-copy"

    registry.register_backend("numpy-copy", Other)
    x = gf.placeholder((2,))
    assert gf.function([x], x).backend.name == "numpy"
    assert gf.function([x], x, backend="numpy-copy").backend.name == "numpy-copy"
    assert gf.function([x], x, backend=numpy_backend()).backend is numpy_backend()
    monkeypatch.setenv("GRAPHFLOW_BACKEND", "numpy-copy")
    assert gf.function([x], x).backend.name == "numpy-copy"
    gf.set_default_backend("numpy")  # an explicit default beats the environment
    f = gf.function([x], x * 3)
    assert f.backend.name == "numpy" and f(np.ones(2)).tolist() == [3, 3]
    gf.set_default_backend(None)
    monkeypatch.setenv("GRAPHFLOW_BACKEND", "nope")
    with pytest.raises(ValueError, match="'nope' \\(from GRAPHFLOW_BACKEND\\)"):
        gf.function([x], x)


# ---------------------------------------------------------------- kernel tables
@dataclass(frozen=True)
class Twice(Op):
    """y = 2x (test-local)"""

    def infer(self, x):
        return x


@dataclass(frozen=True)
class Thrice(Twice):
    """y = 3x — a subclass: without its own kernel it would use its parent's"""


def test_kernel_table_registers_and_looks_up_through_the_mro():
    table = KernelTable()

    @table.register(Twice)
    def twice(op, node, xp):
        return lambda x, out=None: xp.multiply(x, 2, out=out)

    assert Twice in table and Thrice in table and table.lookup(Thrice) is twice
    assert table.lookup(Op) is None and gf.ops.elementwise.Add not in table


def test_a_missing_kernel_is_reported_at_compile_time():
    x = gf.placeholder((2,))
    y = Twice()(x)
    with pytest.raises(NotImplementedError, match=r"backend `numpy` has no kernel for Twice \(twice, made at .*test_backends.py"):
        gf.function([x], y)


# ---------------------------------------------------------------- conformance on every backend
def _backend_params():
    params = []
    for info in gf.backends.available():
        marks = () if info.available else pytest.mark.skip(reason=f"{info.name}: {info.reason}")
        params.append(pytest.param(info.name, marks=marks, id=info.name))
    return params


CONFORMANCE = [  # (name, builder on placeholders, NumPy reference, input shapes)
    ("add_broadcast", lambda a, b: a + b, lambda a, b: a + b, [(3, 4), (4,)]),
    ("mul_scalar", lambda a: a * 2.5 - 1, lambda a: a * np.float32(2.5) - 1, [(2, 3)]),
    ("div_pow", lambda a, b: (a / (b * b + 1)) ** 2, lambda a, b: (a / (b * b + 1)) ** 2, [(5,), (5,)]),
    ("unary", lambda a: gf.exp(gf.tanh(a)) + gf.sigmoid(a) + gf.relu(a) + gf.softplus(a),
     lambda a: np.exp(np.tanh(a)) + 1 / (1 + np.exp(-a)) + np.maximum(a, 0) + np.logaddexp(0, a), [(2, 5)]),
    ("where_clip", lambda a, b: gf.where(a > b, gf.clip(a, -0.5, 0.5), b),
     lambda a, b: np.where(a > b, np.clip(a, -0.5, 0.5), b), [(3, 2), (2,)]),
    ("reductions", lambda a: [a.sum(0), a.mean(1, keepdims=True), a.max(), gf.min(a, (0, 1)), gf.var(a, 1)],
     lambda a: [a.sum(0), a.mean(1, keepdims=True), a.max(), a.min(), a.var(1)], [(4, 3)]),
    ("argmax_cast", lambda a: [gf.argmax(a, 1), gf.cast(a, "int32"), gf.cast(a > 0, "float32")],
     lambda a: [a.argmax(1), a.astype(np.int32), (a > 0).astype(np.float32)], [(3, 4)]),
    ("shapes", lambda a: [a.reshape(6, 2), a.T, gf.expand_dims(a, 0),
                          gf.broadcast_to(gf.expand_dims(a, 0), (2, 3, 4))],
     lambda a: [a.reshape(6, 2), a.T, a[None], np.broadcast_to(a[None], (2, 3, 4))], [(3, 4)]),
    ("gradient", lambda a, b: gf.grad(gf.sum(gf.tanh(a * b) ** 2), [a, b]),
     lambda a, b: [(2 * np.tanh(a * b) * (1 - np.tanh(a * b) ** 2) * b),
                   (2 * np.tanh(a * b) * (1 - np.tanh(a * b) ** 2) * a).sum(0)], [(3, 2), (2,)]),
]


@pytest.mark.parametrize("backend", _backend_params())
@pytest.mark.parametrize("case", CONFORMANCE, ids=[c[0] for c in CONFORMANCE])
def test_backend_conformance(rng, backend, case):
    _, build, reference, shapes = case
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    phs = [gf.placeholder(s) for s in shapes]
    outs = build(*phs)
    got = gf.function(phs, outs, backend=backend)(*arrays)
    refs = reference(*arrays)
    got, refs = (got, refs) if isinstance(outs, list) else ([got], [refs])
    for t, g, r in zip(outs if isinstance(outs, list) else [outs], got, refs):
        r = np.asarray(r)
        assert isinstance(g, np.ndarray) and g.shape == r.shape == t.shape
        assert g.dtype == t.dtype
        np.testing.assert_allclose(g, r.astype(g.dtype), rtol=2e-5, atol=2e-6)


# ---------------------------------------------------------------- the catalog, against the NumPy backend
HOST = cuda_tools.HOST
PORTABLE = cuda_tools.PORTABLE   # the portable kernel table (CuPy's parent) on the stand-in's arrays


def _catalog_backends():
    params = [p for p in _backend_params() if p.values[0] != "numpy"]
    marks = () if cuda_tools.CXX else pytest.mark.skip(reason="no host C++ compiler for cupy-on-host")
    return params + [pytest.param(HOST, marks=marks, id=HOST), pytest.param(PORTABLE, id=PORTABLE)]


@pytest.fixture(scope="module")
def host_device():
    """One HostDevice for the module, its generated kernels built in one compile: a dry
    run of every case collects them first."""
    host = cuda_tools.HostDevice()

    def dry_run():
        for case in CASES:
            try:
                phs, outs = build(case)
                with np.errstate(all="ignore"):
                    gf.function(phs, outs, backend=HOST)(*feeds(case))
            except Exception:  # garbage values may upset a check; the real run will tell
                pass
        try:
            training_step(HOST, steps=1)
        except Exception:
            pass
    with pytest.MonkeyPatch.context() as mp:
        cuda_tools.use_host_backend(mp, host)
        host.collect(dry_run)
    return host


@pytest.fixture
def backend_name(request, monkeypatch):
    name = request.param
    if name == HOST:
        cuda_tools.use_host_backend(monkeypatch, request.getfixturevalue("host_device"))
    elif name == PORTABLE:
        cuda_tools.use_portable_backend(monkeypatch)
    return name


@pytest.mark.parametrize("backend_name", _catalog_backends(), indirect=True)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_catalog_matches_the_numpy_backend(backend_name, case):
    ref, _, _ = run(case, "numpy")
    got, f, outs = run(case, backend_name)
    compare(case, got, ref, outs)
    if not any(n.op.random for n in f.program.schedule):   # the same result on every run
        with np.errstate(all="ignore"):
            again = f(*feeds(case))
        for g, a in zip(got, again):
            np.testing.assert_array_equal(g, a)


@pytest.mark.parametrize("backend_name", _catalog_backends(), indirect=True)
def test_training_step_with_fused_groups_matches_the_numpy_backend(backend_name):
    ref_losses, ref_values, _ = training_step("numpy")
    losses, values, f = training_step(backend_name)
    kinds = {n.op.op_name() for n in f.program.schedule}
    assert {"fused", "fused_epilogue", "dropout"} <= kinds
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-5)
    for v, r in zip(values, ref_values):
        np.testing.assert_allclose(v, r, rtol=1e-4, atol=1e-6)



@pytest.mark.parametrize("algo", ["auto", "winograd", "winograd2", "direct"])
def test_portable_conv_and_fused_kernels_run_on_device_arrays(monkeypatch, algo):
    """The portable table's convolutions (every forced algorithm), a fused conv epilogue
    and fused element-wise groups big enough for the CPU routes run on the stand-in's
    device arrays, which no numba loop or NumPy call accepts: the CPU fast paths come
    only with the NumPy backend's table, never from asking which ``xp`` a kernel got."""
    from graphflow_numpy.kernels import fused_blocks
    cuda_tools.use_portable_backend(monkeypatch)
    monkeypatch.setenv("GRAPHFLOW_CONV", algo)
    monkeypatch.setattr(fused_blocks, "MIN_ELEMENTS", 40)   # the CPU table would loop or block here
    x, k = gf.placeholder((2, 9, 9, 3)), gf.placeholder((3, 3, 3, 4))
    b, k2, k3 = gf.placeholder((4,)), gf.placeholder((3, 3, 2, 4)), gf.placeholder((3, 3, 4, 2))
    y = gf.nn.relu(gf.nn.conv2d(x, k, padding="same") + b)            # 3x3 stride 1: Winograd's shape
    z = gf.nn.conv2d(y, k3, strides=2, padding="same")                 # strided: im2col, col2im
    t = gf.nn.conv2d_transpose(y, k2, 2, "same")
    loss = gf.sum(gf.tanh(z * 0.5 + 1.0)) + gf.sum(t * t)
    ins = [x, k, b, k2, k3]
    outs = [y, z, t] + gf.grad(loss, ins)
    r = np.random.default_rng(3)
    vals = [r.standard_normal(s).astype(np.float32) for s in ((2, 9, 9, 3), (3, 3, 3, 4), (4,), (3, 3, 2, 4),
                                                                  (3, 3, 4, 2))]
    vals[0][:, :4] = 0   # zero windows: the exact-zero restoring runs on the xp Winograd path too
    want = gf.function(ins, outs, backend="numpy")(*vals)
    f = gf.function(ins, outs, backend=PORTABLE)
    assert {"fused", "fused_epilogue"} <= {n.op.op_name() for n in f.program.schedule}
    for g, w in zip(f(*vals), want):   # forced F(4x4) rounds differently in its xp form: norms
        assert g.shape == w.shape and np.linalg.norm(g - w) <= 1e-5 * np.linalg.norm(w), algo


def test_catalog_covers_every_op_and_public_function(monkeypatch):
    """Every op type the NumPy backend has a kernel for appears in some case's graph (or
    its gradient), and every public function of graphflow.ops and gf.nn is called."""
    import graphflow.ops as ops
    from graphflow.graph import toposort
    from graphflow_numpy import KERNELS
    names = {n for n in ops.__all__ if callable(getattr(ops, n))} | {n for n in gf.nn.__all__ if n[0].islower()}
    called = set()
    for space in (gf, gf.nn, ops):
        for n in names:
            fn = getattr(space, n, None)
            if callable(fn):
                def traced(*a, _fn=fn, _n=n, **k):
                    called.add(_n)
                    return _fn(*a, **k)
                monkeypatch.setattr(space, n, traced)
    seen = set()
    for case in CASES:
        _, outs = build(case)
        seen |= {type(node.op) for node in toposort(outs)}
        called |= set(case.covers)
    # the op catalog (graphflow.ops), not test-local ops; collectives exchange values between
    # the ranks of an MPI job: tests/distributed runs them there
    catalog = [t for t in KERNELS._specs
               if t.__module__.startswith("graphflow.ops.") and not getattr(t, "collective", False)]
    assert len(catalog) > 80
    missing_ops = sorted(t.__name__ for t in catalog if t not in seen)
    assert not missing_ops, f"ops no conformance case exercises: {missing_ops}"
    missing = sorted(names - called - NOT_OPS)
    assert not missing, f"public functions no conformance case calls: {missing}"
