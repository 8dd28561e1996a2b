"""The CuPy backend's kernels run on the CPU (tests/gpu/cuda_tools.py: each kernel's
per-element function compiled by the host C++ compiler, the stand-in device arrays of
host_cupy.py in place of CuPy's)
and compared with the NumPy backend: every element-wise expression on edge values in
every dtype it takes, every fused pattern of the corpus, Philox's known answers, exact
scatter-adds and pooling ties, aliasing, the float16 fallback, and the VGG-like CNN's
training step. What this cannot reach: NVRTC itself, warp shuffles (rows are reduced by
one thread here), -ftz, and the GPU's own exp/log/tanh."""
from __future__ import annotations

import ctypes
import itertools

import numpy as np
import pytest

import graphflow as gf
from graphflow.graph import TensorType
from graphflow.ops.fused import Fused
from graphflow_cupy.codegen import Unsupported
from graphflow_cupy.expressions import EXPRESSIONS
from graphflow_cupy.kernels.fused import ElementwiseLauncher
from graphflow_cupy.source import common

import cuda_tools
from host_cupy import data_of
from corpus import corpus

pytestmark = cuda_tools.needs_cxx
HOST = cuda_tools.HOST
cp = cuda_tools.HOST_CUPY          # the stand-in ``cupy``: device arrays that are not NumPy's


def dev(arrays):
    return [cp.asarray(a) for a in arrays]


@pytest.fixture(scope="module")
def host():
    return cuda_tools.HostDevice()


@pytest.fixture
def on_host(monkeypatch, host):
    return cuda_tools.use_host_backend(monkeypatch, host)


# ---------------------------------------------------------------- element-wise expressions
FLOATS = np.array([-np.inf, -3.5, -2, -1, -0.5, -0.0, 0, 0.5, 1, 2, 3.5, np.inf, np.nan])
INTS = np.array([-7, -3, -1, 0, 1, 2, 5])
VALUES = {"float32": FLOATS.astype(np.float32), "float64": FLOATS, "int32": INTS.astype(np.int32),
          "int8": INTS.astype(np.int8), "uint8": np.array([0, 1, 2, 7, 200], np.uint8),
          "bool": np.array([False, True])}
COMBOS = [("float32",), ("float64",), ("int32",), ("int8",), ("uint8",), ("bool",)]
COMBOS2 = [("float32", "float32"), ("float64", "float64"), ("int32", "int32"), ("int8", "uint8"),
           ("int32", "float32"), ("float32", "float64"), ("bool", "bool")]


def _op_instances():
    from graphflow.ops import elementwise as ew
    from graphflow.ops.nn import activations as act
    params = {ew.Clip: ew.Clip(-0.75, 1.5), ew.Cast: ew.Cast("int16"), act.Elu: act.Elu(0.7),
              act.LeakyRelu: act.LeakyRelu(0.2)}
    return [params.get(t) or t() for t in EXPRESSIONS.op_types()]


def _inputs(dtypes):
    """Every combination of edge values, one axis per operand (so operands broadcast)."""
    n = len(dtypes)
    return [VALUES[d].reshape((-1,) + (1,) * (n - 1 - k)) for k, d in enumerate(dtypes)]


def _cases():
    for op in _op_instances():
        n = 3 if op.op_name() == "where" else 2 if op.like in ("add", "subtract", "multiply", "true_divide",
                                                                "floor_divide", "remainder", "power", "maximum",
                                                                "minimum", "equal", "not_equal", "less",
                                                                "less_equal", "greater", "greater_equal",
                                                                "logical_and", "logical_or") else 1
        combos = [("bool", "float32", "int32"), ("bool", "float64", "float64")] if n == 3 else \
            COMBOS2 if n == 2 else COMBOS
        for dtypes in combos:
            yield op, dtypes


def _reference(op, dtypes, arrays):
    phs = [gf.placeholder(a.shape, d) for a, d in zip(arrays, dtypes)]
    return gf.function(phs, op(*phs), backend="numpy", optimize="O0")(*arrays)


def test_every_expression_matches_numpy_on_edge_values(on_host):
    """Each element-wise op, alone, in each dtype combination NumPy accepts: NaN, ±inf,
    ±0, negatives, integer division by zero... exactly NumPy's results (transcendental
    float functions within a few ulp: the host libm is not NumPy's)."""
    checked = []
    runs = []
    for op, dtypes in _cases():
        arrays = _inputs(dtypes)
        if op.op_name() == "pow" and dtypes[1] in ("int32", "uint8", "int8"):
            arrays[1] = np.abs(arrays[1]) % 4       # NumPy refuses negative integer powers
        try:
            with np.errstate(all="ignore"):
                want = _reference(op, dtypes, arrays)
        except (TypeError, ValueError, gf.GraphError):
            continue  # not a combination NumPy (or the op) takes
        try:
            launcher = ElementwiseLauncher(Fused(((op, tuple(range(len(dtypes)))),), len(dtypes)), dtypes)
        except Unsupported:   # a float16 result (exp of int8): the backend runs NumPy's kernel
            assert want.dtype == np.float16
            continue
        runs.append((op, dtypes, arrays, want, launcher))
    on_host.collect(lambda: [r[4](*dev(r[2])) for r in runs])
    for op, dtypes, arrays, want, launcher in runs:
        got = cp.asnumpy(launcher(*dev(arrays)))
        assert got.dtype == want.dtype and got.shape == want.shape, (op, dtypes)
        if want.dtype.kind in "biu" or op.op_name() in ("add", "sub", "mul", "maximum", "minimum", "neg", "abs",
                                                          "sign", "square", "clip", "where", "cast", "relu",
                                                          "floordiv", "mod", "div", "stop_gradient"):
            np.testing.assert_array_equal(got, want, err_msg=f"{op.label()} on {dtypes}")
        else:
            rtol = 2e-6 if want.dtype == np.float32 else 4e-15
            np.testing.assert_allclose(got, want, rtol=rtol, atol=0, err_msg=f"{op.label()} on {dtypes}")
        checked.append((op.op_name(), dtypes))
    assert len({name for name, _ in checked}) == len(EXPRESSIONS.op_types())
    assert len(checked) > 150


# ---------------------------------------------------------------- the corpus of fused patterns
def _data(t: TensorType, rng):
    shape = tuple(3 if d is None else d for d in t.shape)
    if t.dtype == "bool":
        return rng.random(shape) < 0.5
    if t.dtype.startswith(("int", "uint")):
        return rng.integers(0, 5, shape).astype(t.dtype)
    return rng.uniform(0.2, 2.0, shape).astype(t.dtype)


def test_every_fused_pattern_of_the_corpus_matches_numpy(on_host):
    """The generated kernel of each pattern the compiler made for the fusion tests, the
    conformance catalog, a Keras MLP and the VGG-like CNN, against the NumPy backend
    running the same group unfused."""
    rng = np.random.default_rng(5)
    runs = []
    for (op, types), origin in corpus().items():
        arrays = [_data(t, rng) for t in types]
        phs = [gf.placeholder(a.shape, t.dtype) for a, t in zip(arrays, types)]
        with np.errstate(all="ignore"):
            want = gf.function(phs, op.expand(phs), backend="numpy", optimize="O0")(*arrays)
        runs.append((op, arrays, want, ElementwiseLauncher(op, [t.dtype for t in types]), origin))
    on_host.collect(lambda: [r[3](*dev(r[1])) for r in runs])
    for op, arrays, want, launcher, origin in runs:
        with np.errstate(all="ignore"):
            got = cp.asnumpy(launcher(*dev(arrays)))
        tol = 2e-6 if want.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, err_msg=f"{op.label()} from {origin}")
    assert len(runs) > 200


# ---------------------------------------------------------------- Philox
PHILOX_TEST = common() + """
extern "C" void philox(unsigned long long block, unsigned long long counter, unsigned k0, unsigned k1,
                       unsigned* out) {
    gf_u32x4 w = gf_philox(block, counter, k0, k1);
    out[0] = w.x; out[1] = w.y; out[2] = w.z; out[3] = w.w;
}
"""


@pytest.mark.parametrize("counter, key, words", [
    ((0, 0, 0, 0), (0, 0), (0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8)),
    ((0xffffffff,) * 4, (0xffffffff, 0xffffffff), (0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd)),
    ((0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344), (0xa4093822, 0x299f31d0),
     (0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1)),
])
def test_the_cuda_philox_gives_random123s_known_answers(counter, key, words):
    lib = cuda_tools.host_library(PHILOX_TEST)
    out = np.zeros(4, np.uint32)
    c0, c1, c2, c3 = counter
    lib.philox(ctypes.c_ulonglong(c0 | c1 << 32), ctypes.c_ulonglong(c2 | c3 << 32), ctypes.c_uint(key[0]),
               ctypes.c_uint(key[1]), ctypes.c_void_p(out.ctypes.data))
    assert tuple(int(w) for w in out) == words


@pytest.mark.parametrize("seed", [0, 12345, 2**63 + 7])
@pytest.mark.parametrize("counter", [0, 1, 2**33 + 3, -1])
def test_random_draws_are_the_numpy_backends_bits(on_host, seed, counter):
    from graphflow_numpy.kernels import random as ref
    from graphflow_cupy import device
    from graphflow_cupy.kernels.random import UNIFORM, _key
    c = cp.asarray(np.asarray(counter, np.int64))
    for n, dtype in ((1, "float32"), (1001, "float32"), (7, "float64"), (64, "float64")):
        got = cp.empty(n, dtype)
        per = 4 if dtype == "float32" else 2
        device.each(device.static(UNIFORM, dtype, np.int32), -(-n // per), np.int32, got, np.int32(n), *_key(seed),
                    c, np.dtype(dtype).type(1), np.dtype(dtype).type(0), np.int32(0), np.int32(0))
        got = got.get()
        np.testing.assert_array_equal(got, ref.uniform(np, seed, np.int64(counter), (n,), dtype))
        assert len(np.unique(got)) == n


# ---------------------------------------------------------------- exactness and aliasing
def test_scatter_adds_and_pooling_ties_equal_numpy_bit_for_bit(on_host):
    rng = np.random.default_rng(3)
    x = gf.placeholder((6, 4), "float32")
    idx = gf.placeholder((50,), "int64")
    p = gf.placeholder((2, 6, 6, 3), "float32")
    y = gf.placeholder((5, 7), "float32")
    outs = [gf.grad(gf.sum(gf.take(x, idx) * gf.constant(rng.standard_normal((50, 4)).astype("float32"))), [x])[0],
            gf.grad(gf.sum(gf.nn.max_pool2d(p, 3, 1, "same") * gf.constant(
                rng.standard_normal((2, 6, 6, 3)).astype("float32"))), [p])[0],
            gf.grad(gf.sum(gf.pad(y, ((3, 2), (1, 4)), "reflect") * gf.constant(
                rng.standard_normal((10, 12)).astype("float32"))), [y])[0]]
    feeds = [rng.standard_normal((6, 4)).astype("float32"), rng.integers(-6, 6, 50),
             rng.integers(0, 3, (2, 6, 6, 3)).astype("float32"),   # many ties in every window
             rng.standard_normal((5, 7)).astype("float32")]
    want = gf.function([x, idx, p, y], outs, backend="numpy")(*feeds)
    got = gf.function([x, idx, p, y], outs, backend=HOST)(*feeds)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_an_output_buffer_overlapping_an_input_is_safe(on_host):
    from graphflow.ops import elementwise as ew
    launcher = ElementwiseLauncher(Fused(((ew.Add(), (0, 1)),), 2), ["float32", "float32"])
    a = cp.arange(12, dtype=np.float32).reshape(3, 4)
    b = cp.ones(4, np.float32)
    on_host.collect(lambda: (launcher(a, b), launcher(a[::-1], b)))
    want = (a + b).get()
    assert launcher(a, b, out=a) is a                       # in place over the input itself
    np.testing.assert_array_equal(a.get(), want)
    buf = cp.arange(12, dtype=np.float32).reshape(3, 4)
    launcher(buf[::-1], b, out=buf)                         # reversed view of the output: copied first
    np.testing.assert_array_equal(buf.get(), np.arange(12, dtype=np.float32).reshape(3, 4)[::-1] + 1)
    copies = []
    flat = cp.zeros(12, np.float32)
    twin = flat.view().reshape(3, 4)                        # another view object of the same elements
    out = flat.reshape(3, 4)
    twin[...] = 5

    class Spy(cuda_tools.DeviceArray):
        __slots__ = ()

        def copy(self, *a, **k):
            copies.append(1)
            return super().__getattr__("copy")(*a, **k)
    launcher(Spy(data_of(twin), flat), b, out=out)          # the plan's in-place reuse: no copy
    np.testing.assert_array_equal(out.get(), np.full((3, 4), 6, np.float32))
    assert not copies


def test_groups_the_generator_does_not_handle_fall_back(on_host):
    x = gf.placeholder((None, 4), "float16")
    f = gf.function([x], gf.tanh(x * 2) + 1, backend=HOST)
    a = np.linspace(-1, 1, 8, dtype=np.float16).reshape(2, 4)
    np.testing.assert_array_equal(f(a), gf.function([x], gf.tanh(x * 2) + 1, backend="numpy")(a))
    (run, *_), = f.executor.steps
    assert not isinstance(run, ElementwiseLauncher) and hasattr(run, "plan_for")  # NumPy's generated Python


# ---------------------------------------------------------------- the GPU check's scripts, on the host
@pytest.mark.slow
def test_the_vgg_training_check_passes_on_the_host_stand_in(on_host, capsys):
    """tests/gpu/vgg_check.py's ``train`` check (gpu_check.sh runs it on the GPU at full
    size): the seed example's model from the same weights and dropout seeds on both
    backends, loss curves side by side, every dropout mask compared bit for bit."""
    import vgg_check
    assert vgg_check.main(["train", "--steps", "3", "--backend", HOST, "--size", "16", "--batch", "4"]) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "bit-identical on both backends" in out and "FAIL" not in out
    rows = [line.split() for line in out.splitlines() if line[:4].strip().isdigit()]
    assert len(rows) == 3 and all(abs(float(r[1]) - float(r[2])) <= 1e-5 * abs(float(r[1])) for r in rows)


def test_the_catalog_runner_passes_on_the_host_stand_in(on_host, capsys):
    import run_catalog
    assert run_catalog.main(["--backend", HOST, "-k", "pool"]) == 0
    out = capsys.readouterr().out
    assert out.count("PASS ") >= 10 and "PASS training step" in out and "FAIL" not in out
