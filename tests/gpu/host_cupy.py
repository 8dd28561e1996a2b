"""A stand-in for the ``cupy`` module whose arrays are not NumPy's, for checking the CuPy
backend on a machine without a GPU.

``DeviceArray`` keeps its elements in a private NumPy array and behaves, at its edges, as
``cupy.ndarray`` does: it is no ``np.ndarray`` (no subclass, no buffer protocol, no
``__array_interface__``); ``np.asarray(a)`` and every other implicit conversion raise
``TypeError``; a NumPy function or ufunc called on it dispatches to this module (CuPy's
``__array_function__`` / ``__array_ufunc__``) and refuses NumPy arrays mixed in; host-only
methods (``setflags``, ``ctypes``, ``tofile``...) do not exist; reductions give 0-d arrays.
Data crosses to the host only through ``.get()`` and ``asnumpy``; ``asarray`` copies host
data in (it never aliases the caller's memory, as a real transfer cannot).

``HOST_CUPY`` is the module: NumPy's functions with device arrays in and out, ``ndarray``,
``asnumpy``, and ``cuda`` (streams, events, a device, the runtime's and NVRTC's versions,
a cuBLAS handle, and ``nccl``: an NCCL stand-in over MPI, see ``host_nccl.py``).

    >>> a = HOST_CUPY.asarray(np.ones(3, np.float32))
    >>> np.asarray(a)                      # TypeError, as on a GPU
    >>> HOST_CUPY.asnumpy(a * 2)           # array([2., 2., 2.], dtype=float32)
"""
from __future__ import annotations

import types

import numpy as np

from host_cuda import DEVICE, cuda_namespace
from host_nccl import LIVE

IMPLICIT = ("Implicit conversion to a NumPy array is not allowed (the cupy-on-host stand-in of a GPU array). "
            "Please use `.get()` to construct a NumPy array explicitly.")
SCALARS = (bool, int, float, complex, np.generic)

# cupy.ndarray's methods graphflow may call (CuPy 14); anything else NumPy has is host-only
METHODS = frozenset("""all any argmax argmin argsort astype clip conj copy cumprod cumsum diagonal dot fill
    flatten max mean min nonzero prod ravel repeat reshape round sort squeeze std sum swapaxes take tolist
    trace transpose var view put partition argpartition""".split())


class _Flags:
    """``cupy.ndarray.flags``: contiguity and ownership; no ``writeable`` (device memory
    has no read-only flag)."""

    def __init__(self, a: np.ndarray):
        self.c_contiguous, self.f_contiguous = a.flags.c_contiguous, a.flags.f_contiguous
        self.owndata = a.base is None

    def __getitem__(self, key):
        return {"C_CONTIGUOUS": self.c_contiguous, "F_CONTIGUOUS": self.f_contiguous,
                "OWNDATA": self.owndata}[key]


class MemoryPointer:
    """``a.data``: where the elements live (here a host address the host loops read)."""

    def __init__(self, ptr: int):
        self.ptr = ptr

    def __int__(self):
        return self.ptr


class DeviceArray:
    """A "GPU" array: the part of ``cupy.ndarray`` graphflow uses, nothing of NumPy's."""

    __slots__ = ("_DeviceArray__a", "_DeviceArray__base", "__weakref__")
    __hash__ = None

    def __init__(self, host: np.ndarray, base: "DeviceArray | None" = None):
        if type(host) is not np.ndarray:
            raise TypeError(f"DeviceArray holds a NumPy array, not {type(host).__name__}")
        if host.dtype.kind not in "biufc":
            raise ValueError(f"Unsupported dtype {host.dtype}")
        self.__a = host
        self.__base = base
        LIVE[id(self)] = self

    # ---------------------------------------------------------- what CuPy refuses
    def __array__(self, *args, **kwargs):
        raise TypeError(IMPLICIT)

    def __buffer__(self, flags):   # Python 3.12's buffer protocol hook
        raise TypeError(IMPLICIT)

    def __iter__(self):
        for k in range(len(self)):
            yield self[k]

    # ---------------------------------------------------------- attributes
    shape = property(lambda self: self.__a.shape)
    dtype = property(lambda self: self.__a.dtype)
    ndim = property(lambda self: self.__a.ndim)
    size = property(lambda self: self.__a.size)
    strides = property(lambda self: self.__a.strides)
    itemsize = property(lambda self: self.__a.itemsize)
    nbytes = property(lambda self: self.__a.nbytes)
    flags = property(lambda self: _Flags(self.__a))
    data = property(lambda self: MemoryPointer(self.__a.__array_interface__["data"][0]))
    base = property(lambda self: self.__base)
    T = property(lambda self: self.transpose())
    device = property(lambda self: DEVICE)

    def __getattr__(self, name):
        if name in METHODS:
            method = getattr(self.__a, name)
            return lambda *a, **k: _wrap(method(*_unwrap(a), **_unwrap(k)), self)
        raise AttributeError(f"'cupy.ndarray' object has no attribute '{name}' (a NumPy-only attribute: "
                             f"on a GPU this raises AttributeError too)")

    def get(self, stream=None, order="C", out=None) -> np.ndarray:
        """A NumPy copy (the explicit device -> host transfer)."""
        if out is not None:
            out[...] = self.__a
            return out
        return np.array(self.__a, order=order, copy=True)

    def set(self, host, stream=None):
        """Copy the NumPy array ``host`` in (shapes must match)."""
        if not isinstance(host, np.ndarray) or host.shape != self.shape:
            raise ValueError("set() needs a NumPy array of the same shape")
        self.__a[...] = host

    def item(self, *args):
        return self.__a.item(*args)

    def __len__(self):
        if not self.ndim:
            raise TypeError("len() of unsized object")
        return len(self.__a)

    def __repr__(self):
        return f"{self.__a!r} (on the cupy-on-host stand-in device)"

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    def __reduce__(self):   # pickling copies to the host and back, as CuPy's does
        return _rebuild, (self.get(),)

    # ---------------------------------------------------------- Python scalars (synchronising)
    def _scalar(self, kind):
        if self.size != 1:
            raise TypeError("only size-1 arrays can be converted to Python scalars")
        return kind(self.__a.reshape(()).item())

    def __bool__(self):
        return self._scalar(bool)

    def __int__(self):
        return self._scalar(int)

    def __float__(self):
        return self._scalar(float)

    def __complex__(self):
        return self._scalar(complex)

    def __index__(self):
        if self.dtype.kind not in "iub" or self.ndim:
            raise TypeError("only integer scalar arrays can be converted to a scalar index")
        return int(self.__a)

    # ---------------------------------------------------------- indexing
    def __getitem__(self, key):
        return _wrap(self.__a[_unwrap(key, allow_host=True)], self)

    def __setitem__(self, key, value):
        self.__a[_unwrap(key, allow_host=True)] = _unwrap(value, allow_host=True)

    # ---------------------------------------------------------- NumPy's protocols, as CuPy answers them
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return _call(getattr(ufunc, method), inputs, kwargs, self)

    def __array_function__(self, func, types_, args, kwargs):
        if func.__name__ not in _module_names():
            return NotImplemented
        return _call(func, args, kwargs, self)



_BINARY = {"add": "add", "sub": "subtract", "mul": "multiply", "truediv": "true_divide",
           "floordiv": "floor_divide", "mod": "remainder", "pow": "power", "matmul": "matmul",
           "and": "bitwise_and", "or": "bitwise_or", "xor": "bitwise_xor", "lshift": "left_shift",
           "rshift": "right_shift"}
_COMPARE = {"eq": "equal", "ne": "not_equal", "lt": "less", "le": "less_equal", "gt": "greater",
            "ge": "greater_equal"}
_UNARY = {"neg": "negative", "pos": "positive", "abs": "absolute", "invert": "invert"}


def _operators():
    """CuPy's operators: ufuncs of this module (so a NumPy array operand is refused)."""
    def binary(fn, swap=False):
        return (lambda self, other: _call(fn, (other, self), {})) if swap else \
            (lambda self, other: _call(fn, (self, other), {}))

    def inplace(fn):
        def op(self, other):
            _call(fn, (self, other), {"out": self, "casting": "same_kind"})
            return self
        return op
    for name, ufunc in _BINARY.items():
        fn = getattr(np, ufunc)
        setattr(DeviceArray, f"__{name}__", binary(fn))
        setattr(DeviceArray, f"__r{name}__", binary(fn, swap=True))
        setattr(DeviceArray, f"__i{name}__", inplace(fn))
    for name, ufunc in _COMPARE.items():
        setattr(DeviceArray, f"__{name}__", binary(getattr(np, ufunc)))
    for name, ufunc in _UNARY.items():
        setattr(DeviceArray, f"__{name}__", (lambda fn: lambda self: _call(fn, (self,), {}))(getattr(np, ufunc)))


_operators()

def _rebuild(host):
    return DeviceArray(np.array(host, copy=True))


def data_of(a: DeviceArray) -> np.ndarray:
    """The private array behind ``a`` (for the stand-in's own host loops and NCCL only)."""
    return a._DeviceArray__a


def _module_names():
    return _NAMES


def _unwrap(x, allow_host=False):
    """Device arrays -> their private arrays; NumPy arrays refused (CuPy's "Unsupported
    type") unless ``allow_host`` (indices and values of ``a[...]``, which CuPy copies)."""
    if isinstance(x, DeviceArray):
        return x._DeviceArray__a
    if isinstance(x, np.ndarray) and not allow_host:
        raise TypeError(f"Unsupported type {type(x)} (a NumPy array where CuPy needs a device array: "
                        f"move it with cupy.asarray first)")
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(v, allow_host) for v in x)
    if isinstance(x, dict):
        return {k: _unwrap(v, allow_host) for k, v in x.items()}
    return x


def _wrap(r, source=None, inputs=()):
    """NumPy results -> device arrays (a scalar -> a 0-d array, as CuPy gives); an ``out=``
    buffer comes back as the very device array passed in."""
    for d in inputs:
        if isinstance(d, DeviceArray) and r is d._DeviceArray__a:
            return d
    if isinstance(r, np.ndarray):
        base = None
        if source is not None and r.base is not None and np.shares_memory(r, data_of(source)):
            base = source.base if source.base is not None else source
        return DeviceArray(r if type(r) is np.ndarray else r.view(np.ndarray), base)
    if isinstance(r, np.generic) and not isinstance(r, np.dtype):
        return DeviceArray(np.asarray(r))
    if isinstance(r, (list, tuple)) and any(isinstance(v, np.ndarray) for v in r):
        return type(r)(_wrap(v, source, inputs) for v in r)
    return r


def _flat_devices(args, kwargs):
    out = kwargs.get("out")
    found = [a for a in args if isinstance(a, DeviceArray)]
    if isinstance(out, DeviceArray):
        found.append(out)
    elif isinstance(out, tuple):
        found += [o for o in out if isinstance(o, DeviceArray)]
    return found


def _call(fn, args, kwargs, source=None):
    result = fn(*_unwrap(args), **_unwrap(kwargs))
    return _wrap(result, source if kwargs.get("out") is None else None, _flat_devices(args, kwargs))


class _Function:
    """A NumPy function as CuPy's: device arrays in (NumPy arrays refused), device arrays out."""

    def __init__(self, fn):
        self._fn = fn
        self.__name__ = getattr(fn, "__name__", "function")

    def __call__(self, *args, **kwargs):
        return _call(self._fn, args, kwargs)

    def __getattr__(self, name):   # ufunc.at, ufunc.reduce, ufunc.outer...
        attr = getattr(self._fn, name)
        return _Function(attr) if callable(attr) else attr


# ---------------------------------------------------------------- transfers
def asarray(a, dtype=None, order=None):
    """A device array: ``a`` itself when it already is one of ``dtype``, else a copy (host
    data is always copied: the device never aliases host memory)."""
    if isinstance(a, DeviceArray):
        return a if dtype is None or np.dtype(dtype) == a.dtype else a.astype(dtype)
    host = np.array(a, dtype=dtype, order=order or "K", copy=True)
    return DeviceArray(host if type(host) is np.ndarray else host.view(np.ndarray))


def array(a, dtype=None, copy=True, order="K", ndmin=0):
    if isinstance(a, DeviceArray):
        a = data_of(a)
    return DeviceArray(np.array(a, dtype=dtype, copy=True, order=order, ndmin=ndmin))


def asnumpy(a, stream=None, order="C", out=None):
    """``a`` on the host: a copy of a device array; a NumPy array (or anything else) as
    ``np.asarray`` reads it, which CuPy allows."""
    if isinstance(a, DeviceArray):
        return a.get(order=order, out=out)
    return np.asarray(a, order=order)


def get_array_module(*args):
    return HOST_CUPY if any(isinstance(a, DeviceArray) for a in args) else np


def ascontiguousarray(a, dtype=None):
    if not isinstance(a, DeviceArray):   # CuPy's takes only its own arrays
        raise TypeError(f"Argument 'a' has incorrect type (expected cupy.ndarray, got {type(a).__name__})")
    host = data_of(a)
    out = np.ascontiguousarray(host, dtype=dtype)
    return a if out is host else DeviceArray(out)


class HostCupy(types.ModuleType):
    """The ``cupy`` module of the stand-in: the functions above, ``cuda``, and NumPy's
    other functions wrapped as ``_Function``s (constants and types as they are)."""

    def __init__(self):
        super().__init__("cupy", __doc__)
        self.ndarray = DeviceArray
        for fn in (asarray, array, asnumpy, get_array_module, ascontiguousarray):
            setattr(self, fn.__name__, fn)
        self.cuda = cuda_namespace()

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        value = getattr(np, name)
        if isinstance(value, types.ModuleType):          # cupy.linalg, cupy.fft...
            raise AttributeError(f"the stand-in has no cupy.{name}")
        if callable(value) and not isinstance(value, type):
            value = _Function(value)
        setattr(self, name, value)
        return value


HOST_CUPY = HostCupy()
_NAMES = frozenset(n for n in dir(np) if not n.startswith("_"))
