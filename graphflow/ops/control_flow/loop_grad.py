"""The gradient of a loop is a loop: backpropagation through time.

For a loop ``y_t = body(x_t, h_{t-1}, c)`` the backward loop runs over the same steps
in the opposite order. Its body re-runs the forward body on the step's inputs (the
slices, the carried value *before* the step, read from the forward loop's stacked
history) and takes the body's vector-Jacobian product with ``gy_t + carry``:

- the slice's gradient is stacked (row ``t`` of the sequence's gradient);
- the carried value's gradient becomes the carry of the next (earlier) step, and its
  final value is the gradient of the initial value;
- the invariants' gradients are summed over the steps in accumulators.

Differentiating the body needs ``gradients`` from ``graphflow.autodiff``, which sits
above the op catalog: autodiff installs it here when it loads (``set_vjp``).
"""
from __future__ import annotations

from dataclasses import replace

from ...graph import Constant, TensorType, toposort
from ...graph.dtypes import is_float
from .. import joining, shape as shape_ops
from .body import Body, _variant_set, capture, clone, inner_placeholder
from .pushout import push_out_sequences, pushed_labels, split_accumulation, stacked_dot, stacked_sum

_VJP = [None]


def set_vjp(fn) -> None:
    """Install ``gradients(ys, xs, grad_ys) -> [grad or None]`` (graphflow.autodiff)."""
    _VJP[0] = fn


def _is_zero(g) -> bool:
    """Whether ``g`` is the zeros autodiff fills in for an output nobody differentiates."""
    node = g.node
    if node is None or len(node.inputs) == 0:
        return False
    c = node.inputs[0]
    return (type(node.op).__name__ in ("BroadcastLike", "BroadcastTo") and isinstance(c, Constant)
            and c.value.size == 1 and not c.value.any())


def _history(op, inputs, outputs):
    """Every carried value at every step (stacked, row ``t`` = after step ``t``)."""
    n = len(op.stacked)
    if op.cond is None and all(op.stacked[i] and not op.out_flip[i] and op.out_like[i] is None
                               for i in op.feedback):
        return list(outputs)
    hist = replace(op, stacked=(True,) * n,
                   out_flip=tuple(op.out_flip[i] if op.stacked[i] else False for i in range(n)),
                   out_like=tuple(op.out_like[i] if op.stacked[i] else None for i in range(n)),
                   also_last=True)  # so that it can stand in for the loop itself (merge_loop_twins)
    out = hist(*inputs, name=f"{op.loop_name}_history")
    return list(out)[:n]


def _before(op, init, hist):
    """The carried value before each step: ``[init, y_0, .., y_{T-2}]`` in time order
    (``[y_1, .., y_{T-1}, init]`` for a loop that runs backwards in time)."""
    first = shape_ops.expand_dims(init, 0)
    if op.reverse:
        return joining.concatenate([hist, first], 0)[1:]
    return joining.concatenate([first, hist], 0)[:-1]


def _groups(op, n_state, gy_idx) -> list:
    """Which backward sequences may be combined row by row (same direction, same length):
    the sequences, the carried history, the stacked outputs' gradients."""
    def length(j):
        return "T" if not op.dynamic_steps or j is None else ("L", j)
    return ([(f, length(j)) for j, f in enumerate(op.seq_flip)] + [(False, "T")] * n_state
            + [(op.out_flip[i], length(op.out_like[i])) for i in gy_idx])


def loop_grad(op, inputs, outputs, gys):
    """Input gradients of the ``Loop`` node ``op(*inputs) -> outputs`` (see the module
    docstring); ``None`` where none flows (the trip count, integer values)."""
    vjp = _VJP[0]
    steps, seqs, inits, rest = op.split(inputs)
    body = op.body
    n_seq, n_state = op.n_seq, op.n_state
    live = [None if _is_zero(g) else g for g in gys]
    hist = _history(op, inputs, outputs)
    name = f"{op.loop_name}_grad"

    # the backward body's placeholders
    xs_b = [inner_placeholder(p.type, f"{name}/x{j}") for j, p in enumerate(body.inputs[:n_seq])]
    hp_b = [inner_placeholder(p.type, f"{name}/h{j}") for j, p in enumerate(body.inputs[n_seq:n_seq + n_state])]
    gy_idx = [i for i, s in enumerate(op.stacked) if s and live[i] is not None]
    gy_b = [inner_placeholder(TensorType(live[i].dtype, body.outputs[i].shape), f"{name}/gy{i}") for i in gy_idx]
    carry_b = [inner_placeholder(p.type, f"{name}/carry{j}") for j, p in enumerate(hp_b)]
    inv = body.inputs[n_seq + n_state:]
    rest_b = [inner_placeholder(p.type, f"{name}/{p.name.split('/')[-1]}") for p in inv]
    acc_k = [k for k, p in enumerate(inv) if is_float(p.dtype)]
    idx_b = inner_placeholder(body.index.type, f"{name}/iteration") if body.index is not None else None

    mapping = dict(zip(body.inputs, xs_b + hp_b + rest_b))
    if idx_b is not None:
        mapping[body.index] = idx_b
    outs = clone(body.outputs, mapping)
    ys, seeds = [], []
    for i, y in enumerate(outs):
        seed = gy_b[gy_idx.index(i)] if i in gy_idx else None
        if i in op.feedback:
            c = carry_b[op.feedback.index(i)]
            seed = c if seed is None else seed + c
        if seed is not None and is_float(y.dtype):
            ys.append(y)
            seeds.append(seed)
    wrt = xs_b + hp_b + [rest_b[k] for k in acc_k]
    grads = vjp(ys, wrt, seeds) if ys else [None] * len(wrt)
    grads, saved, ys_b = _read_back(op, outs, outputs, hist, grads, name)
    g_x, g_h, g_c = grads[:n_seq], grads[n_seq:n_seq + n_state], grads[n_seq + n_state:]

    # the outer sequences of the backward loop, and which of them combine row by row
    hp = [_before(op, init, hist[i]) for init, i in zip(inits, op.feedback)]
    seq_phs = xs_b + hp_b + gy_b + ys_b
    outer_seqs = seqs + hp + [live[i] for i in gy_idx] + [hist[i] for i in saved]
    groups = _groups(op, n_state, gy_idx) + [(False, "T")] * len(saved)
    step_ids = _variant_set([g for g in g_c if g is not None], seq_phs + carry_b + ([idx_b] if idx_b is not None else []))

    # invariants' gradients: a_t.T @ b_t summands leave the loop, the rest accumulate
    kept, pushed, extra = {}, {}, []
    for k, g in zip(acc_k, g_c):
        if g is None:
            continue
        kept_k, moved = split_accumulation(g, step_ids)
        if kept_k is not None:
            kept[k] = kept_k
        for kind, x, y in moved:
            rows_x = _rows_of(x, seq_phs, outer_seqs, groups, extra)
            rows_y = _rows_of(y, seq_phs, outer_seqs, groups, extra) if kind == "dot" else y
            pushed.setdefault(k, []).append((kind, rows_x, rows_y, x, y))
    acc_keys = sorted(kept)
    acc_b = [inner_placeholder(inv[k].type, f"{name}/acc{k}") for k in acc_keys]

    x_out = [j for j in range(n_seq) if is_float(xs_b[j].dtype) and g_x[j] is not None]
    new_outs = [g_x[j] for j in x_out]
    new_outs += extra
    new_outs += [g if g is not None else shape_ops.zeros_like(h) for g, h in zip(g_h, hp_b)]
    new_outs += [a + kept[k] for a, k in zip(acc_b, acc_keys)]
    stateful = carry_b + acc_b + ([idx_b] if idx_b is not None else [])
    new_outs, p_phs, p_outer, p_groups = push_out_sequences(
        new_outs, seq_phs, outer_seqs, groups, stateful, dict(zip(rest_b, rest)), name)
    variant = seq_phs + p_phs + carry_b + acc_b + ([idx_b] if idx_b is not None else [])
    new, captured, cap_phs, hoisted, _, _ = capture(
        new_outs, variant, rest_b, dict(zip(rest_b, rest)), name, index=idx_b, mix=False)
    b_inputs = seq_phs + p_phs + carry_b + acc_b + rest_b + cap_phs
    counters = tuple(b_inputs.index(rest_b[k - n_seq - n_state]) for k in body.counter_inputs
                     if k >= n_seq + n_state)
    b_body = Body(b_inputs, new, len(variant) - (idx_b is not None), idx_b, name, body.site, hoisted, counters)
    b_body.pushed = pushed_labels(p_outer) + tuple(
        f"gradient of `{rest[k].name}`: its sum over the steps as one "
        f"{'matmul' if kind == 'dot' else 'reduction'}" for k in pushed for kind, *_ in pushed[k])

    n_x, n_e, n_c = len(x_out), len(extra), len(acc_b)
    n_rows = n_x + n_e
    op_b = replace(
        op, body=b_body, n_seq=len(seq_phs) + len(p_phs),
        feedback=tuple(range(n_rows, n_rows + n_state + n_c)),
        stacked=(True,) * n_rows + (False,) * (n_state + n_c),
        seq_flip=tuple(g[0] for g in groups + p_groups),
        out_flip=tuple(op.seq_flip[j] for j in x_out) + (False,) * (n_e + n_state + n_c),
        out_like=tuple(x_out) + (None,) * (n_e + n_state + n_c),
        n_steps=op.n_steps if op.cond is None else None,
        dynamic_steps=op.dynamic_steps and op.cond is None,
        reverse=not op.reverse, cond=None, loop_name=name)
    carry0 = []
    for j, i in enumerate(op.feedback):
        g = live[i] if not op.stacked[i] else None
        final = live[len(op.stacked) + j] if op.also_last else None
        g = final if g is None else (g if final is None else g + final)
        carry0.append(g if g is not None else shape_ops.zeros_like(inits[j]))
    acc0 = [shape_ops.zeros_like(rest[k]) for k in acc_keys]
    b_in = ([steps] if op_b.dynamic_steps else []) + outer_seqs + p_outer + carry0 + acc0 + rest + captured
    res = op_b(*b_in, name=name)
    res = [res] if len(op_b.stacked) == 1 else list(res)
    gx = dict(zip(x_out, res[:n_x]))
    rows = res[n_x:n_rows]
    g_init = res[n_rows:n_rows + n_state]
    g_rest = dict(zip(acc_keys, res[n_rows + n_state:]))
    for k, items in pushed.items():
        for kind, rx, ry, x, y in items:
            if kind == "dot":
                term = stacked_dot(_resolve(rx, rows), _resolve(ry, rows), x, y)
            else:
                term = stacked_sum(_resolve(rx, rows), ry)
            g_rest[k] = term if k not in g_rest else g_rest[k] + term
    return ([None] if op.dynamic_steps else []) + [gx.get(j) for j in range(n_seq)] + \
        [g if is_float(x.dtype) else None for g, x in zip(g_init, inits)] + \
        [g_rest.get(k) for k in range(len(rest))]


def _read_back(op, outs, outputs, hist, grads, name):
    """The forward body's outputs that the gradient needs (``tanh``'s gradient needs the
    tanh) are read back from the forward loop's stacked results instead of recomputed:
    ``(grads, saved output indices, their slice placeholders)``."""
    present = [g for g in grads if g is not None]
    used = {id(t) for node in toposort(present) for t in node.inputs} | {id(g) for g in present}
    saved = []
    for i, y in enumerate(outs):
        in_time_order = (not op.out_flip[i] and op.out_like[i] is None) if op.stacked[i] else \
            hist[i] is not outputs[i]
        if y.node is not None and id(y) in used and in_time_order:
            saved.append(i)
    if not saved:
        return grads, [], []
    ys_b = [inner_placeholder(outs[i].type, f"{name}/y{i}") for i in saved]
    it = iter(clone(present, {outs[i]: p for i, p in zip(saved, ys_b)}))
    return [next(it) if g is not None else None for g in grads], saved, ys_b


def _rows_of(t, seq_phs, outer_seqs, groups, extra):
    """Where the per-step values of ``t`` will be stacked: an outer sequence it slices
    (read in time order), else a new stacked output of the backward loop."""
    for ph, seq, g in zip(seq_phs, outer_seqs, groups):
        if t is ph and g == (False, "T"):
            return ("seq", seq)
    for k, e in enumerate(extra):
        if e is t:
            return ("row", k)
    extra.append(t)
    return ("row", len(extra) - 1)


def _resolve(src, rows):
    kind, v = src
    return v if kind == "seq" else rows[v]
