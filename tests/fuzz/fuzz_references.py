"""NumPy references for the fuzzer: ``REFERENCES[name](args)`` computes what the op of
that name computes, from the concrete values of its tensor arguments (``args`` maps
parameter names to arrays, or to the Python values passed). Raising ``NoReference``
skips the comparison for a call whose arguments have no simple NumPy equivalent.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.special
from numpy.lib.stride_tricks import sliding_window_view

class NoReference(Exception):
    """This call has no simple NumPy equivalent (values are then not compared)."""


def _ufunc(name):
    f = getattr(np, name)
    return lambda a: f(*[a[k] for k in ("x", "y") if k in a])


def _reduce(f):
    return lambda a: f(a["x"], axis=_axes(a.get("axis")), keepdims=bool(a.get("keepdims", False)))


def _axes_of(axis, ndim):
    if axis is None:
        return range(ndim)
    return [a % ndim for a in ((axis,) if isinstance(axis, (int, np.integer)) else axis)]


def _axes(axis):
    return tuple(int(a) for a in axis) if isinstance(axis, (list, np.ndarray)) else axis


def _softmax(a, log=False):
    f = scipy.special.log_softmax if log else scipy.special.softmax
    return f(a["x"], axis=a.get("axis", -1)).astype(a["x"].dtype)


def _where_float(a, f):
    x = a["x"]
    if x.dtype.kind != "f":
        raise NoReference
    return f(x).astype(x.dtype)


def _real(x):
    """Activations compute in the float type NumPy's exp gives (bool -> float16)."""
    if x.dtype.kind == "c":
        raise NoReference
    return x.astype(np.exp(np.zeros((), x.dtype)).dtype)


def _clip(a):
    x, lo, hi = a["x"], a["lo"], a["hi"]
    if x.dtype.kind in "iu":  # integers clip to the integers inside [lo, hi]
        info = np.iinfo(x.dtype)
        lo, hi = math.ceil(max(lo, info.min)), math.floor(min(hi, info.max))
    return np.minimum(np.maximum(x, lo), hi).astype(x.dtype)


def _squeeze(a):
    axis = a.get("axis")
    if axis is None:  # graphflow drops the axes that are statically 1
        axis = tuple(i for i, d in enumerate(a["_static"]["x"]) if d == 1)
    return np.squeeze(a["x"], axis=_axes(axis))


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _nhwc(a):
    x = a["x"]
    first = a.get("data_format") == "channels_first"
    return (x.transpose(0, 2, 3, 1) if first else x), first


def _same_pads(n, k_eff, stride, padding):
    if (padding or "valid").lower() != "same":
        return 0, 0
    total = max((-(-n // stride) - 1) * stride + k_eff - n, 0)
    return total // 2, total - total // 2


def _windows(x, k_eff, strides, padding, fill):
    """(N, out_h, out_w, C, kh_eff, kw_eff) windows of NHWC ``x``, padded TF's way."""
    if 0 in x.shape:
        raise NoReference  # nothing to compare: the output shape is checked on its own
    pads = [_same_pads(x.shape[ax], k, s, padding) for ax, k, s in zip((1, 2), k_eff, strides)]
    x = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=fill)
    return sliding_window_view(x, k_eff, axis=(1, 2))[:, ::strides[0], ::strides[1]]


def _conv2d(a):
    x, first = _nhwc(a)
    k = a["kernel"]
    s, d = _pair(a.get("strides", 1)), _pair(a.get("dilation", 1))
    k_eff = tuple((n - 1) * dd + 1 for n, dd in zip(k.shape[:2], d))
    win = _windows(x, k_eff, s, a.get("padding"), 0)[..., ::d[0], ::d[1]]
    y = np.einsum("nijcab,abcf->nijf", win, k).astype(x.dtype)
    return y.transpose(0, 3, 1, 2) if first else y


def _pool(a, kind):
    x, first = _nhwc(a)
    size = _pair(a.get("pool_size", 2))
    strides = size if a.get("strides") is None else _pair(a["strides"])
    if kind == "max":
        y = _windows(x, size, strides, a.get("padding"), -np.inf).max(axis=(-2, -1))
    else:  # 'same' averages over the real cells only
        total = _windows(x, size, strides, a.get("padding"), 0).sum(axis=(-2, -1))
        cells = _windows(np.ones_like(x), size, strides, a.get("padding"), 0).sum(axis=(-2, -1))
        y = total / cells
    y = y.astype(x.dtype)
    return y.transpose(0, 3, 1, 2) if first else y


def _pad(a):
    mode = a.get("mode", "constant")
    extra = {"constant_values": a.get("constant_values", 0)} if mode == "constant" else {}
    return np.pad(a["x"], a["paddings"], mode=mode, **extra)


def _sparse_cce(a):
    t, p = _array(a["target"]), _array(a["output"])
    if not a.get("from_logits", False):
        eps = a.get("epsilon", 1e-7)
        p = np.log(np.clip(p, eps, 1 - eps))
    if t.ndim == p.ndim:
        t = t[..., 0]
    logp = scipy.special.log_softmax(p, axis=-1)
    return -np.take_along_axis(logp, t[..., None].astype(np.int64), -1)[..., 0]


def _getitem(a):
    key = a["key"]
    return np.asarray(a["x"][key if isinstance(key, tuple) else (key,)])


def _array(v):
    if not isinstance(v, np.ndarray):
        raise NoReference  # a Python value made into a constant by rules of its own
    return v


def _sum_like(a):
    x, like = _array(a["x"]), _array(a["like"])
    lead = x.ndim - like.ndim
    axes = tuple(range(lead)) + tuple(lead + i for i, d in enumerate(like.shape) if d == 1 and x.shape[lead + i] != 1)
    return np.sum(x, axis=axes, keepdims=True).reshape(like.shape) if axes else x.reshape(like.shape)


def _bce(a):
    t, p = a["target"], _array(a["output"])
    eps = a.get("epsilon", 1e-7)
    if not a.get("from_logits", False):
        p = np.clip(p, eps, 1 - eps)
        p = np.log(p / (1 - p))
    return np.maximum(p, 0) - p * t + np.log1p(np.exp(-np.abs(p)))


def _cce(a):
    t, p = a["target"], _array(a["output"])
    if a.get("from_logits", False):
        return -np.sum(t * scipy.special.log_softmax(p, axis=-1), -1).astype(p.dtype)
    eps = a.get("epsilon", 1e-7)
    p = p / np.sum(p, -1, keepdims=True)
    return -np.sum(t * np.log(np.clip(p, eps, 1 - eps)), -1)


def _bias_add(a):
    x, b = a["x"], a["bias"]
    if a.get("data_format") == "channels_first":
        b = b.reshape((-1,) + (1,) * (x.ndim - 2))
    return x + b


SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946

REFERENCES = {
    **{n: _ufunc(n) for n in ("add", "subtract", "multiply", "divide", "floor_divide", "maximum", "minimum",
                                "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
                                "logical_and", "logical_or", "logical_not", "abs", "negative", "sign", "exp",
                                "log", "log1p", "expm1", "sqrt", "square", "tanh", "isfinite")},
    "sub": _ufunc("subtract"), "mul": _ufunc("multiply"), "div": _ufunc("divide"),
    "floordiv": _ufunc("floor_divide"), "mod": _ufunc("remainder"), "neg": _ufunc("negative"),
    "pow": _ufunc("power"),
    "rsqrt": lambda a: _where_float(a, lambda x: 1 / np.sqrt(x)),
    "sigmoid": lambda a: _where_float(a, scipy.special.expit),
    "relu": lambda a: np.maximum(a["x"], 0),
    "softplus": lambda a: _where_float(a, lambda x: np.logaddexp(0, x)),
    "stop_gradient": lambda a: a["x"],
    "where": lambda a: np.where(a["cond"], a["x"], a["y"]),
    "clip": _clip,
    "cast": lambda a: a["x"].astype(a["dtype"]),
    "sum": _reduce(np.sum), "mean": _reduce(np.mean), "max": _reduce(np.max), "min": _reduce(np.min),
    "prod": _reduce(np.prod), "var": _reduce(np.var), "std": _reduce(np.std),
    "logsumexp": lambda a: a["x"] if a.get("axis") in ((), []) else
    _reduce(scipy.special.logsumexp)(a).reshape(_reduce(np.sum)(a).shape),
    "argmax": lambda a: np.argmax(a["x"], axis=a.get("axis", -1), keepdims=bool(a.get("keepdims", False))),
    "argmin": lambda a: np.argmin(a["x"], axis=a.get("axis", -1), keepdims=bool(a.get("keepdims", False))),
    "broadcast_to": lambda a: np.broadcast_to(a["x"], a["shape"]),
    "broadcast_like": lambda a: np.broadcast_to(_array(a["x"]), _array(a["like"]).shape),
    "reshape_like": lambda a: _array(a["x"]).reshape(_array(a["like"]).shape),
    "sum_like": _sum_like,
    "expand_dims": lambda a: np.expand_dims(a["x"], a["axis"]),
    "reshape": lambda a: a["x"].reshape(a["shape"]),
    "transpose": lambda a: np.transpose(a["x"], a.get("axes")),
    "flatten": lambda a: a["x"].reshape(a["x"].shape[0], math.prod(a["x"].shape[1:])),
    "matmul": lambda a: np.matmul(a["x"], a["y"]),
    "dot": lambda a: np.dot(a["x"], a["y"]),
    "outer": lambda a: np.outer(a["x"], a["y"]),
    "tensordot": lambda a: np.tensordot(a["x"], a["y"], a.get("axes", 2)),
    "take": lambda a: np.take(a["x"], a["indices"], axis=a.get("axis", 0)),
    "gather": lambda a: np.take(a["x"], a["indices"], axis=a.get("axis", 0)),
    "getitem": _getitem,
    "concatenate": lambda a: np.concatenate(a["xs"], axis=a.get("axis", 0)),
    "stack": lambda a: np.stack(a["xs"], axis=a.get("axis", 0)),
    "split": lambda a: np.split(a["x"], a["indices_or_sections"], axis=a.get("axis", 0)),
    "tile": lambda a: np.tile(a["x"], a["reps"]),
    "softmax": _softmax, "log_softmax": lambda a: _softmax(a, log=True),
    "softsign": lambda a: _real(a["x"]) / (1 + np.abs(_real(a["x"]))),
    "leaky_relu": lambda a: np.where(a["x"] > 0, a["x"], a.get("alpha", 0.3) * _real(a["x"])),
    "elu": lambda a: np.where(a["x"] > 0, a["x"], a.get("alpha", 1.0) * np.expm1(np.minimum(_real(a["x"]), 0))),
    "hard_sigmoid": lambda a: np.clip(0.2 * _real(a["x"]) + 0.5, 0, 1),
    "bias_add": _bias_add,
    "squeeze": _squeeze, "pad": _pad, "conv2d": _conv2d,
    "max_pool2d": lambda a: _pool(a, "max"), "avg_pool2d": lambda a: _pool(a, "avg"),
    "one_hot": lambda a: np.eye(a["depth"], dtype=a.get("dtype", "float32"))[a["indices"]],
    "count": lambda a: np.asarray(math.prod(np.asarray(a["x"]).shape[i] for i in
                                            _axes_of(a.get("axis"), np.ndim(a["x"]))), a.get("dtype", "float32")),
    "selu": lambda a: SELU_SCALE * np.where(a["x"] > 0, _real(a["x"]), SELU_ALPHA * np.expm1(np.minimum(_real(a["x"]), 0))),
    "gelu": lambda a: 0.5 * _real(a["x"]) * (1 + np.tanh(math.sqrt(2 / math.pi) * (_real(a["x"]) + 0.044715 * _real(a["x"]) ** 3))),
    "sparse_categorical_crossentropy": _sparse_cce,
    "binary_crossentropy": _bce,
    "categorical_crossentropy": _cce,
    "softmax_cross_entropy": lambda a: -np.sum(a["target"] * scipy.special.log_softmax(a["logits"], axis=-1), -1)
    .astype(a["logits"].dtype),
}
