"""What the graph fuzzer draws from: every public functional op of ``gf`` and ``gf.nn``
(enumerated, so a new op is fuzzed the day it lands), a strategy per parameter name
(hostile values included), and NumPy references for the ops where one is easy.

A parameter name without a strategy of its own gets ``WILD`` values (anything a user
might pass by mistake); a new op is therefore fuzzed at once, and sharpened by adding
its parameter names here.
"""
from __future__ import annotations

import inspect
import math
import warnings

import numpy as np
from hypothesis import strategies as st

import graphflow as gf

NOT_OPS = {"draw_seed", "set_random_seed"}  # public functions that build no tensor


def public_functions() -> dict:
    """``{name: function}`` for every functional op of ``gf`` and ``gf.nn``."""
    found = {}
    for module in (gf.ops, gf.nn):
        for name in module.__all__:
            fn = getattr(module, name)
            if inspect.isfunction(fn) and name not in NOT_OPS:
                found.setdefault(name, fn)
    return found


FUNCTIONS = public_functions()

DTYPES = ["float32", "float64", "float16", "int8", "int32", "int64", "uint8", "bool", "complex64"]
HUGE = 2**62
DIMS = [0, 1, 2, 3, 4, 5, None]
WILD_DIMS = DIMS + [-1, -3, HUGE, 2**31, 2**70, 2.0, 2.5, "3", True]

with warnings.catch_warnings():
    warnings.simplefilter("ignore", PendingDeprecationWarning)
    MATRIX = np.matrix([[1, 2]])

WILD = st.sampled_from([
    None, True, False, 0, 1, -1, 2, 3, 7, -7, HUGE, -HUGE, 2**70, 0.5, -0.5, 2.5, math.nan, math.inf,
    -math.inf, 1e300, "a", "same", "", b"x", (), [], [1, 2], [[1, 2], [3]], (1, 2), (0, -1),
    np.float32(1.5), np.int64(3), np.int8(-2), np.bool_(True), np.array([1, 2]), np.zeros((2, 0)),
    np.array([[1.0, np.nan]]), np.array(["a"]), np.array([1, "a"], dtype=object), object(), {},
    {"a": 1}, slice(None), slice(1, None, 0), Ellipsis, 1 + 2j, MATRIX, type,
])


def shapes(max_rank=4, wild=False):
    dims = st.sampled_from(WILD_DIMS if wild else DIMS)
    return st.lists(dims, max_size=max_rank).map(tuple)


def _tensor(pool):
    return st.sampled_from(pool)


def _tensorish(pool):
    """Mostly a tensor of the pool; sometimes a Python or NumPy value, or junk."""
    return st.one_of(_tensor(pool), _tensor(pool), _tensor(pool), _tensor(pool),
                     st.sampled_from([0, 1, 2.5, -1, True, [1.0, 2.0], [[1, 2], [3, 4]],
                                      np.arange(3, dtype=np.int32), np.ones((2, 3), np.float32)]),
                     WILD)


def _ints(lo=-6, hi=6):
    return st.integers(lo, hi)


def _axis(pool):
    return st.one_of(_ints(), _ints(), st.none(), st.lists(_ints(-4, 4), max_size=3).map(tuple),
                     st.sampled_from([HUGE, -HUGE, 1.0, "0", [0, 0], (0, 5), np.int64(1), True]), WILD)


def _window(pool):
    return st.one_of(_ints(0, 4), st.tuples(_ints(-1, 4), _ints(-1, 4)),
                     st.sampled_from([HUGE, (HUGE, 1), (1, 2, 3), 1.5, (2.0, 2.0), None, "2"]), WILD)


def _paddings(pool):
    pair = st.tuples(_ints(-1, 3), _ints(-1, 3))
    return st.one_of(_ints(-1, 3), pair, st.lists(pair, max_size=5),
                     st.sampled_from([HUGE, ((0, HUGE),), [[1, 1], [1]], 1.5]), WILD)


def _key_entry(pool):
    return st.one_of(_ints(-6, 6), st.none(), st.just(Ellipsis),
                     st.builds(slice, st.one_of(st.none(), _ints()), st.one_of(st.none(), _ints()),
                               st.one_of(st.none(), _ints(-3, 3))),
                     st.sampled_from([HUGE, 1.5, True, [0, 1], [-1], np.array([0, 2]), np.array([True]),
                                      "a", np.int64(1)]),
                     _tensor(pool))


def _key(pool):
    return st.one_of(_key_entry(pool), st.lists(_key_entry(pool), max_size=5).map(tuple))


def _xs(pool):
    return st.one_of(st.lists(_tensorish(pool), min_size=1, max_size=3), st.just([]), _tensor(pool), WILD)


def _floats():
    return st.one_of(st.floats(-3, 3), st.sampled_from([0.0, 1.0, math.nan, math.inf, -math.inf, 1e300]),
                     st.sampled_from(["0.5", None, [0.5]]))


def _rate():
    return st.one_of(st.floats(-0.5, 1.5), st.sampled_from([0.0, 0.5, 0.999, 1.0, math.nan, math.inf, "0.5",
                                                            None, [0.5]]))


def _dtype():
    return st.sampled_from(DTYPES + ["str", "object", None, np.float32, float, "floatx", 3, "float128"])


ARGS = {  # parameter name -> (pool -> strategy)
    "x": _tensorish, "y": _tensorish, "cond": _tensorish, "like": _tensorish, "indices": _tensorish,
    "kernel": _tensorish, "bias": _tensorish, "target": _tensorish, "output": _tensorish,
    "logits": _tensorish, "xs": _xs, "axis": _axis, "axes": _axis,
    "keepdims": lambda pool: st.one_of(st.booleans(), WILD),
    "from_logits": lambda pool: st.one_of(st.booleans(), WILD),
    "dtype": lambda pool: _dtype(),
    "shape": lambda pool: st.one_of(shapes(wild=True), _ints(-2, 6), WILD),
    "noise_shape": lambda pool: st.one_of(st.none(), shapes(wild=True), WILD),
    "reps": lambda pool: st.one_of(shapes(wild=True), _ints(-1, 3), WILD),
    "lo": lambda pool: _floats(), "hi": lambda pool: _floats(), "alpha": lambda pool: _floats(),
    "low": lambda pool: _floats(), "high": lambda pool: _floats(), "mean": lambda pool: _floats(),
    "stddev": lambda pool: _floats(), "value": lambda pool: st.one_of(_floats(), WILD),
    "epsilon": lambda pool: _floats(), "constant_values": lambda pool: _floats(),
    "key": _key, "paddings": _paddings,
    "mode": lambda pool: st.sampled_from(["constant", "reflect", "symmetric", "edge", "wrap", None, 3]),
    "indices_or_sections": lambda pool: st.one_of(_ints(-1, 5), st.lists(_ints(-4, 7), max_size=4), WILD),
    "depth": lambda pool: st.one_of(_ints(-1, 5), st.sampled_from([HUGE, 2.0, 2.5, "3", None])),
    "pool_size": _window, "strides": _window, "dilation": _window,
    "padding": lambda pool: st.sampled_from(["valid", "same", "VALID", "SAME", "full", None, 1]),
    "data_format": lambda pool: st.sampled_from(["channels_last", "channels_first", None, "NHWC", 0]),
    "rate": lambda pool: _rate(),
    "seed": lambda pool: st.one_of(st.none(), st.integers(-5, 2**70), st.sampled_from([1.5, "1"])),
    "name": lambda pool: st.sampled_from([None, "fuzz", 3, ""]),
}


def argument(name, pool):
    """The strategy for a parameter called ``name`` (``WILD`` for a name not listed)."""
    return ARGS[name](pool) if name in ARGS else WILD
