"""Reverse-mode autodiff: one sweep over the op gradient rules, building a graph.

Only nodes on a path from ``wrt`` to the cost are differentiated, so non-differentiable
ops elsewhere (label casts, argmax for accuracy) never matter; one that *is* on such a
path and receives a gradient raises an error naming it and the user's line.
"""
from __future__ import annotations

import contextlib

from ..graph import (DisconnectedError, NonDifferentiableError, Source, Tensor, current_scope, format_shape,
                     name_scope, toposort)
from ..graph.dtypes import is_float
from ._util import ones_like, zeros_like


def _depends_on(nodes, wrt) -> set:
    """Ids of tensors that depend on any of ``wrt`` (including ``wrt`` themselves) along
    paths a gradient may take: ``stop_gradient`` cuts them on purpose."""
    from ..ops.elementwise import StopGradient
    live = {id(t) for t in wrt}
    for node in nodes:
        if any(id(t) in live for t in node.inputs) and not isinstance(node.op, StopGradient):
            live.update(id(o) for o in node.outputs)
    return live


def _accumulate(grads: dict, t: Tensor, g: Tensor):
    from .. import ops
    if g.dtype != t.dtype and is_float(t.dtype):
        g = ops.cast(g, t.dtype)
    prev = grads.get(t)
    grads[t] = g if prev is None else prev + g


@contextlib.contextmanager
def _scope_path(path: str):
    with contextlib.ExitStack() as stack:
        for part in filter(None, path.split("/")):
            stack.enter_context(name_scope(part))
        yield


def _mirrored(scope: str, caller: str) -> str:
    """``scope`` relative to the caller's scope: the gradient of a node made in
    ``dense_1`` is made in ``<caller>/grad/dense_1``."""
    return scope[len(caller) + 1:] if caller and scope.startswith(caller + "/") else \
        ("" if scope == caller else scope)


# gradient nodes live in scope `grad` (mirroring each forward node's scope inside it), so
# errors and pictures (graphflow.viz) tell the backward graph apart, layer by layer
@_scope_path("grad")
def gradients(ys, xs, grad_ys=None):
    """Vector-Jacobian products (TF style): ``sum_i grad_ys[i] · d ys[i] / d xs`` for each x.

    ``grad_ys`` defaults to ones (so a scalar ``y`` gives its gradient). Returns a list
    with one tensor per x (``None`` where x does not influence ys).

    >>> gx, = gf.gradients([y], [x], [gy])
    """
    from .. import ops
    single = isinstance(ys, Tensor)
    ys = [ys] if single else list(ys)
    xs = [xs] if isinstance(xs, Tensor) else list(xs)
    if grad_ys is None:
        grad_ys = [None] * len(ys)
    elif isinstance(grad_ys, Tensor) or single and not isinstance(grad_ys, (list, tuple)):
        grad_ys = [grad_ys]  # one seed (a tensor, or an array for a single y)
    grad_ys = list(grad_ys)
    if len(grad_ys) != len(ys):
        raise ValueError(f"gradients: {len(ys)} ys but {len(grad_ys)} grad_ys")
    for x in xs:
        if not isinstance(x, Tensor):
            raise TypeError(f"gradients: wrt must be tensors, got {type(x).__name__}")
    nodes = toposort(ys)
    live = _depends_on(nodes, xs)
    grads: dict = {}
    for y, gy in zip(ys, grad_ys):
        if id(y) not in live:
            continue
        if not is_float(y.dtype):
            raise NonDifferentiableError(f"cannot differentiate the {y.dtype} tensor `{y.name}`")
        if gy is None:
            gy = ones_like(y)
        _accumulate(grads, y, ops._util.as_tensor(gy, y))
    for node in reversed(nodes):
        if not any(id(o) in live for o in node.outputs):
            continue
        out_grads = [grads.get(o) for o in node.outputs]
        if all(g is None for g in out_grads):
            continue
        if not any(id(t) in live for t in node.inputs):
            continue
        out_grads = [g if g is not None else zeros_like(o) for g, o in zip(out_grads, node.outputs)]
        try:
            with _scope_path(_mirrored(node.scope, current_scope()[:-len("grad")].rstrip("/"))):
                in_grads = node.op.grad(list(node.inputs), list(node.outputs), out_grads)
        except NonDifferentiableError as exc:
            raise NonDifferentiableError(_why(node, exc, live)) from None
        if len(in_grads) != len(node.inputs):
            raise RuntimeError(f"{type(node.op).__name__}.grad returned {len(in_grads)} gradients "
                               f"for {len(node.inputs)} inputs")
        if not any(is_float(t.dtype) for t in node.inputs if id(t) in live):
            # the cost depends on wrt here only through integer values (one_hot(argmax(x))):
            # a step function, whose gradient does not exist rather than being zero
            raise NonDifferentiableError(_why(node, "no gradient flows back through its integer input", live))
        for t, g in zip(node.inputs, in_grads):
            if g is None or id(t) not in live or not is_float(t.dtype):
                continue
            _check(node, t, g)
            _accumulate(grads, t, g)
    return [grads.get(x) for x in xs]


def _why(node, exc, live) -> str:
    """Name the op, the user's line and, for a step through an integer value (a cast of
    ``argmax``, of a comparison), the op that made that value."""
    msg = f"cannot differentiate through {node.where()}: {exc}"
    for t in node.inputs:
        if id(t) in live and not is_float(t.dtype) and t.node is not None:
            msg += f"; its input `{t.name}` ({t.dtype}) comes from {t.node.where()}"
    return msg + ". If no gradient should flow here, wrap the value in gf.stop_gradient(...)"


def _check(node, t, g):
    if g.ndim != t.ndim or any(a is not None and b is not None and a != b for a, b in zip(g.shape, t.shape)):
        raise RuntimeError(f"gradient rule of {type(node.op).__name__} ({node.where()}) gave shape "
                           f"{format_shape(g.shape)} for an input of shape {format_shape(t.shape)}")


def grad(cost, wrt, disconnected="zero"):
    """Gradient(s) of a scalar ``cost`` with respect to ``wrt`` (a tensor or a list).

    ``disconnected="zero"`` returns zeros for a tensor the cost does not depend on;
    ``"raise"`` raises an error naming it. Gradients are graphs: compile them, take
    their gradients again, print or draw them.

    >>> gw, gb = gf.grad(loss, [w, b])
    """
    if disconnected not in ("zero", "raise"):
        raise ValueError(f"disconnected must be 'zero' or 'raise', got {disconnected!r}")
    if not isinstance(cost, Tensor):
        raise TypeError(f"grad: cost must be a Tensor, got {type(cost).__name__}")
    if cost.ndim != 0:
        raise ValueError(f"grad: cost must be a scalar, got shape {format_shape(cost.shape)}; "
                         f"reduce it (e.g. .sum() or .mean()) or use gf.gradients with grad_ys")
    single = isinstance(wrt, Tensor)
    wrt_list = [wrt] if single else list(wrt)
    for w in wrt_list:
        if isinstance(w, Tensor) and not is_float(w.dtype):
            raise TypeError(f"grad: cannot differentiate with respect to the {w.dtype} tensor `{w.name}`")
    out = gradients([cost], wrt_list)
    result = []
    for w, g in zip(wrt_list, out):
        if g is None:
            if disconnected == "raise":
                raise DisconnectedError(f"the cost `{cost.name}` does not depend on `{w.name}` "
                                        f"({'made at ' + w.site if isinstance(w, Source) else w.node.where()})")
            g = zeros_like(w)
        result.append(g)
    return result[0] if single else result
