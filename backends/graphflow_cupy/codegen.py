"""CUDA source for a fused element-wise group: one kernel, one pass, every step in registers.

A ``Fused`` op (``graphflow/ops/fused.py``) lists its steps as data; each step's op has a
CUDA expression (``EXPRESSIONS``). The generated kernel reads each input once per output
element, computes the steps in order with NumPy's dtype for every intermediate (the
``Fused.step_types`` of the inputs), and writes the output, which is C-contiguous.

How an input is read is part of the kernel (``Operand.kind``), chosen per call from its
shape and strides after the launcher has merged every dimension it can:

- ``"c"``: contiguous and shaped like the output: element ``i``;
- ``"s"``: one element broadcast everywhere: element 0;
- ``"g"``: anything else (a broadcast row, a transposed view): the output index is split
  into coordinates over the merged dimensions ``d0..``, and the input's element strides
  ``s<k>_0..`` (0 where it broadcasts) give its offset.

So a bias add over an (N, H, W, C) activation is a 2-D kernel (N*H*W, C) whose bias
offset is ``i % C``; a chain of same-shaped ops reads every input at ``i``.

    >>> name, src = fused_source(op, (Operand("float32", "c"), Operand("float32", "g")), ndim=2)
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from graphflow.graph import TensorType

from .expressions import EXPRESSIONS
from .source import INDEX_TYPES, Unsupported, common, ctype

KINDS = ("c", "s", "g")


@dataclass(frozen=True)
class Operand:
    """How the kernel reads one input: its dtype and its kind (``c``, ``s`` or ``g``)."""
    dtype: str
    kind: str = "c"

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"operand kind must be one of {KINDS}, got {self.kind!r}")


def step_dtypes(op, in_dtypes) -> list:
    """The dtype of every value of the group: the inputs, then each step's result."""
    return [t.dtype for t in op.step_types([TensorType(d, ()) for d in in_dtypes])]


def check_supported(op, in_dtypes) -> None:
    """Raise ``Unsupported`` unless every step has a CUDA expression and every value a C type."""
    for sub, _ in op.steps:
        if EXPRESSIONS.get(type(sub)) is None:
            raise Unsupported(f"{type(sub).__name__} has no CUDA expression")
    for dtype in step_dtypes(op, in_dtypes):
        ctype(dtype)


def kernel_name(op, operands, ndim, index) -> str:
    key = repr((op, operands, ndim, index)).encode()
    return "gf_fused_" + hashlib.sha1(key).hexdigest()[:16]


def _body(op, operands, ndim, idx) -> tuple:
    dtypes = step_dtypes(op, [o.dtype for o in operands])
    lines = []
    if any(o.kind == "g" for o in operands):
        lines.append(f"    {idx} r = i;")
        for j in range(ndim - 1, 0, -1):
            lines.append(f"    const {idx} c{j} = r % d{j}; r /= d{j};")
        lines.append(f"    const {idx} c0 = r;")
    for k, o in enumerate(operands):
        if o.kind == "c":
            at = "i"
        elif o.kind == "s":
            at = "0"
        else:
            at = " + ".join(f"c{j} * s{k}_{j}" for j in range(ndim)) or "0"
        lines.append(f"    const {ctype(o.dtype)} x{k} = in{k}[{at}];")
    names = [f"x{k}" for k in range(len(operands))]
    n = len(operands)
    for j, (sub, refs) in enumerate(op.steps):
        out_dtype = dtypes[n + j]
        expr = EXPRESSIONS.get(type(sub)).render(sub, [names[r] for r in refs], [dtypes[r] for r in refs], out_dtype)
        c = ctype(out_dtype)
        lines.append(f"    const {c} t{j} = ({c}){expr};")
        names.append(f"t{j}")
    lines.append(f"    out[i] = {names[-1]};")
    return lines, dtypes[-1]


def fused_source(op, operands, ndim: int = 0, index: str = "int32", header: bool = True) -> tuple:
    """``(kernel name, CUDA source)`` for ``op`` (a ``Fused``) reading ``operands``.

    The source defines ``<name>_at(i, ...)`` (one element, host and device), the kernel
    ``extern "C" __global__ <name>(n, in0.., out, d0.., s<k>_<j>..)`` and, when not
    compiled for CUDA, ``<name>_host`` with the same parameters (a loop, for the tests).
    ``ndim`` is the number of merged dimensions the ``g`` operands are indexed over;
    ``index`` the index type (``int32`` or ``int64``).
    """
    operands = tuple(operands)
    if len(operands) != op.n_inputs:
        raise ValueError(f"{op.label()} takes {op.n_inputs} inputs, got {len(operands)} operands")
    check_supported(op, [o.dtype for o in operands])
    general = [k for k, o in enumerate(operands) if o.kind == "g"]
    if general and ndim < 1:
        raise ValueError("strided operands need ndim >= 1")
    ndim = ndim if general else 0
    idx = INDEX_TYPES[index]
    name = kernel_name(op, operands, ndim, index)
    lines, out_dtype = _body(op, operands, ndim, idx)
    params = [f"const {ctype(o.dtype)}* in{k}" for k, o in enumerate(operands)]
    params.append(f"{ctype(out_dtype)}* out")
    params += [f"{idx} d{j}" for j in range(ndim)]
    params += [f"{idx} s{k}_{j}" for k in general for j in range(ndim)]
    args = ", ".join(p.rsplit(" ", 1)[1].lstrip("*") for p in params)
    decl = ", ".join(params)
    src = [
        "// " + "; ".join(op.describe()).encode("ascii", "replace").decode(),
        f"GF_HD void {name}_at({idx} i, {decl}) {{",
        *lines,
        "}",
        "#if defined(__CUDACC__)",
        f'extern "C" __global__ void {name}({idx} n, {decl}) {{',
        f"    for ({idx} i = ({idx})blockIdx.x * blockDim.x + threadIdx.x; i < n; i += ({idx})blockDim.x * gridDim.x)",
        f"        {name}_at(i, {args});",
        "}",
        "#else",
        f'extern "C" void {name}_host({idx} n, {decl}) {{',
        f"    for ({idx} i = 0; i < n; ++i) {name}_at(i, {args});",
        "}",
        "#endif",
    ]
    text = "\n".join(src) + "\n"
    return name, (common() + "\n" + text if header else text)


__all__ = ["Operand", "Unsupported", "check_supported", "fused_source", "step_dtypes"]


# ---------------------------------------------------------------- layout of one call
@dataclass(frozen=True)
class Layout:
    """How one call's inputs map onto the output: the output shape, the merged
    dimensions, each input's kind and its element strides over them."""
    shape: tuple
    dims: tuple
    kinds: tuple
    strides: tuple      # per input, one stride per merged dim (0 where it broadcasts)

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def ndim(self) -> int:
        """Merged dimensions the kernel indexes (0 when no input needs them)."""
        return len(self.dims) if "g" in self.kinds else 0

    def extent(self) -> int:
        """The largest index or offset the kernel forms (to choose its index type)."""
        reach = [sum(abs(s) * (d - 1) for s, d in zip(st, self.dims)) for st in self.strides]
        return max([self.size] + reach)


def broadcast_shape(shapes) -> tuple:
    """NumPy's broadcast of ``shapes`` (a ValueError when they do not broadcast)."""
    nd = max((len(s) for s in shapes), default=0)
    out = []
    for j in range(nd):
        dims = {s[j - nd + len(s)] for s in shapes if j - nd + len(s) >= 0} - {1}
        if len(dims) > 1:
            raise ValueError(f"shapes {list(shapes)} do not broadcast")
        out.append(dims.pop() if dims else 1)
    return tuple(out)


def layout(shapes, strides) -> Layout:
    """The ``Layout`` for inputs of ``shapes`` with element ``strides`` (NumPy broadcasting).

    Size-1 output dimensions are dropped, and neighbouring dimensions are merged wherever
    every operand (the C-contiguous output included) steps through them as one.

    >>> layout([(4, 3), (3,)], [(3, 1), (1,)]).kinds       # a broadcast row
    ('c', 'g')
    """
    shape = broadcast_shape(shapes)
    nd = len(shape)
    rows = []
    for shp, st in zip(shapes, strides):
        lead = nd - len(shp)
        rows.append([0 if j < lead or shp[j - lead] == 1 else st[j - lead] for j in range(nd)])
    contiguous, step = [0] * nd, 1
    for j in range(nd - 1, -1, -1):
        contiguous[j], step = step, step * shape[j]
    keep = [j for j in range(nd) if shape[j] != 1]
    dims = [shape[j] for j in keep]
    cols = [[r[j] for j in keep] for r in rows + [contiguous]]
    j = len(dims) - 2
    while j >= 0:  # merge dim j with dim j+1 where every operand runs through both as one
        if all(c[j] == c[j + 1] * dims[j + 1] for c in cols):
            dims[j] *= dims[j + 1]
            del dims[j + 1]
            for c in cols:
                c[j] = c[j + 1]
                del c[j + 1]
        j -= 1
    out = cols.pop()
    kinds = tuple("c" if c == out else "s" if not any(c) else "g" for c in cols)
    return Layout(shape, tuple(dims), kinds, tuple(tuple(c) for c in cols))
