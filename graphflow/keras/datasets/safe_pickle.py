"""Reading pickled data sets (CIFAR's batches) without running anything they name.

A pickle is a small program: its ``GLOBAL``/``STACK_GLOBAL``/``INST``/``OBJ``/``EXT``
opcodes import any callable and ``REDUCE``/``NEWOBJ`` call it, so the stock unpickler
runs whatever a file asks for (``os.system``...). ``DataUnpickler`` resolves every
global through ``find_class`` (the C unpickler does so for all five opcodes) and allows
exactly the three a NumPy array needs, each wrapped so that it can only do its job:

* ``numpy.core.multiarray._reconstruct`` (``numpy._core...`` in NumPy 2 files): only as
  ``_reconstruct(ndarray, (0,), b'b')``, which makes an empty array for ``BUILD`` to fill;
* ``numpy.ndarray``: a marker accepted by that call only; calling it is refused (it could
  reserve memory of any size);
* ``numpy.dtype``: only plain numeric dtypes (bool, ints, floats); object and structured
  dtypes, which would let ``BUILD`` unpickle a list of arbitrary objects, are refused.

``BUILD`` then gives the empty array its shape, dtype and raw bytes through
``ndarray.__setstate__``, which checks that the bytes match shape × itemsize exactly, so
an array can be no larger than the bytes in the file. Everything else a pickle can make
without globals is plain data (numbers, strings, bytes, lists, tuples, dicts, sets).
The three stand-ins have no attributes (``BUILD`` cannot change them) and persistent
ids are refused by the base class. What is left is CPU and memory bounded by the file's
size.

    >>> batch = loads(data)            # dict of plain data and NumPy arrays
"""
import io
import pickle

import numpy as np

_RECONSTRUCT = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct")}


class _Callable:
    """The globals a pickle gets are instances without attributes (``__slots__ = ()``),
    so ``BUILD`` cannot change them either."""

    __slots__ = ()


class _Ndarray(_Callable):
    """Stands for ``numpy.ndarray``: usable only as ``_reconstruct``'s subtype."""

    __slots__ = ()

    def __call__(self, *args, **kwargs):
        raise pickle.UnpicklingError("this pickle calls numpy.ndarray(...) directly, which a data file "
                                     "never needs; refusing it")


class _Reconstruct(_Callable):
    __slots__ = ()

    def __call__(self, subtype, shape, typecode):
        if not isinstance(subtype, _Ndarray) or tuple(shape) != (0,) or typecode not in (b"b", "b"):
            raise pickle.UnpicklingError(f"unexpected array reconstruction {subtype!r}, {shape!r}, "
                                         f"{typecode!r} (expected ndarray, (0,), b'b')")
        return np.ndarray((0,), np.int8)


class _Dtype(_Callable):
    __slots__ = ()

    def __call__(self, spec, align=False, copy=False):
        if isinstance(spec, bytes):
            spec = spec.decode("ascii", "replace")
        if not isinstance(spec, str):
            raise pickle.UnpicklingError(f"refusing a dtype made from {type(spec).__name__}: only simple "
                                         f"numeric type codes are allowed")
        try:
            dtype = np.dtype(spec)
        except TypeError as err:
            raise pickle.UnpicklingError(f"unknown dtype {spec!r}: {err}") from None
        if dtype.kind not in "biuf" or dtype.fields is not None or dtype.subdtype is not None:
            raise pickle.UnpicklingError(f"refusing dtype {dtype} (only bool, integer and float arrays are read)")
        return np.dtype(dtype, align=bool(align), copy=bool(copy))


_NDARRAY, _RECONSTRUCT_CALL, _DTYPE = _Ndarray(), _Reconstruct(), _Dtype()


class DataUnpickler(pickle.Unpickler):
    """An unpickler for data files: plain Python data and numeric NumPy arrays only
    (see the module docstring for why that is safe). ``encoding`` is for Python 2
    pickles, as ``pickle.Unpickler``'s."""

    def find_class(self, module, name):
        if (module, name) in _RECONSTRUCT:
            return _RECONSTRUCT_CALL
        if (module, name) == ("numpy", "ndarray"):
            return _NDARRAY
        if (module, name) == ("numpy", "dtype"):
            return _DTYPE
        raise pickle.UnpicklingError(f"refusing to load global {module}.{name}: this data file names code to "
                                     f"run, which a data file never needs (only NumPy arrays and plain data "
                                     f"are read)")


def loads(data: bytes, encoding="bytes"):
    """The object pickled in ``data``, read with ``DataUnpickler``. Any failure, refusals
    included, is a ``pickle.UnpicklingError``."""
    try:
        return DataUnpickler(io.BytesIO(data), encoding=encoding).load()
    except pickle.UnpicklingError:
        raise
    except (KeyboardInterrupt, MemoryError):
        raise
    except Exception as err:  # a damaged pickle fails in many ways (EOFError, ValueError, TypeError...)
        raise pickle.UnpicklingError(f"{type(err).__name__}: {err}") from None
