"""The CuPy backend's ``compile_fused`` hook: one generated CUDA kernel per fused group.

``ElementwiseLauncher`` runs a ``Fused`` op (or one element-wise op, as a one-step group)
for fixed input dtypes. Per input-shape signature (shapes, strides, dtypes) it works out
the ``codegen.Layout`` once, picks the matching generated kernel (compiled once per
process, and cached on disk by CuPy) and the launch arguments; a call is then one
launch. ``FusedEpilogue`` runs its head (cuBLAS GEMM, or the im2col convolution) into the
output buffer and the epilogue kernel in place over it.

Groups the generator does not handle (float16 or complex values, an op without a CUDA
expression) run as the NumPy backend's generated Python over this backend's kernels.
"""
from __future__ import annotations

import threading

import numpy as np

from graphflow.graph import TensorType
from graphflow.ops.fused import Fused
from graphflow_numpy.kernels.fused import _specs, _sub_nodes, epilogue_kernel, fused_kernel

from .. import device
from ..codegen import Operand, Unsupported, broadcast_shape, check_supported, fused_source, layout, step_dtypes

MAX_SIGNATURES = 16   # launch plans kept per kernel


class _Launch:
    __slots__ = ("shape", "n", "fn", "grid", "tail", "n_arg")

    def __init__(self, shape, n, fn, grid, tail, n_arg):
        self.shape, self.n, self.fn, self.grid, self.tail, self.n_arg = shape, n, fn, grid, tail, n_arg


class ElementwiseLauncher:
    """``run(*arrays, out=None)`` computing ``op`` (a ``Fused``) in one kernel launch;
    ``out`` (C-contiguous, the output's shape and dtype) may be one of the inputs."""

    def __init__(self, op: Fused, in_dtypes, where: str = ""):
        self.op, self.where = op, where
        self.in_dtypes = tuple(np.dtype(d) for d in in_dtypes)
        check_supported(op, [d.name for d in self.in_dtypes])
        self.out_dtype = np.dtype(step_dtypes(op, [d.name for d in self.in_dtypes])[-1])
        self.plans: dict = {}
        self._lock = threading.Lock()

    def source(self, lay) -> tuple:
        """``(name, source)`` of the kernel for one layout."""
        index = np.dtype(device.index_type(lay.extent())).name
        operands = tuple(Operand(d.name, k) for d, k in zip(self.in_dtypes, lay.kinds))
        return fused_source(self.op, operands, lay.ndim, index)

    def _plan(self, args, key) -> _Launch:
        got = tuple(a.dtype for a in args)
        if got != self.in_dtypes:
            raise TypeError(f"{self.where}: the fused kernel was compiled for inputs "
                            f"{[d.name for d in self.in_dtypes]}, got {[d.name for d in got]}")
        lay = layout([a.shape for a in args], [tuple(s // a.itemsize for s in a.strides) for a in args])
        index = device.index_type(lay.extent())
        name, src = self.source(lay)
        general = [k for k, kind in enumerate(lay.kinds) if kind == "g"]
        tail = device.scalars(index, *(lay.dims if lay.ndim else ()),
                              *[s for k in general for s in lay.strides[k]])
        plan = _Launch(lay.shape, lay.size, device.function(src, name), (device.blocks(lay.size),), tail,
                       index(lay.size))
        with self._lock:
            if len(self.plans) >= MAX_SIGNATURES:
                self.plans.pop(next(iter(self.plans)))
            self.plans[key] = plan
        return plan

    def __call__(self, *args, out=None):
        cp = device.cupy()
        if out is not None:  # one pass, each element read before it is written: only `out`'s own
            # elements in `out`'s own layout may be an input (the memory plan's in-place reuse)
            args = [a.copy() if a is not out and a.size and cp.may_share_memory(a, out)
                    and not device.same_view(a, out) else a for a in args]
        key = tuple([(a.shape, a.strides, a.dtype) for a in args])
        plan = self.plans.get(key) or self._plan(args, key)
        if out is None:
            out = cp.empty(plan.shape, self.out_dtype)
        if plan.n:
            plan.fn(plan.grid, (device.BLOCK,), (plan.n_arg, *args, out, *plan.tail))
        return out


def single_op(op, node) -> ElementwiseLauncher:
    """A launcher for one element-wise node (a one-step group)."""
    k = len(node.inputs)
    return ElementwiseLauncher(Fused(((op, tuple(range(k))),), k), [t.dtype for t in node.inputs], node.where())


def compile_fused(backend, node):
    """The run function for a ``Fused`` or ``FusedEpilogue`` node."""
    if isinstance(node.op, Fused):
        try:
            return ElementwiseLauncher(node.op, [t.dtype for t in node.inputs], node.where())
        except Unsupported:
            return fused_kernel(node.op, [t.type for t in node.inputs], node, backend.kernels, backend.xp)
    return _epilogue(node.op, node, backend)


def _epilogue(op, node, backend):
    """Head into ``out`` (when its kernel writes there), then the epilogue in place."""
    k = op.n_head_inputs
    (head_node,) = _sub_nodes([(op.head, tuple(range(k)))], [t.type for t in node.inputs[:k]], node)
    (head_spec,) = _specs(backend.kernels, [head_node], node)
    h_type = head_node.outputs[0].type
    try:
        epi = ElementwiseLauncher(op.epilogue, [h_type.dtype] + [t.dtype for t in node.inputs[k:]], node.where())
    except Unsupported:
        return epilogue_kernel(op, node, backend.kernels, backend.xp)
    head = head_spec.factory(op.head, head_node, backend.xp)
    into_out = head_spec.writes_out
    fits: dict = {}  # input shapes -> whether the result is shaped (and typed) like the head's

    def fits_head(args):
        key = tuple([a.shape for a in args])
        found = fits.get(key)
        if found is None:
            h = op.head.infer(*[TensorType(a.dtype.name, a.shape) for a in args[:k]])
            shape = broadcast_shape([h.shape] + [a.shape for a in args[k:]])
            found = fits[key] = shape == h.shape and epi.out_dtype == np.dtype(h.dtype)
        return found

    def run(*args, out=None):
        rest = args[k:]
        if fits_head(args):
            if out is not None and into_out:
                head(*args[:k], out=out)
                return epi(out, *rest, out=out)
            h = head(*args[:k])
            if h.flags.c_contiguous:
                return epi(h, *rest, out=h if out is None else out)
            return epi(h, *rest, out=out)
        return epi(head(*args[:k]), *rest, out=out)

    run.launcher = epi
    return run
