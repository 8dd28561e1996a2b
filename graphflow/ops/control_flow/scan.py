"""``gf.scan``: Theano's scan — a loop over time that stacks what each step returns."""
from __future__ import annotations

from ...graph import GraphError, Tensor, TensorType, user_site
from ...graph.dtypes import is_integer
from ...graph.types import format_shape
from .._util import as_tensor
from .body import Body, as_tensor_list, call_traced, capture, control_flow_api, inner_placeholder
from .loop import Loop, compatible
from .pushout import push_out_sequences, pushed_labels


def _initial(entry, k, where):
    """An ``outputs_info`` entry as a tensor, or None (the output is not fed back)."""
    if entry is None:
        return None
    if isinstance(entry, dict):
        taps = entry.get("taps", [-1])
        if list(taps) != [-1]:
            raise GraphError(f"{where}: outputs_info[{k}] asks for taps {taps}; only the previous "
                             f"step (taps=[-1]) is supported")
        entry = entry.get("initial")
        return None if entry is None else as_tensor(entry)
    return as_tensor(entry)


def _steps(n_steps, where):
    """``(static int or None, tensor or None)`` for ``n_steps``."""
    if n_steps is None:
        return None, None
    if isinstance(n_steps, Tensor):
        if not (is_integer(n_steps.dtype) and n_steps.ndim == 0):
            raise GraphError(f"{where}: n_steps must be an integer scalar, got {n_steps.type}")
        return None, n_steps
    if isinstance(n_steps, bool) or not isinstance(n_steps, int) and not hasattr(n_steps, "__index__"):
        raise GraphError(f"{where}: n_steps must be an int or an integer scalar tensor, got {n_steps!r}")
    if int(n_steps) < 0:
        raise GraphError(f"{where}: n_steps must be >= 0, got {n_steps}")
    return int(n_steps), None


def _outputs_of(result, where) -> list:
    """What the step function returned, as a list of tensors (Theano's ``(outputs,
    updates)`` pair is accepted with empty updates)."""
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict):
        if result[1]:
            raise GraphError(f"{where}: the step function returned updates; graphflow loops have no "
                             f"shared-variable updates inside the body (return the value instead)")
        result = result[0]
    if isinstance(result, (list, tuple)):
        if not result:
            raise GraphError(f"{where}: the step function returned nothing")
        return [as_tensor(r) for r in result]
    if result is None:
        raise GraphError(f"{where}: the step function returned None; it must return the step's output(s)")
    return [as_tensor(result)]


def check_carried(outs, inits, feedback, where, what="outputs_info"):
    """A carried output must have its initial value's dtype and shape."""
    for j, (i, init) in enumerate(zip(feedback, inits)):
        out = outs[i]
        if not compatible(out.type, init.type):
            detail = ("dtype" if out.dtype != init.dtype else "shape")
            hint = f"; cast it with gf.cast(..., '{init.dtype}')" if detail == "dtype" else ""
            raise GraphError(f"{where}: the step function's output {i} is {out.dtype}{format_shape(out.shape)} "
                             f"but its initial value in {what} is {init.dtype}{format_shape(init.shape)} "
                             f"(the {detail}s differ{hint})")


@control_flow_api
def scan(fn, sequences=None, outputs_info=None, non_sequences=None, n_steps=None, go_backwards=False,
         name=None):
    """Theano's scan: call ``fn`` once per time step and stack what it returns.

    ``fn`` gets, in order: one slice of each sequence (time on axis 0), the previous value
    of each output whose ``outputs_info`` entry is not None, then the ``non_sequences``.
    Returns the stacked outputs (time on axis 0): a Tensor for one output, else a list.
    The number of steps is the sequences' length (it may be unknown until run time: one
    compiled function serves every length), or ``n_steps``.

    >>> h = gf.scan(lambda x, h, w: gf.tanh(x + h @ w), sequences=xs,
    ...             outputs_info=h0, non_sequences=w)        # h: (T, batch, units)
    """
    name = str(name or "scan")
    site = user_site()
    where = f"scan `{name}` (made at {site})"
    seqs = as_tensor_list(sequences, "sequences")
    for s in seqs:
        if s.ndim == 0:
            raise GraphError(f"{where}: a sequence must have a time axis (axis 0), got a scalar `{s.name}`")
    infos = outputs_info if isinstance(outputs_info, (list, tuple)) else (
        [] if outputs_info is None else [outputs_info])
    inits_all = [_initial(e, k, where) for k, e in enumerate(infos)]
    nonseqs = as_tensor_list(non_sequences, "non_sequences")
    static, dynamic = _steps(n_steps, where)
    if not seqs and static is None and dynamic is None:
        raise GraphError(f"{where}: with no sequences, give n_steps")
    if seqs and static is not None:
        seqs = [s[:static] for s in seqs]
        static = None if any(s.shape[0] is None for s in seqs) else static

    slices = [inner_placeholder(TensorType(s.dtype, s.shape[1:]), f"{name}/{s.name.split('/')[-1]}_t")
              for s in seqs]
    states = [inner_placeholder(x.type, f"{name}/state{k}") for k, x in enumerate(inits_all) if x is not None]
    ns_phs = [inner_placeholder(x.type, f"{name}/{x.name.split('/')[-1]}") for x in nonseqs]
    result = call_traced(fn, slices + states + ns_phs, where, "the step function")
    outs = _outputs_of(result, where)
    if infos and len(infos) != len(outs):
        raise GraphError(f"{where}: outputs_info has {len(infos)} entries but the step function returned "
                         f"{len(outs)} outputs (use None for an output that is not fed back)")
    if not infos:
        inits_all = [None] * len(outs)
    feedback = tuple(i for i, x in enumerate(inits_all) if x is not None)
    inits = [x for x in inits_all if x is not None]
    check_carried(outs, inits, feedback, where)
    # sequences may differ in length when n_steps is a tensor: then none are combined
    groups = [0] * len(seqs) if dynamic is None else list(range(len(seqs)))
    outs, p_phs, p_outer, _ = push_out_sequences(outs, slices, seqs, groups, states,
                                                 dict(zip(ns_phs, nonseqs)), name)
    slices, seqs = slices + p_phs, seqs + p_outer
    new, captured, cap_phs, hoisted, index, counters = capture(
        outs, slices + states, ns_phs, dict(zip(ns_phs, nonseqs)), name)
    inputs = slices + states + ns_phs + cap_phs
    body = Body(inputs, new, len(slices) + len(states), index, name, site, hoisted,
                tuple(inputs.index(c) for c in counters))
    body.pushed = pushed_labels(p_outer)
    op = Loop(body, len(seqs), feedback, (True,) * len(outs), seq_flip=(bool(go_backwards),) * len(seqs),
              out_flip=(False,) * len(outs), out_like=(None,) * len(outs), n_steps=static,
              dynamic_steps=dynamic is not None, loop_name=name)
    outer = ([dynamic] if dynamic is not None else []) + seqs + inits + nonseqs + captured
    result = op(*outer, name=name)
    return result
