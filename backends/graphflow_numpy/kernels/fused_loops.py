"""Fused element-wise groups as one compiled loop (numba): one pass over memory, no
temporaries, on every core.

A group whose array inputs all have the output's shape (C-contiguous) and whose other
inputs are single values — ReLU-gradient masks, optimizer updates, activation chains —
becomes a generated function of one element, looped over a range:

    def loop(lo, hi, out, x0, x1):      # where(greater(x1, 0), x0, 0), generated
        for i in range(lo, hi):
            a0 = x0[i]; a1 = x1[i]
            t0 = np.bool_(a1 > np.float32(0.0))
            t1 = np.float32(a0 if t0 else np.float32(0.0))
            out[i] = t1

Every step's result is cast to its declared dtype, and each op's scalar form follows
NumPy's (NaN propagates through maximum/minimum and clip; sigmoid and softplus use the
same formulas as the NumPy kernels), so the loop computes what the step-by-step plan
computes, to the last bit where the math library agrees and within an ulp of
exp/log/tanh otherwise. The source is kept in graphflow's private cache folder, named by
a hash of it and of the versions it was made with, so numba caches its machine code on
disk; what runs is always the text generated here (``compile()``, never a ``.pyc``). Groups with an op
that has no scalar form here, or inputs that broadcast, keep the NumPy plan.
"""
from __future__ import annotations

import functools
import hashlib
import math
import os
import sys
import types

import numpy as np

from graphflow.ops import elementwise as ew
from graphflow.ops.fused import Fused
from graphflow.utils.private_dir import private_dir

from .. import jit

_SCALAR_TYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                 "float32", "float64"}

_BIN = {ew.Add: "({0} + {1})", ew.Sub: "({0} - {1})", ew.Mul: "({0} * {1})", ew.Div: "({0} / {1})",
        ew.Greater: "({0} > {1})", ew.GreaterEqual: "({0} >= {1})", ew.Less: "({0} < {1})",
        ew.LessEqual: "({0} <= {1})", ew.Equal: "({0} == {1})", ew.NotEqual: "({0} != {1})",
        ew.LogicalAnd: "(bool({0}) and bool({1}))", ew.LogicalOr: "(bool({0}) or bool({1}))",
        # NumPy's maximum/minimum return NaN when either side is NaN
        ew.Maximum: "({0} if ({0} >= {1} or {0} != {0}) else {1})",
        ew.Minimum: "({0} if ({0} <= {1} or {0} != {0}) else {1})"}
_UNARY = {ew.Neg: "(-{0})", ew.Abs: "abs({0})", ew.Exp: "np.exp({0})", ew.Log: "np.log({0})",
          ew.Log1p: "np.log1p({0})", ew.Expm1: "np.expm1({0})", ew.Sqrt: "np.sqrt({0})",
          ew.Rsqrt: "({c1} / np.sqrt({0}))", ew.Square: "({0} * {0})", ew.Tanh: "np.tanh({0})",
          ew.Sign: "np.sign({0})", ew.LogicalNot: "(not bool({0}))", ew.IsFinite: "np.isfinite({0})",
          ew.Cast: "{0}", ew.StopGradient: "{0}",
          ew.Relu: "({0} if ({0} >= {c0} or {0} != {0}) else {c0})",
          # the NumPy kernels' formulas: (1 + tanh(x/2)) / 2, and max(x, 0) + log1p(e^-|x|)
          ew.Sigmoid: "(({c1} + np.tanh({0} * {half})) * {half})",
          ew.Softplus: "(({0} if {0} > {c0} else {c0}) + np.log1p(np.exp(-abs({0}))))"}


def _expr(op, args, dtype) -> str | None:
    """The scalar expression of one step, or None when the op has none here."""
    consts = {"c0": f"np.{dtype}(0)", "c1": f"np.{dtype}(1)", "half": f"np.{dtype}(0.5)"}
    t = type(op)
    if t in _BIN:
        return _BIN[t].format(*args)
    if t in _UNARY:
        return _UNARY[t].format(*args, **consts)
    if t is ew.Where:
        return f"({args[1]} if {args[0]} else {args[2]})"
    if t is ew.Clip:  # np.clip: NaN stays NaN
        lo, hi = _literal(op.lo, dtype), _literal(op.hi, dtype)
        return f"({args[0]} if {args[0]} != {args[0]} else min(max({args[0]}, {lo}), {hi}))"
    return None


def _literal(value, dtype) -> str:
    """``value`` as source text of a ``dtype`` constant that reads back to the same bits:
    infinities and NaN by name (``repr`` gives a bare ``inf``, which is no name in the
    generated module), other floats by their shortest exact ``repr`` (the largest float32
    and subnormals included), integers as integers."""
    if isinstance(value, (bool, np.bool_)):
        return f"np.{dtype}({bool(value)})"
    if isinstance(value, (int, np.integer)):
        return f"np.{dtype}({int(value)})"
    v = float(value)
    text = "np.nan" if math.isnan(v) else ("np.inf" if v > 0 else "-np.inf") if math.isinf(v) else repr(v)
    return f"np.{dtype}({text})"


#: longer groups keep the NumPy plan: numba's compile time grows faster than linearly with
#: the loop body (a 60-step group took minutes), and the hot groups of real models — masks,
#: optimizer updates, activation chains — are a few steps long
MAX_STEPS = 12


def loop_source(op: Fused, input_dtypes, scalars, step_dtypes) -> str | None:
    """The Python source of the group's loop, or None when some step has no scalar form
    (or the group is longer than ``MAX_STEPS``). ``scalars[i]``: input i is a single value
    (passed as a scalar, not indexed)."""
    if len(op.steps) > MAX_STEPS:
        return None
    names = [f"x{i}" if scalars[i] else f"a{i}" for i in range(op.n_inputs)]
    lines = [f"a{i} = x{i}[i]" for i in range(op.n_inputs) if not scalars[i]]
    for j, (step, refs) in enumerate(op.steps):
        dtype = np.dtype(step_dtypes[j]).name
        expr = _expr(step, [names[r] for r in refs], dtype)
        if expr is None or dtype not in _SCALAR_TYPES:
            return None
        lines.append(f"t{j} = np.{dtype}({expr})")
        names.append(f"t{j}")
    params = ", ".join(f"x{i}" for i in range(op.n_inputs))
    body = "\n".join(f"        {line}" for line in lines + [f"out[i] = t{len(op.steps) - 1}"])
    return (f"import numpy as np\n\n\ndef loop(lo, hi, out, {params}):\n"
            f"    for i in range(lo, hi):\n{body}\n")


def _key(source: str) -> str:
    """The module name of ``source``: a hash of it and of everything its compiled form
    depends on, so no cache entry of another version is ever taken for ours."""
    stamp = f"{_versions()}\n{source}"
    return "gf_fused_" + hashlib.blake2b(stamp.encode(), digest_size=12).hexdigest()


@functools.lru_cache(maxsize=1)
def _versions() -> str:
    try:
        from importlib.metadata import version
        ours = version("graphflow")
    except Exception:  # noqa: BLE001 - not installed (a source checkout): the generator's text keys it
        ours = "source"
    import numba
    return f"{ours}\n{numba.__version__}\n{np.__version__}\n{sys.version}\n{_GENERATOR}"


with open(__file__, "rb") as _f:  # this generator's own text: a change to it is a new key
    _GENERATOR = hashlib.blake2b(_f.read(), digest_size=8).hexdigest()


@functools.lru_cache(maxsize=256)
def compiled_loop(source: str):
    """The compiled ``loop`` of ``source``, or None without numba.

    The source is written to the private cache folder (``graphflow.utils.private_dir``)
    so that numba can cache its machine code there, but what runs is always the text
    generated here, compiled with ``compile()``: no file's contents and no ``.pyc`` are
    ever imported. Without a private folder the loop is compiled in memory, uncached."""
    if not jit.available():
        return None
    name = _key(source)
    text = source.replace("def loop(", f"def {name}(", 1)
    folder = private_dir("fused-loops")
    path = f"<graphflow fused loop {name}>"  # in memory: numba then caches nothing
    if folder is not None:
        path = os.path.join(folder, name + ".py")
        try:
            with open(path, encoding="utf-8") as f:
                current = f.read()
        except OSError:
            current = None
        if current != text:
            from graphflow.utils import write_text
            write_text(path, text, durable=False)
    module = types.ModuleType(name)
    module.__file__ = path
    exec(compile(text, path, "exec"), module.__dict__)  # noqa: S102 - our own generated text
    sys.modules[name] = module  # numba's cache locates functions through their module
    return jit.loop(getattr(module, name))  # named by its hash in STATS and numba's cache


def loop_for(op: Fused, args, out, step_dtypes, memo: dict):
    """``run(lo, hi)`` filling ``out[lo:hi]`` (flat) for these inputs, or None when the
    group does not fit a compiled loop (inputs that broadcast, a step without a scalar
    form). The decision and the compiled loop are kept per input layout in ``memo``."""
    key = (out.shape, out.flags.c_contiguous) + tuple([(a.shape, a.flags.c_contiguous) for a in args])
    found = memo.get(key, False)
    if found is False:
        found = memo[key] = _decide(op, args, out, step_dtypes)
    if found is None:
        return None
    fn, scalars = found
    flat = [a.reshape(-1)[0] if s else a.reshape(-1) for a, s in zip(args, scalars)]
    flat_out = out.reshape(-1)
    return lambda lo, hi: fn(lo, hi, flat_out, *flat)


def _decide(op, args, out, step_dtypes):
    if not (out.flags.c_contiguous and out.dtype.name in _SCALAR_TYPES):
        return None
    scalars = []
    for a in args:
        if a.size == 1:
            scalars.append(True)
        elif a.shape == out.shape and a.flags.c_contiguous:
            scalars.append(False)
        else:
            return None
    source = loop_source(op, [a.dtype.name for a in args], tuple(scalars), step_dtypes)
    fn = compiled_loop(source) if source is not None else None
    return None if fn is None else (fn, scalars)
