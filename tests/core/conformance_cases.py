"""The backend conformance catalog: every op of ``graphflow.ops`` and ``gf.nn`` (and,
through ``gf.grad``, every gradient op), each case a small graph run on a backend and
on the NumPy backend with the same data, seeds and weights.

A case lists its inputs as ``(shape, kind)``: ``kind`` picks the data (``normal``,
``positive``, ``int32``...); its builder returns the outputs. Unless ``grad=False``, the
case also returns the gradient of ``sum(w_k * output_k)`` (fixed random weights) with
respect to every float input, built with ``gf.grad``; ``no_grad`` names outputs left out
of that sum (steps such as ``sign``). ``exact`` cases must match bit for bit (integer
work, random bits, dropout masks).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import zlib

import numpy as np

import graphflow as gf



def weights(shape, dtype="float32", seed=0):
    """Fixed weights: the same array every time a case's graph is built."""
    return gf.constant(np.random.default_rng(seed).standard_normal(shape).astype(dtype))


@dataclass
class Case:
    name: str
    build: object
    inputs: list
    grad: bool = True
    no_grad: tuple = ()
    exact: bool = False
    rtol: float = 2e-5
    atol: float = 2e-6
    covers: tuple = ()           # public functions exercised (besides the builder's obvious ones)
    extra: dict = field(default_factory=dict)


def data(shape, kind, rng):
    """Input data of ``kind`` (see the module docstring); an unknown (None) dim is 3."""
    shape = tuple(3 if d is None else d for d in shape)
    if kind == "normal":
        return rng.standard_normal(shape).astype(np.float32)
    if kind == "normal64":
        return rng.standard_normal(shape)
    if kind == "positive":
        return rng.uniform(0.5, 2.0, shape).astype(np.float32)
    if kind == "prob":
        p = rng.uniform(0.05, 1.0, shape).astype(np.float32)
        return p / p.sum(-1, keepdims=True)
    if kind == "onehot":
        return np.eye(shape[-1], dtype=np.float32)[rng.integers(0, shape[-1], shape[:-1])]
    if kind.startswith("int"):
        lo, hi = (-6, 7) if ":" not in kind else map(int, kind.split(":")[1:])
        return rng.integers(lo, hi, shape).astype(np.int32 if kind.startswith("int32") else np.int64)
    if kind == "bool":
        return rng.random(shape) < 0.5
    raise ValueError(kind)


def dtype_of(kind) -> str:
    return {"normal64": "float64", "bool": "bool"}.get(kind, "int64" if kind.startswith("int64")
                                                        else "int32" if kind.startswith("int") else "float32")


def build(case: Case):
    """``(placeholders, outputs)`` for one fresh copy of the case's graph."""
    phs = [gf.placeholder(shape, dtype_of(kind)) for shape, kind in case.inputs]
    outs = case.build(*phs)
    outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
    if case.grad:
        wrt = [p for p in phs if p.dtype.startswith("float")]
        rng = np.random.default_rng(len(case.name))
        terms = [gf.sum(o * rng.standard_normal([d or 1 for d in o.shape]).astype(o.dtype)) for k, o in enumerate(outs)
                 if k not in case.no_grad and o.dtype.startswith("float")]
        loss = terms[0]
        for t in terms[1:]:
            loss = loss + gf.cast(t, loss.dtype)
        outs += list(gf.grad(loss, wrt))
    return phs, outs


def _conv(padding, strides, dilation, fmt, dtype="float32"):
    def b(x):
        k = weights((3, 2, 3, 4), dtype)
        return gf.nn.conv2d(x, k, strides=strides, padding=padding, data_format=fmt, dilation=dilation)
    shape = (2, 9, 8, 3) if fmt == "channels_last" else (2, 3, 9, 8)
    kind = "normal64" if dtype == "float64" else "normal"
    return Case(f"conv2d_{padding}_s{strides}_d{dilation}_{fmt}_{dtype}", b, [(shape, kind)],
                rtol=1e-4, atol=1e-5)


def _pool(fn, pool, strides, padding, fmt):
    def b(x):
        return getattr(gf.nn, fn)(x, pool, strides, padding, fmt)
    shape = (2, 7, 6, 3) if fmt == "channels_last" else (2, 3, 7, 6)
    return Case(f"{fn}_{pool}_{strides}_{padding}_{fmt}", b, [(shape, "normal")])


def _double_grad(fn):
    """d/dx of |d pool(x)/dx · v|²: second-order pooling gradients (MaxPool2DGradGrad)."""
    def b(x, v):
        y = fn(x)
        (g,) = gf.grad(gf.sum(y * v), [x])
        return [y, gf.grad(gf.sum(g * g * x), [x])[0]]
    return b


CASES = [
    # ------------------------------------------------------------ element-wise
    Case("arith_broadcast", lambda a, b: [a + b, a - b, a * b, a / (b * b + 1), gf.maximum(a, b), gf.minimum(b, a)],
         [((3, 4), "normal"), ((4,), "normal")], covers=("add", "sub", "subtract", "mul", "multiply", "div",
                                                           "divide", "maximum", "minimum")),
    Case("pow_mod_floordiv", lambda a, b: [a ** b, gf.pow(a, 2.0), gf.mod(b * 3, a), gf.floordiv(b * 3, a)],
         [((2, 5), "positive"), ((5,), "normal")], no_grad=(3,), covers=("pow", "mod", "floordiv")),
    Case("unary_math", lambda a, p: [gf.exp(a), gf.log(p), gf.log1p(p), gf.expm1(a), gf.sqrt(p), gf.rsqrt(p),
                                     gf.square(a), gf.tanh(a), gf.sigmoid(a), gf.softplus(a), gf.relu(a),
                                     gf.abs(a), gf.sign(a), gf.neg(a), gf.negative(p)],
         [((3, 5), "normal"), ((3, 5), "positive")], no_grad=(12,),
         covers=("exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "square", "tanh", "sigmoid", "softplus", "relu",
                 "abs", "sign", "neg", "negative")),
    Case("activations", lambda a: [gf.nn.elu(a, 0.7), gf.nn.selu(a), gf.nn.leaky_relu(a), gf.nn.softsign(a),
                                   gf.nn.hard_sigmoid(a * 3), gf.nn.gelu(a), gf.nn.relu(a), gf.nn.sigmoid(a),
                                   gf.nn.tanh(a), gf.nn.softplus(a)],
         [((4, 6), "normal")]),
    Case("compare_logic", lambda a, b: [gf.cast(gf.equal(gf.floordiv(a * 2, 1.0), gf.floordiv(b * 2, 1.0)), "float32"),
                                        gf.not_equal(a, b), gf.less(a, b), gf.less_equal(a, b), gf.greater(a, b),
                                        gf.greater_equal(a, b), gf.logical_and(a > 0, b > 0),
                                        gf.logical_or(a > 0, b > 0), gf.logical_not(a > b),
                                        gf.isfinite(gf.log(a)), gf.where(a > b, a, b * 2), gf.clip(a, -0.5, 0.7)],
         [((3, 4), "normal"), ((4,), "normal")], no_grad=(0,),
         covers=("equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and",
                 "logical_or", "logical_not", "isfinite", "where", "clip")),
    Case("int_arith", lambda i, j: [i + j, i * j, gf.floordiv(i, j), gf.mod(i, j), gf.pow(i, gf.abs(j) % 4),
                                    gf.abs(i), gf.maximum(i, j), gf.cast(i, "float32") / 4, i < j, gf.sign(i),
                                    -i, gf.square(j)],
         [((3, 5), "int32"), ((5,), "int32")], grad=False, exact=True),
    Case("mixed_dtypes", lambda i, a, d: [i + a, a * d, gf.exp(i), i / 2, gf.sqrt(gf.abs(d)) + a,
                                          gf.where(i > 0, a, d)],
         [((2, 3), "int32"), ((2, 3), "normal"), ((3,), "normal64")], rtol=1e-6, atol=1e-7),
    Case("cast_stop", lambda a: [gf.cast(gf.cast(a * 4, "int32"), "float32"), gf.cast(a, "float64") * 2,
                                 gf.cast(a > 0, "float32"), gf.stop_gradient(a) * a, gf.cast(a * 4, "int64")],
         [((3, 4), "normal")], no_grad=(0, 2, 4), covers=("cast", "stop_gradient")),
    Case("unknown_dims", lambda a, b, c: [gf.count(a, 0), gf.mean(a, 0), gf.flatten(b), gf.concatenate([a, a * 2], 0),
                                       gf.concatenate([b, a[:, :, None] * b], 2), gf.sum_like(b, a[:, :1, None]), gf.flatten(c)],
         [((None, 4), "normal"), ((None, 4, 2), "normal"), ((None, None, 2), "normal")], no_grad=(0,)),
    # ------------------------------------------------------------ reductions
    Case("reductions", lambda a: [gf.sum(a, 0), gf.mean(a, 1, keepdims=True), gf.max(a), gf.min(a, (0, 2)),
                                  gf.prod(a * 0.5 + 1, 2), gf.var(a, 1), gf.std(a), gf.count(a, (0, 1)),
                                  gf.argmax(a, 1), gf.argmin(a), gf.logsumexp(a, -1), gf.logsumexp(a)],
         [((3, 4, 5), "normal")], no_grad=(7,),
         covers=("sum", "mean", "max", "min", "prod", "var", "std", "count", "argmax", "argmin", "logsumexp")),
    # ------------------------------------------------------------ shapes and indexing
    Case("shape_ops", lambda a, b: [gf.reshape(a, (6, 4)), gf.reshape_like(a, gf.transpose(a)), gf.transpose(a),
                                    gf.transpose(a, (1, 0, 2)), gf.expand_dims(a, 1), gf.squeeze(b),
                                    gf.broadcast_to(b, (3, 1, 4)), gf.broadcast_like(b, a[:, :1, :]),
                                    gf.sum_like(a, b), gf.flatten(a), a.T],
         [((3, 2, 4), "normal"), ((1, 4), "normal")],
         covers=("reshape", "reshape_like", "transpose", "expand_dims", "squeeze", "broadcast_to", "broadcast_like",
                 "sum_like", "flatten")),
    Case("likes", lambda a: [gf.zeros_like(a), gf.ones_like(a) * a, gf.full_like(a, 2.5) + a],
         [((None, 3), "normal")], no_grad=(0,)),
    Case("getitem", lambda a: [a[1], a[:, ::-2], a[..., 1:4, None], gf.getitem(a, (slice(None), 0)),
                               a[-1, 2, 3], a[::2, 1:-1]],
         [((3, 4, 5), "normal")], covers=("getitem",)),
    Case("gather", lambda a, i: [gf.take(a, i, 0), gf.gather(a, i, axis=1), a[i], gf.take(a, gf.constant(
        np.array([[1, 1, 1], [0, 2, 1]])), 0)],
         [((3, 5), "normal"), ((7,), "int32:-3:3")], covers=("take", "gather")),
    Case("joining", lambda a, b: [gf.concatenate([a, b], 0), gf.concatenate([a, b * 2, a], 1),
                                  gf.stack([a, b], 1), *gf.split(a, 2, 1), *gf.split(b, [1, 3], axis=1),
                                  gf.tile(a, (2, 3)), gf.tile(b, 2)],
         [((2, 4), "normal"), ((2, 4), "normal")], covers=("concatenate", "stack", "split", "tile")),
    Case("pad", lambda a: [gf.pad(a, ((1, 2), (0, 3))), gf.pad(a, 1, constant_values=2.5),
                           gf.pad(a, ((2, 1), (1, 2)), "reflect"), gf.pad(a, ((0, 3), (2, 2)), "symmetric"),
                           gf.pad(a, 2, "edge")],
         [((4, 5), "normal")], covers=("pad",)),
    # ------------------------------------------------------------ linear algebra
    Case("linalg", lambda a, b, c, v: [gf.matmul(a, b), a @ b, gf.matmul(c, gf.transpose(c, (0, 2, 1))),
                                       gf.dot(v, v), gf.dot(a, b), gf.outer(v, v), gf.tensordot(c, b, 1),
                                       gf.tensordot(c, c, ([1, 2], [1, 2]))],
         [((3, 4), "normal"), ((4, 5), "normal"), ((2, 3, 4), "normal"), ((4,), "normal")], rtol=1e-4,
         atol=1e-5, covers=("matmul", "dot", "outer", "tensordot")),
    # ------------------------------------------------------------ convolution and pooling
    *[_conv(p, s, d, f) for p, s, d, f in [("valid", 1, 1, "channels_last"), ("same", 1, 1, "channels_last"),
                                           ("same", 2, 1, "channels_last"), ("valid", 2, 1, "channels_first"),
                                           ("same", 1, 2, "channels_first"), ("valid", (2, 1), (1, 2),
                                                                              "channels_last")]],
    _conv("same", 1, 1, "channels_last", "float64"),
    Case("conv2d_kernel_grad", lambda x, k: [gf.nn.conv2d(x, k, padding="same"), gf.nn.conv2d(x, k, 2, "valid",
                                                                                             "channels_first")],
         [((2, 6, 5, 6), "normal"), ((3, 3, 6, 3), "normal")], rtol=1e-4, atol=1e-5),
    Case("conv2d_transpose", lambda y, k: [gf.nn.conv2d_transpose(y, k, 2, "same"), gf.nn.conv2d_transpose(
        y, k, (1, 2), "valid"), gf.nn.conv2d_transpose(gf.transpose(y, (0, 3, 1, 2)), k, 2, "valid", "channels_first")],
         [((2, 4, 3, 5), "normal"), ((3, 3, 2, 5), "normal")], rtol=1e-4, atol=1e-5),
    Case("conv_1x1_and_double_grad", lambda x, v: [
        gf.nn.conv2d(x, weights((1, 1, 3, 2))),
        gf.grad(gf.sum(gf.square(gf.grad(gf.sum(gf.nn.conv2d(x, weights((3, 3, 3, 2), seed=1), padding="same") * v),
                                         [x])[0])), [x])[0]],
        [((2, 5, 5, 3), "normal"), ((2, 5, 5, 2), "normal")], rtol=1e-4, atol=1e-5, covers=("conv2d",)),
    *[_pool(fn, p, s, pad, f) for fn in ("max_pool2d", "avg_pool2d") for p, s, pad, f in [
        (2, None, "valid", "channels_last"), (3, 2, "same", "channels_last"), ((2, 3), (1, 2), "valid",
                                                                              "channels_first"),
        (3, 1, "same", "channels_first")]],
    Case("max_pool_double_grad", _double_grad(lambda x: gf.nn.max_pool2d(x, 3, 2, "same")),
         [((2, 6, 5, 2), "normal"), ((2, 3, 3, 2), "normal")], covers=("max_pool2d",)),
    Case("avg_pool_double_grad", _double_grad(lambda x: gf.nn.avg_pool2d(x, 2, 1, "valid", "channels_first")),
         [((2, 2, 5, 4), "normal"), ((2, 2, 4, 3), "normal")], covers=("avg_pool2d",)),
    # 3-D convolution and pooling: compositions of the 2-D ops (slices, concatenation,
    # reshapes), so every backend runs them through its conv2d / pool2d kernels
    Case("conv3d", lambda x, k: [gf.nn.conv3d(x, k, padding="same"), gf.nn.conv3d(x, k, (2, 1, 2), "valid",
                                                                                  dilation=(1, 2, 1)),
                                 gf.nn.conv3d(gf.transpose(x, (0, 4, 1, 2, 3)), k, 1, "valid", "channels_first")],
         [((2, 4, 5, 4, 3), "normal"), ((2, 2, 3, 3, 2), "normal")], rtol=1e-4, atol=1e-5),
    Case("conv3d_transpose", lambda y, k: [gf.nn.conv3d_transpose(y, k, 2, "same"), gf.nn.conv3d_transpose(
        y, k, (1, 2, 1), "valid"), gf.nn.conv3d_transpose(gf.transpose(y, (0, 4, 1, 2, 3)), k, 2, "valid",
                                                         "channels_first")],
         [((2, 3, 2, 3, 4), "normal"), ((3, 2, 2, 2, 4), "normal")], rtol=1e-4, atol=1e-5),
    Case("pool3d", lambda x: [gf.nn.max_pool3d(x, 2, None, "valid"), gf.nn.max_pool3d(x, 3, 2, "same"),
                              gf.nn.avg_pool3d(x, (2, 3, 2), 1, "same"),
                              gf.nn.avg_pool3d(gf.transpose(x, (0, 4, 1, 2, 3)), 2, None, "valid", "channels_first")],
         [((2, 4, 5, 4, 2), "normal")]),
    Case("bias_add", lambda x, b, y: [gf.nn.bias_add(x, b), gf.nn.bias_add(y, b, "channels_first")],
         [((2, 3, 3, 4), "normal"), ((4,), "normal"), ((2, 4, 3, 3), "normal")]),
    # ------------------------------------------------------------ recurrent steps
    Case("lstm_cell", lambda z, c: [*gf.nn.lstm_cell(z, c), *gf.nn.lstm_cell(z, c, "hard_sigmoid")],
         [((3, 8), "normal"), ((3, 2), "normal")], covers=("lstm_cell",)),
    # ------------------------------------------------------------ softmax and losses
    Case("softmax", lambda a, b: [gf.nn.softmax(a), gf.nn.softmax(b, axis=1), gf.nn.log_softmax(a),
                                  gf.nn.log_softmax(b, 0)],
         [((4, 10), "normal"), ((2, 5, 3), "normal")]),
    Case("softmax64", lambda a: [gf.nn.softmax(a), gf.nn.log_softmax(a, 0)], [((3, 7), "normal64")]),
    Case("losses", lambda z, p, t, lab, bt: [
        gf.nn.categorical_crossentropy(t, p), gf.nn.categorical_crossentropy(t, z, from_logits=True),
        gf.nn.softmax_cross_entropy(z, t), gf.nn.sparse_categorical_crossentropy(lab, gf.nn.softmax(z)),
        gf.nn.sparse_categorical_crossentropy(lab, z, from_logits=True),
        gf.nn.binary_crossentropy(bt, gf.sigmoid(z)), gf.nn.binary_crossentropy(bt, z, from_logits=True),
        gf.nn.one_hot(lab, 6), gf.one_hot(lab, 7, "float64")],
        [((4, 6), "normal"), ((4, 6), "prob"), ((4, 6), "onehot"), ((4,), "int64:0:6"), ((4, 6), "prob")],
        covers=("categorical_crossentropy", "softmax_cross_entropy", "sparse_categorical_crossentropy",
                "binary_crossentropy", "one_hot")),
    # ------------------------------------------------------------ randomness: the same bits everywhere
    Case("dropout", lambda a, b: [gf.nn.dropout(a, 0.3, seed=11), gf.nn.dropout(b, 0.5, seed=2**40 + 3,
                                                                                 noise_shape=(None, 1, 5))],
         [((64, 33), "normal"), ((3, 4, 5), "normal")], exact=True),
    Case("random_uniform", lambda a: [gf.random_uniform((5, 7), seed=3), gf.random_uniform(a, -2.0, 3.0, seed=4),
                                      gf.random_uniform((9,), seed=5, dtype="float64")],
         [((6, 5), "normal")], grad=False, exact=True),
    Case("random_normal", lambda a: [gf.random_normal(a, 1.5, 0.5, seed=6), gf.random_normal((3, 3), seed=7,
                                                                                           dtype="float64")],
         [((6, 5), "normal")], grad=False, rtol=2e-6, atol=2e-6),
    # ------------------------------------------------------------ control flow: loops and branches
    Case("scan", lambda x, h: [
        gf.scan(lambda xt, hp: gf.tanh(xt @ weights((3, 4)) + hp * 0.5), sequences=x, outputs_info=h),
        gf.scan(lambda xt, hp, w: [hp * w + xt.sum(), gf.sigmoid(xt)], sequences=x, outputs_info=[h[0], None],
                non_sequences=weights((4,), seed=1), go_backwards=True)[0]],
        [((5, 2, 3), "normal"), ((2, 4), "normal")], rtol=1e-4, atol=1e-5),
    Case("while_loop", lambda a: list(gf.while_loop(lambda i, s: i < 4, lambda i, s: (i + 1, gf.tanh(s * 1.3 + a)),
                                                    (gf.constant(0, dtype="int64"), a), maximum_iterations=9)),
         [((3, 4), "normal")], rtol=1e-4, atol=1e-5),
    Case("cond", lambda a, b: [gf.cond(gf.sum(a) > 0, lambda: a * b, lambda: a - b),
                               gf.cond(gf.sum(b) > 100.0, lambda: (a, b), lambda: (gf.exp(b), a))[0]],
         [((3, 4), "normal"), ((3, 4), "normal")]),
    Case("scan_random", lambda a: gf.scan(lambda at: at + gf.random_uniform((4,), seed=9), sequences=a),
         [((3, 4), "normal")], grad=False, rtol=1e-6, atol=1e-6),
]

# public functions that are not ops (seeding) or that the cases reach under another name
NOT_OPS = {"draw_seed", "set_random_seed"}


def feeds(case):
    """The case's input data (the same on every run and every backend)."""
    rng = np.random.default_rng(zlib.crc32(case.name.encode()))
    return [data(shape, kind, rng) for shape, kind in case.inputs]


def run(case, backend):
    """``(outputs, function)``: the case built fresh and run once on ``backend``."""
    phs, outs = build(case)
    f = gf.function(phs, outs, backend=backend)
    with np.errstate(all="ignore"):
        return f(*feeds(case)), f, outs


def compare(case, got, ref, outs) -> float:
    """Assert ``got`` (a backend's outputs) matches ``ref`` (the NumPy backend's); returns
    the largest difference relative to the tolerance (at most 1)."""
    assert len(got) == len(ref)
    worst = 0.0
    for k, (g, r, t) in enumerate(zip(got, ref, outs)):
        assert isinstance(g, np.ndarray) and g.shape == r.shape and t.type.accepts(g.shape), (k, g.shape, r.shape)
        assert g.dtype == r.dtype == t.dtype, (k, g.dtype, r.dtype)
        if case.exact or g.dtype.kind in "biu":
            np.testing.assert_array_equal(g, r, err_msg=f"output {k} of {case.name}")
            continue
        rtol, atol = (case.rtol, case.atol) if g.dtype == np.float32 else (1e-9, 1e-10)
        np.testing.assert_allclose(g, r, rtol=rtol, atol=atol, err_msg=f"output {k} of {case.name}")
        with np.errstate(all="ignore"):
            excess = np.abs(g.astype(np.float64) - r) / (atol + rtol * np.abs(r.astype(np.float64)))
        finite = excess[np.isfinite(excess)]
        worst = max(worst, float(finite.max()) if finite.size else 0.0)
    return worst


# ---------------------------------------------------------------- fused patterns in a training step
def training_step(backend, steps=3):
    """A small CNN's SGD-with-momentum step (conv + bias + relu epilogue, max-pool,
    dropout, dense + softmax cross-entropy, momentum updates: the fused groups and
    epilogues a training step makes) run ``steps`` times on ``backend`` from fixed
    weights and data; returns the losses and the variables' final values."""
    rng = np.random.default_rng(11)
    x = gf.placeholder((None, 8, 8, 2), "float32")
    t = gf.placeholder((None, 3), "float32")
    params = [gf.variable(rng.normal(0, 0.3, s).astype("float32")) for s in ((3, 3, 2, 4), (4,), (64, 3), (3,))]
    k, b, w, c = params
    h = gf.nn.max_pool2d(gf.relu(gf.nn.bias_add(gf.nn.conv2d(x, k, padding="same"), b)))
    h = gf.nn.dropout(gf.reshape(h, (-1, 64)), 0.2, seed=5)
    loss = gf.mean(gf.nn.categorical_crossentropy(t, gf.nn.softmax(gf.matmul(h, w) + c)))
    velocity = [gf.variable(np.zeros(p.shape, "float32")) for p in params]
    updates = []
    for p, v, g in zip(params, velocity, gf.grad(loss, params)):
        new_v = 0.9 * v - 0.1 * g
        updates += [(v, new_v), (p, p + 0.9 * new_v - 0.1 * g)]
    f = gf.function([x, t], loss, updates=updates, backend=backend)
    xs = rng.standard_normal((steps, 5, 8, 8, 2)).astype("float32")
    ts = np.eye(3, dtype="float32")[rng.integers(0, 3, (steps, 5))]
    losses = [float(f(a, b_)) for a, b_ in zip(xs, ts)]
    return losses, [p.get_value() for p in params + velocity], f
