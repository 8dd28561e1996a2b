"""Element-wise kernels. Each accepts ``out=`` (a planned buffer) and returns the result."""
from graphflow.ops import elementwise as ew

from ..table import KERNELS
from ._out import to_declared_float

_UFUNCS = {
    ew.Add: "add", ew.Sub: "subtract", ew.Mul: "multiply", ew.Div: "true_divide",
    ew.FloorDiv: "floor_divide", ew.Mod: "remainder", ew.Pow: "power", ew.Maximum: "maximum",
    ew.Minimum: "minimum", ew.Neg: "negative", ew.Abs: "absolute", ew.Sign: "sign", ew.Exp: "exp",
    ew.Log: "log", ew.Log1p: "log1p", ew.Expm1: "expm1", ew.Sqrt: "sqrt", ew.Square: "square",
    ew.Tanh: "tanh", ew.Equal: "equal", ew.NotEqual: "not_equal", ew.Less: "less",
    ew.LessEqual: "less_equal", ew.Greater: "greater", ew.GreaterEqual: "greater_equal",
    ew.LogicalAnd: "logical_and", ew.LogicalOr: "logical_or", ew.LogicalNot: "logical_not",
    ew.IsFinite: "isfinite",
}


def _ufunc_factory(name):
    def factory(op, node, xp):
        return getattr(xp, name)
    return factory


# ufuncs write straight into ``out`` and may be given one of their inputs as ``out``
for _op, _name in _UFUNCS.items():
    KERNELS.register(_op, writes_out=True, inplace=True)(_ufunc_factory(_name))


def _buffer(node, xp):
    """``out`` or a fresh array for multi-step kernels: they work in place, and a ufunc
    on a 0-d input returns a scalar, which cannot be written into."""
    dtype = node.outputs[0].dtype

    def get(x, out):
        return out if out is not None else xp.empty(x.shape, dtype)
    return get


@KERNELS.register(ew.Rsqrt, writes_out=True, inplace=True)
def rsqrt(op, node, xp):
    buffer = _buffer(node, xp)

    def run(x, out=None):
        out = xp.sqrt(x, out=buffer(x, out))
        return xp.reciprocal(out, out=out)
    return run


@KERNELS.register(ew.Sigmoid, writes_out=True, inplace=True)
def sigmoid(op, node, xp):
    to_float, buffer = to_declared_float(node), _buffer(node, xp)

    def run(x, out=None):  # 1/(1+e^-x) = (1 + tanh(x/2)) / 2, with no overflow
        out = xp.multiply(to_float(x), 0.5, out=buffer(x, out))
        xp.tanh(out, out=out)
        xp.add(out, 1, out=out)
        return xp.multiply(out, 0.5, out=out)
    return run


@KERNELS.register(ew.Relu, writes_out=True, inplace=True)
def relu(op, node, xp):
    def run(x, out=None):
        return xp.maximum(x, 0, out=out)
    return run


@KERNELS.register(ew.Softplus, writes_out=True, inplace=True)
def softplus(op, node, xp):
    to_float, buffer = to_declared_float(node), _buffer(node, xp)

    def run(x, out=None):  # log(1 + e^x) = max(x, 0) + log1p(e^-|x|)
        x = to_float(x)
        t = xp.negative(xp.abs(x), out=buffer(x, None))
        xp.exp(t, out=t)
        xp.log1p(t, out=t)
        return xp.add(xp.maximum(x, 0), t, out=out)
    return run


@KERNELS.register(ew.Where)
def where(op, node, xp):
    dtype = node.outputs[0].dtype

    def run(c, x, y, out=None):
        r = xp.where(c, x, y)
        if r.dtype != dtype:
            r = r.astype(dtype)
        if out is not None:
            out[...] = r
            return out
        return r
    return run


@KERNELS.register(ew.Clip, writes_out=True, inplace=True)
def clip(op, node, xp):
    dtype = node.outputs[0].dtype
    lo, hi = xp.asarray(op.lo, dtype), xp.asarray(op.hi, dtype)

    def run(x, out=None):
        return xp.clip(x, lo, hi, out=out)
    return run


@KERNELS.register(ew.StopGradient, writes_out=True, inplace=True)
def identity(op, node, xp):
    def run(x, out=None):  # a copy (kernels return fresh arrays), for every dtype
        if out is None:
            return xp.array(x, copy=True)
        out[...] = x
        return out
    return run


@KERNELS.register(ew.Cast, writes_out=True, inplace=True)
def cast(op, node, xp):
    def run(x, out=None):
        if out is not None:
            out[...] = x
            return out
        return x.astype(op.dtype)
    return run
