"""Fuzzed feeds: whatever a caller passes to a compiled function — any dtype, shape,
memory layout, read-only or not, NumPy subclasses, Python scalars and lists, junk — it
gets the right answer or a FeedError naming the placeholder, and its own array is
never changed (nor is a returned array tied to it).

``make test`` runs a short derandomised sample; ``GRAPHFLOW_FUZZ_EXAMPLES=20000`` a deep one.
"""
import copy
import math
import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphflow as gf

DEEP = int(os.environ.get("GRAPHFLOW_FUZZ_EXAMPLES", "0"))
SETTINGS = settings(max_examples=DEEP or 150, derandomize=not DEEP, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))
PH_DTYPES = ["float32", "float64", "float16", "int8", "int32", "int64", "uint8", "bool", "complex64"]
VALUE_DTYPES = PH_DTYPES + ["float64", ">f4", "<i2", "uint64", "complex128", "U1", "S2", "O", "M8[s]", "V4",
                            "f4,i4"]
DIMS = [0, 1, 2, 3, None]


@st.composite
def placeholders(draw):
    shape = tuple(draw(st.lists(st.sampled_from(DIMS), max_size=3)))
    return gf.placeholder(shape, draw(st.sampled_from(PH_DTYPES)), name="feed_fz")


@st.composite
def arrays(draw, ph):
    """An ndarray: mostly shaped to fit ``ph``, in any dtype and memory layout."""
    if draw(st.booleans()):
        shape = tuple(draw(st.sampled_from([1, 2, 3])) if d is None else d for d in ph.shape)
    else:
        shape = tuple(draw(st.lists(st.sampled_from([0, 1, 2, 3]), max_size=3)))
    dtype = np.dtype(draw(st.sampled_from(VALUE_DTYPES)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    magnitude = draw(st.sampled_from([3, 300, 1e6, 1e300]))
    base = np.asarray(rng.uniform(-magnitude, magnitude, shape))
    if draw(st.booleans()) and base.size:
        base.flat[rng.integers(base.size)] = draw(st.sampled_from([math.nan, math.inf, -math.inf]))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if dtype.kind in "iub":
            base = np.nan_to_num(base, posinf=0, neginf=0)
        value = np.array(np.zeros(shape, dtype) if dtype.kind in "MV" else base.astype(dtype))
    layout = draw(st.sampled_from(["c", "fortran", "strided", "transposed", "readonly", "broadcast"]))
    if layout == "fortran":
        value = np.asfortranarray(value)
    elif layout == "strided":  # a non-contiguous view with the same shape
        value = np.repeat(value, 2, axis=-1)[..., ::2] if value.ndim else value
    elif layout == "transposed":
        value = value.T.copy().T
    elif layout == "readonly":
        value.flags.writeable = False
    elif layout == "broadcast" and value.ndim:  # zero strides, read-only, as np.broadcast_to gives
        value = np.broadcast_to(value[..., :1], value.shape) if value.shape[-1] else value
    return value


def others(draw, ph):
    """Anything else a caller might pass."""
    shape = tuple(2 if d is None else d for d in ph.shape)
    good = np.ones(shape, ph.dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # np.matrix is pending deprecation; complex -> float64 warns
        choices = [
            good.tolist(), good.astype(np.float64).tolist(), 3, 2.5, True, 1 + 1j, math.nan, math.inf, 2**70, -(2**64),
            2**63, None, "abc", b"x", {}, [], [[1, 2], [3]], [1, None], [1, "a"], object(), (x for x in range(2)),
            gf.placeholder(shape), np.ma.masked_array(good, mask=np.ones(shape, bool)),
            np.ma.masked_array(good), np.float32(1.5), np.int64(7), np.bool_(True),
        ]
        if len(shape) == 2:
            choices.append(np.matrix(good))
        if good.ndim and good.size:
            rec = np.zeros(good.shape, dtype=[("a", "f4")])
            choices.append(rec)
    return draw(st.sampled_from(choices))


@st.composite
def feed_cases(draw):
    ph = draw(placeholders())
    value = draw(arrays(ph)) if draw(st.booleans()) else others(draw, ph)
    return ph, value


def lossless(src: np.dtype, dst: np.dtype) -> bool:
    """The casts check_feed documents as safe in kind (range is checked separately)."""
    if src == dst:
        return True
    s, d = src.kind, dst.kind
    if d == "b":
        return False
    if d in "iu":
        return s in "biu"
    if d == "f":
        return s in "biuf"
    return s in "biufc"  # complex


def expected(ph, value):
    """What the placeholder should receive, or None if a FeedError is due."""
    if isinstance(value, (gf.Tensor, np.ma.MaskedArray)) and (
            isinstance(value, gf.Tensor) or np.ma.getmaskarray(value).any()):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = np.asarray(value)
    except Exception:  # noqa: BLE001
        return None
    target = np.dtype(ph.dtype)
    if arr.dtype.kind not in "biufc" or not ph.type.accepts(arr.shape) or not lossless(arr.dtype, target):
        return None
    with np.errstate(all="ignore"):
        out = arr.astype(target)
    if target.kind in "iu" and arr.size and arr.dtype.kind in "iu" and (
            int(arr.min()) < np.iinfo(target).min or int(arr.max()) > np.iinfo(target).max):
        return None
    if target.kind in "fc" and arr.dtype.kind != "b" and (np.isfinite(arr) & ~np.isfinite(out)).any():
        return None  # a finite value beyond the target's range would become Inf
    return out


def program(ph):
    """Output 0 is the feed itself; output 1 an element-wise op the planner may do in place."""
    return [ph, gf.logical_not(ph) if ph.dtype == "bool" else ph + ph]


@SETTINGS
@given(feed_cases())
def test_any_feed_gives_the_answer_or_a_feed_error(case):
    ph, value = case
    f = gf.function([ph], program(ph))
    before = copy.deepcopy(value) if isinstance(value, np.ndarray) else None
    flags = value.flags.writeable if isinstance(value, np.ndarray) else None
    want = expected(ph, value)
    try:
        with np.errstate(all="ignore"):
            got = f(value)
    except gf.FeedError as exc:
        assert "`feed_fz" in str(exc), str(exc)
        assert want is None, f"refused a feed it should take ({type(value).__name__}): {exc}"
        return
    assert want is not None, f"took {value!r} for {ph.type}, which should be refused; got {got[0]!r}"
    same, doubled = got
    assert same.dtype == np.dtype(ph.dtype) and same.shape == want.shape
    np.testing.assert_array_equal(same, want)
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(doubled, np.logical_not(want) if ph.dtype == "bool" else want + want)
    if before is not None:  # the caller's array: same values, same flags, not shared with results
        np.testing.assert_array_equal(value, before)
        assert value.flags.writeable == flags
        for out in got:
            assert not np.shares_memory(out, value)


@pytest.mark.parametrize("value", [np.ones((2, 3)), np.ones((2, 3), np.float32), np.ones((3, 2), np.float32).T])
def test_a_returned_array_is_the_callers_to_write(value):
    x = gf.placeholder((2, 3), name="feed_w")
    f = gf.function([x], [x, gf.reshape(x, (3, 2)), x[0]])
    keep = value.copy()
    outs = f(value)
    for out in outs:
        out[...] = -7
    np.testing.assert_array_equal(value, keep)
    np.testing.assert_array_equal(f(value)[0], keep.astype(np.float32))


def test_feed_errors_read_well():
    x = gf.placeholder((None, 2), name="feed_m")
    f = gf.function([x], x * 2)
    cases = {
        "masked array with 1 masked entries": np.ma.masked_array(np.ones((1, 2)), mask=[[True, False]]),
        "values such as 1e+300 beyond float32's range": np.array([[1.0, 1e300]]),
        "was fed the symbolic tensor": x,
        "ints beyond 64 bits are not numbers": [[2**70, 1]],
        "could not read the value (list) as an array": [[1, 2], [3]],
    }
    for fragment, value in cases.items():
        with pytest.raises(gf.FeedError, match="placeholder `feed_m") as err:
            f(value)
        assert fragment in str(err.value), str(err.value)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        matrix = np.matrix([[1, 2]])
    np.testing.assert_array_equal(f(matrix), [[2, 4]])
    np.testing.assert_array_equal(f(np.ma.masked_array([[1.0, 2.0]])), [[2, 4]])
    assert np.isnan(f(np.array([[np.nan, np.inf]])))[0, 0] and np.isinf(f(np.array([[np.nan, np.inf]])))[0, 1]
