"""NumPy's array and dtype reconstruction, as ``safe_pickle``'s reader allows it.

Every NumPy writes an array as ``_reconstruct(ndarray, (0,), b'b')`` followed by ``BUILD
(1, shape, dtype, fortran, bytes)``, and its dtype as ``dtype(code, False, True)``
followed by ``BUILD`` of the dtype's state. The stock unpickler calls the real functions,
and ``BUILD`` on a dtype accepts fields, sub-arrays and sizes that make a ``uint8``-equal
dtype read past its buffer. Here the globals are inert tokens, the calls are checked to be
exactly those forms, the dtype state must be a plain numeric dtype's, and an array is made
from its bytes only when they are exactly ``prod(shape) * itemsize``. ``r`` is the
reader (``safe_pickle._Reader``): its ``fail`` raises, its ``charge`` counts memory.
"""
from __future__ import annotations

import math

import numpy as np

MAX_DIMS = 32              # NumPy's own limit is 64


class Global:
    """One of the few importable names, as an inert token."""
    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name


class PendingDtype:
    """``numpy.dtype(code)`` awaiting its ``BUILD`` (which fixes the byte order)."""
    __slots__ = ("dtype", "built")

    def __init__(self, dtype):
        self.dtype, self.built = dtype, False


class PendingArray:
    """``_reconstruct(ndarray, (0,), b'b')`` awaiting its ``BUILD``; ``keys``: the memo
    slots that hold it, updated when it is built."""
    __slots__ = ("keys",)

    def __init__(self):
        self.keys = []


_RECONSTRUCT, _NDARRAY, _DTYPE, _ENCODE = (Global(n) for n in ("_reconstruct", "ndarray", "dtype", "encode"))
#: the only importable names: what NumPy's pickles and Python 3's protocol-2 bytes need
GLOBALS = {("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
           ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
           ("numpy", "ndarray"): _NDARRAY, ("numpy", "dtype"): _DTYPE, ("_codecs", "encode"): _ENCODE}
# the type codes NumPy writes for plain numeric dtypes (the byte order comes in BUILD)
_DTYPE_CODES = {"b1", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f2", "f4", "f8"}
_KIND_NAMES = {"O": "object", "V": "structured", "S": "string", "U": "unicode", "a": "string", "M": "datetime",
               "m": "timedelta", "c": "complex", "f": "float", "i": "integer", "u": "integer", "b": "bool"}


def call(r, fn, args):
    """What ``REDUCE`` of ``fn(*args)`` makes: a pending array or dtype, or bytes."""
    if not isinstance(fn, Global) or not isinstance(args, tuple):
        r.fail(f"a call of {type(fn).__name__}: only NumPy's array and dtype reconstruction are allowed")
    if fn is _RECONSTRUCT:
        if len(args) != 3 or args[0] is not _NDARRAY or args[1] != (0,) or args[2] not in (b"b", "b"):
            r.fail("an array reconstruction other than _reconstruct(ndarray, (0,), b'b')")
        return PendingArray()
    if fn is _DTYPE:
        if len(args) != 3 or not isinstance(args[0], (str, bytes)) or args[1:] not in ((False, True), (0, 1)):
            r.fail("a dtype made other than as dtype(code, False, True)")
        code = args[0].decode("ascii", "replace") if isinstance(args[0], bytes) else args[0]
        if code not in _DTYPE_CODES:
            kind = _KIND_NAMES.get(code[:1], "unknown")
            r.fail(f"refusing dtype {kind} ({code[:20]!r}): only bool, integer and float arrays are read")
        return PendingDtype(np.dtype(code))
    if fn is _ENCODE:
        if len(args) != 2 or not isinstance(args[0], str) or args[1] not in ("latin1", "latin-1"):
            r.fail("_codecs.encode other than (text, 'latin1')")
        try:
            return args[0].encode("latin1")
        except UnicodeEncodeError:
            r.fail("_codecs.encode of text outside latin-1")
    r.fail(f"calls numpy.{fn.name}(...) directly, which a data file never needs; refusing it")

def build(r, state):
    """``BUILD``: give the pending array or dtype on top of the stack its ``state``."""
    obj = r.top()
    if isinstance(obj, PendingDtype) and not obj.built:
        r.stack[-1] = _build_dtype(r, obj, state)
    elif isinstance(obj, PendingArray):
        array = _build_array(r, state)
        r.stack[-1] = array
        for k in obj.keys:
            if r.memo.get(k) is obj:
                r.memo[k] = array
    else:
        r.fail(f"BUILD of a {type(obj).__name__.strip('_')}: only a new array or dtype takes a state")

def _build_dtype(r, pending, state):
    # NumPy's plain-dtype state: (version, byteorder, subarray, names, fields,
    # elsize, alignment, flags[, metadata]); anything more makes a structured type
    ok = isinstance(state, tuple) and len(state) in (8, 9) and state[0] in (3, 4) and \
        state[1] in ("<", ">", "|", "=", b"<", b">", b"|", b"=") and state[2:5] == (None, None, None) and \
        state[5:8] == (-1, -1, 0) and (len(state) == 8 or state[8] is None)
    if not ok:
        r.fail(f"refusing a dtype state other than a plain {pending.dtype}'s (no fields, sub-arrays, "
                  f"sizes or flags): {_short(state)}")
    order = state[1].decode() if isinstance(state[1], bytes) else state[1]
    pending.dtype = pending.dtype.newbyteorder(order) if order in "<>" else pending.dtype
    pending.built = True
    return pending

def _build_array(r, state):
    if not (isinstance(state, tuple) and len(state) == 5 and state[0] == 1):
        r.fail(f"an array state other than (1, shape, dtype, fortran, bytes): {_short(state)}")
    _, shape, dtype, fortran, raw = state
    if not (isinstance(shape, tuple) and len(shape) <= MAX_DIMS and
            all(type(n) is int and 0 <= n < 2**62 for n in shape)):  # NumPy's sizes fit an intp
        r.fail(f"an array shape that is not a tuple of at most {MAX_DIMS} sizes: {_short(shape)}")
    if not (isinstance(dtype, PendingDtype) and dtype.built):
        r.fail("an array whose dtype is not a plain numeric dtype")
    if fortran not in (True, False) or not isinstance(raw, bytes):
        r.fail("an array whose data is not a byte string (object arrays are refused)")
    dtype = dtype.dtype
    if math.prod(shape) * dtype.itemsize != len(raw):
        r.fail(f"an array of shape {shape} and dtype {dtype} needs {math.prod(shape) * dtype.itemsize} "
                  f"bytes but {len(raw)} are stored")
    r.charge(len(raw) + 112)
    array = np.frombuffer(raw, dtype).reshape(shape, order="F" if fortran else "C")
    # a bool array's bytes may be any value: keep NumPy's invariant that they are 0 or 1
    return array.view(np.uint8) != 0 if dtype.kind == "b" else array.copy(order="K")


def _short(obj, n=80):
    """A short description of ``obj`` for a message (never the repr of a large value)."""
    if isinstance(obj, (tuple, list, dict)):
        inner = ", ".join(_short(v, 20) for v in list(obj)[:8]) if isinstance(obj, tuple) else "..."
        return f"{type(obj).__name__} of {len(obj)}: ({inner}{', ...' if len(obj) > 8 else ''})"
    if isinstance(obj, (bytes, str)):
        return repr(obj[:n]) + ("..." if len(obj) > n else "")
    return type(obj).__name__.strip("_") if isinstance(obj, (Global, PendingDtype, PendingArray)) else \
        repr(obj)[:n]
