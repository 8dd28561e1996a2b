"""Plausible arguments: what a user who read the docs would pass (a 4-D float input and a
matching kernel for conv2d, a valid axis, labels shaped like the predictions...), so the
fuzzer also reaches deep into the ops that hostile arguments almost never get past, and
their values are checked against NumPy.

``PLAUSIBLE[name](draw, pool)`` returns keyword arguments, or ``None`` when the pool has
nothing suitable (the caller then draws hostile arguments instead).
"""
from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

import graphflow as gf

FLOATS = ("float32", "float64")


def pick(draw, pool, pred):
    found = [t for t in pool if pred(t)]
    return draw(st.sampled_from(found)) if found else None


def const(draw, shape, dtype="float32", lo=-3, hi=3):
    if math.prod(shape) > 10**5 or max(shape, default=0) > 10**5:  # a broadcast, never allocated
        return gf.broadcast_to(gf.constant(np.ones((), dtype)), shape)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if np.dtype(dtype).kind in "iu":
        return gf.constant(rng.integers(lo, hi, shape).astype(dtype))
    if dtype == "bool":
        return gf.constant(rng.random(shape) < 0.5)
    return gf.constant(rng.uniform(lo, hi, shape).astype(dtype))


def axis_of(draw, t, extra=0):
    n = t.ndim + extra
    return draw(st.integers(-n, n - 1)) if n else None


def _float(t):
    return t.dtype in FLOATS


def _known(t):
    return None not in t.shape


def _image(draw, pool):
    x = pick(draw, pool, lambda t: _float(t) and t.ndim == 4 and t.shape[1] and t.shape[2] and t.shape[3])
    if x is None:
        x = const(draw, tuple(draw(st.integers(1, 5)) for _ in range(4)), draw(st.sampled_from(FLOATS)))
    return x


def conv2d(draw, pool):
    x = _image(draw, pool)
    fmt = draw(st.sampled_from(["channels_last", "channels_first"]))
    c = x.shape[3] if fmt == "channels_last" else x.shape[1]
    if c is None:
        return None
    kernel = const(draw, (draw(st.integers(1, 3)), draw(st.integers(1, 3)), c, draw(st.integers(1, 3))), x.dtype)
    return dict(x=x, kernel=kernel, strides=draw(st.integers(1, 3)), padding=draw(st.sampled_from(["valid", "same"])),
                data_format=fmt, dilation=draw(st.integers(1, 2)))


def pool2d(draw, pool):
    return dict(x=_image(draw, pool), pool_size=draw(st.integers(1, 3)),
                strides=draw(st.one_of(st.none(), st.integers(1, 3))), padding=draw(st.sampled_from(["valid", "same"])),
                data_format=draw(st.sampled_from(["channels_last", "channels_first"])))


def bias_add(draw, pool):
    x = pick(draw, pool, lambda t: t.ndim >= 2 and t.dtype != "bool")
    if x is None:
        return None
    fmt = draw(st.sampled_from(["channels_last", "channels_first"]))
    c = x.shape[-1] if fmt == "channels_last" else x.shape[1]
    return None if c is None else dict(x=x, bias=const(draw, (c,), x.dtype), data_format=fmt)


def softmax(draw, pool):
    x = pick(draw, pool, lambda t: _float(t) and t.ndim >= 1)
    return None if x is None else dict(x=x, axis=axis_of(draw, x))


def _predictions(draw, pool):
    p = pick(draw, pool, lambda t: _float(t) and t.ndim >= 1 and _known(t) and t.shape[-1])
    return p if p is not None else const(draw, (draw(st.integers(1, 4)), draw(st.integers(1, 4))), "float32")


def crossentropy(draw, pool, sparse=False):
    out = gf.sigmoid(_predictions(draw, pool))
    if sparse:
        target = const(draw, out.shape[:-1], "int64", 0, out.shape[-1])
    else:
        target = const(draw, out.shape, out.dtype, 0, 1)
    return dict(target=target, output=out, from_logits=draw(st.booleans()))


def softmax_cross_entropy(draw, pool):
    logits = _predictions(draw, pool)
    return dict(logits=logits, target=const(draw, logits.shape, logits.dtype, 0, 1))


def along_an_axis(draw, pool):
    """``(x, axis, length)`` for a pool tensor of rank >= 1 and a valid axis, or None."""
    x = pick(draw, pool, lambda t: t.ndim >= 1)
    if x is None:
        return None
    axis = axis_of(draw, x)
    return x, axis, x.shape[axis]


def take(draw, pool):
    found = along_an_axis(draw, pool)
    if found is None or found[2] == 0:
        return None
    x, axis, dim = found
    bound = dim or 1
    idx = const(draw, tuple(draw(st.integers(0, 3)) for _ in range(draw(st.integers(0, 2)))), "int64", -bound, bound)
    return dict(x=x, indices=idx, axis=axis)


def getitem(draw, pool):
    x = pick(draw, pool, lambda t: t.ndim >= 1)
    if x is None:
        return None
    key = []
    for d in x.shape:
        if d and draw(st.booleans()):
            key.append(draw(st.integers(-d, d - 1)))
        else:
            key.append(slice(draw(st.one_of(st.none(), st.integers(-4, 4))), draw(st.one_of(st.none(), st.integers(-4, 4))),
                             draw(st.sampled_from([None, 1, 2, -1, -2]))))
        if draw(st.integers(0, 4)) == 0:
            key.append(None)
    if draw(st.booleans()):
        key[draw(st.integers(0, len(key) - 1))] = Ellipsis
    return dict(x=x, key=tuple(key))


def where(draw, pool):
    x = pick(draw, pool, lambda t: True)
    cond = pick(draw, pool, lambda t: t.dtype == "bool")
    cond = const(draw, x.shape if _known(x) else (), "bool") if cond is None else cond
    return dict(cond=cond, x=x, y=pick(draw, pool, lambda t: True))


def joining(draw, pool):
    x = pick(draw, pool, lambda t: t.ndim >= 1)
    if x is None:
        return None
    xs = [x] + [draw(st.sampled_from([x, gf.negative(x) if x.dtype != "bool" else x]))
                for _ in range(draw(st.integers(0, 2)))]
    return dict(xs=xs, axis=axis_of(draw, x))


def stack(draw, pool):
    kw = joining(draw, pool)
    if kw:
        kw["axis"] = axis_of(draw, kw["xs"][0], extra=1)
    return kw


def tensordot(draw, pool):
    x = pick(draw, pool, lambda t: _known(t) and t.dtype != "bool")
    if x is None:
        return None
    n = draw(st.integers(0, min(x.ndim, 2)))
    y = const(draw, x.shape[x.ndim - n:] + (draw(st.integers(1, 3)),), x.dtype)
    return dict(x=x, y=y, axes=n)


def transpose(draw, pool):
    x = pick(draw, pool, lambda t: True)
    return dict(x=x, axes=tuple(draw(st.permutations(range(x.ndim)))))


def one_hot(draw, pool):
    depth = draw(st.integers(1, 5))
    idx = pick(draw, pool, lambda t: t.dtype in ("int32", "int64") and isinstance(t, gf.Constant)
               and t.value.size and t.value.min() >= 0 and t.value.max() < depth)
    return dict(indices=idx if idx is not None else const(draw, (3,), "int64", 0, depth), depth=depth)


def pad(draw, pool):
    x = pick(draw, pool, lambda t: t.ndim >= 1)
    if x is None:
        return None
    mode = draw(st.sampled_from(["constant", "reflect", "symmetric", "edge"]))
    limit = lambda d: 2 if d is None or mode != "reflect" else max(d - 1, 0)  # noqa: E731
    pads = tuple((draw(st.integers(0, limit(d))), draw(st.integers(0, limit(d)))) for d in x.shape)
    return dict(x=x, paddings=pads, mode=mode, constant_values=draw(st.integers(-2, 2)))


def dropout(draw, pool):
    x = pick(draw, pool, lambda t: _float(t))
    if x is None:
        return None
    noise = None if draw(st.booleans()) else tuple(draw(st.sampled_from([1, None])) for _ in x.shape)
    return dict(x=x, rate=draw(st.floats(0, 0.9)), seed=draw(st.integers(0, 99)), noise_shape=noise)


def split(draw, pool):
    found = along_an_axis(draw, pool)
    if found is None:
        return None
    x, axis, dim = found
    if dim and draw(st.booleans()):
        sections = draw(st.sampled_from([k for k in range(1, min(dim, 64) + 1) if dim % k == 0]))
    else:
        sections = sorted(draw(st.lists(st.integers(0, 4), max_size=3)))
    return dict(x=x, indices_or_sections=sections, axis=axis)


def with_axis(draw, pool):
    """Any op taking ``x`` and an ``axis``: a valid axis for a pool tensor."""
    found = along_an_axis(draw, pool)
    return None if found is None else dict(x=found[0], axis=found[1])


PLAUSIBLE = {
    "conv2d": conv2d, "max_pool2d": pool2d, "avg_pool2d": pool2d, "bias_add": bias_add,
    "softmax": softmax, "log_softmax": softmax,
    "binary_crossentropy": crossentropy, "categorical_crossentropy": crossentropy,
    "sparse_categorical_crossentropy": lambda draw, pool: crossentropy(draw, pool, sparse=True),
    "softmax_cross_entropy": softmax_cross_entropy, "take": take, "gather": take, "getitem": getitem,
    "where": where, "concatenate": joining, "stack": stack, "tensordot": tensordot, "transpose": transpose,
    "one_hot": one_hot, "pad": pad, "dropout": dropout, "split": split,
    **{n: with_axis for n in ("sum", "mean", "max", "min", "prod", "var", "std", "argmax", "argmin",
                              "logsumexp", "expand_dims", "squeeze", "count")},
}
