"""The stand-in device array (host_cupy.py) and the host/device mistakes it exposes.

The old stand-in used NumPy arrays as "device" arrays, so ``arr.setflags``, ``np.asarray``
of a device array and NumPy 0-d arrays as ufunc operands all worked on the CPU and would
have failed on a GPU. Each test below fails on the code before its fix; none could fail
with NumPy arrays standing in.
"""
from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import graphflow as gf
from graphflow.graph import FeedError

import cuda_tools
from host_cupy import HOST_CUPY as cp, DeviceArray, data_of

pytestmark = cuda_tools.needs_cxx
HOST, PORTABLE = cuda_tools.HOST, cuda_tools.PORTABLE


@pytest.fixture(scope="module")
def host():
    return cuda_tools.HostDevice()


@pytest.fixture
def on_host(monkeypatch, host):
    cuda_tools.use_portable_backend(monkeypatch)
    return cuda_tools.use_host_backend(monkeypatch, host)


# ---------------------------------------------------------------- the stand-in is CuPy-shaped
def test_a_device_array_is_not_a_numpy_array_and_refuses_implicit_conversion():
    a = cp.asarray(np.arange(6, dtype=np.float32).reshape(2, 3))
    assert not isinstance(a, np.ndarray) and isinstance(a, cp.ndarray)
    for convert in (np.asarray, np.array, memoryview, lambda v: np.ones(3) + v, lambda v: cp.add(v, np.ones(3))):
        with pytest.raises(TypeError):
            convert(a)
    for host_only in ("setflags", "ctypes", "tofile", "__array_interface__", "flat"):
        with pytest.raises(AttributeError, match="cupy.ndarray"):
            getattr(a, host_only)
    with pytest.raises(TypeError, match="device array"):             # a RawKernel takes no host array
        cuda_tools.HostKernel(lambda *a: None, widen=False)((1,), (1,), (np.ones(3),))
    assert not hasattr(a.flags, "writeable")


def test_device_arrays_behave_as_cupys_do():
    host = np.arange(6, dtype=np.float32).reshape(2, 3)
    a = cp.asarray(host)
    host[0, 0] = 99                                                   # a transfer copies
    assert cp.asnumpy(a)[0, 0] == 0 and a.get()[0, 0] == 0
    s = a.sum()
    assert isinstance(s, DeviceArray) and s.shape == () and float(s) == 15.0      # 0-d, not a scalar
    assert isinstance(np.sum(a), DeviceArray) and isinstance(np.exp(a), DeviceArray)  # NumPy dispatches
    out = cp.empty((2, 3), np.float32)
    assert cp.multiply(a, np.float32(2), out=out) is out and out.get()[1, 2] == 10
    assert a.T.base is a and a[0].base is a and a.copy().base is None
    b = a.copy()
    b += 1
    assert b.get()[0, 0] == 1 and a.get()[0, 0] == 0
    a[0] = np.array([7, 8, 9], np.float32)                            # setitem copies host data in
    assert a.get()[0].tolist() == [7, 8, 9] and (a > 7).get().sum() == 2
    assert isinstance(copy.deepcopy(a), DeviceArray) and pickle.loads(pickle.dumps(a)).get().tolist() == a.get().tolist()
    assert cp.may_share_memory(a, a[1]) and a.data.ptr == data_of(a).ctypes.data


# ---------------------------------------------------------------- the mistakes it found, fixed
def _function(backend):
    x = gf.placeholder((None, 3), name="x")
    w = gf.variable(np.ones((3, 2), np.float32))
    loss = gf.sum(gf.nn.relu(gf.matmul(x, w)))
    return gf.function([x], loss, updates=[(w, w - 0.1 * gf.grad(loss, [w])[0])], backend=backend)


@pytest.mark.parametrize("backend", [HOST, PORTABLE])
def test_device_arrays_feed_a_function_its_device_entry_and_its_profile(on_host, backend):
    """feeds.py made every fed array read-only with ``setflags``, which a CuPy array does
    not have: the first GPU run of vgg_check.py's speed step died there."""
    f = _function(backend)
    x = cp.asarray(np.ones((4, 3), np.float32))
    assert float(f(x)) == 24.0
    got = f.call_on_device(x)
    assert isinstance(got, DeviceArray) and float(got) == pytest.approx(24 - 0.1 * 4 * 2 * 3 * 4)
    assert f.profile(x, repeat=2).format(top=3)
    assert x.get().tolist() == [[1.0] * 3] * 4                        # the caller's array is untouched


def test_feed_errors_on_device_arrays_read_values_not_array_reprs(on_host):
    """A device array's ``min()`` is a 0-d array: the message printed its repr."""
    xi = gf.placeholder((None,), "int8", name="xi")
    with pytest.raises(FeedError, match=r"values in \[1, 300\], which int8 cannot hold"):
        gf.function([xi], xi + 1, backend=HOST)(cp.asarray(np.array([1, 300])))
    x = gf.placeholder((None,), name="x")
    with pytest.raises(FeedError, match=r"values such as 1e\+300 beyond float32"):
        gf.function([x], x * 2, backend=HOST)(cp.asarray(np.array([1.0, 1e300])))


def test_portable_random_kernels_take_no_host_arrays_and_draw_the_numpy_backends_bits(on_host):
    """The portable draws scaled and shifted by 0-d NumPy arrays, which CuPy refuses as
    ufunc operands; CuPy's own kernels hid this for floats, the portable table is what
    another device backend would run."""
    def draws():   # fresh ops each time: each graph's call counter starts at zero
        return [gf.random_uniform((5, 7), low=-2.0, high=3.0, seed=4),
                gf.random_normal((6, 3), mean=1.5, stddev=0.5, seed=9),
                gf.random_normal((4,), dtype="float64", mean=-1.0, stddev=2.0, seed=2)]
    want = gf.function([], draws(), backend="numpy")()
    got = gf.function([], draws(), backend=PORTABLE)()
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=2e-7 if w.dtype == np.float32 else 1e-15, atol=0)
