"""``gf.while_loop``: TensorFlow 1.x's while loop, as a ``Loop`` with a ``cond`` body."""
from __future__ import annotations

from ...graph import GraphError, Tensor, user_site
from .._util import as_tensor
from .body import Body, call_traced, capture, control_flow_api, inner_placeholder
from .loop import Loop
from .scan import _steps, check_carried


def flatten(structure) -> tuple:
    """``(leaves, rebuild)`` for a tensor, or nested lists / tuples / dicts of them."""
    if isinstance(structure, (list, tuple)):
        parts = [flatten(s) for s in structure]
        leaves = [leaf for p in parts for leaf in p[0]]

        def rebuild(values, parts=parts, kind=type(structure)):
            out, k = [], 0
            for p_leaves, p_rebuild in parts:
                out.append(p_rebuild(values[k:k + len(p_leaves)]))
                k += len(p_leaves)
            return kind(out) if kind in (list, tuple) else kind(*out)
        return leaves, rebuild
    if isinstance(structure, dict):
        keys = list(structure)
        leaves, inner = flatten([structure[k] for k in keys])
        return leaves, lambda values: dict(zip(keys, inner(values)))
    return [as_tensor(structure)], lambda values: values[0]


@control_flow_api
def while_loop(cond, body, loop_vars, maximum_iterations=None, name=None):
    """TF 1.x's while loop: ``while cond(*vars): vars = body(*vars)``; returns the final
    ``loop_vars`` with the same structure (a tensor, or nested lists/tuples/dicts).

    ``cond`` returns a boolean scalar; ``body`` returns values of the same structure,
    dtypes and shapes. ``maximum_iterations`` (an int or an int scalar tensor) caps the
    number of iterations. Gradients flow through the final values to the initial ones.

    >>> i, total = gf.while_loop(lambda i, s: i < 10, lambda i, s: (i + 1, s + x),
    ...                          (gf.constant(0), gf.zeros_like(x)))
    """
    name = str(name or "while")
    site = user_site()
    where = f"while_loop `{name}` (made at {site})"
    inits, rebuild = flatten(loop_vars)
    if not inits:
        raise GraphError(f"{where}: loop_vars is empty")
    static, dynamic = _steps(maximum_iterations, where)
    states = [inner_placeholder(x.type, f"{name}/var{k}") for k, x in enumerate(inits)]
    structure = rebuild(states)
    args = list(structure) if isinstance(structure, (list, tuple)) else [structure]
    c = call_traced(cond, args, where, "the cond function")
    if not isinstance(c, Tensor):
        c = as_tensor(c)
    if c.ndim != 0 or c.dtype != "bool":
        raise GraphError(f"{where}: cond must return a boolean scalar, got {c.dtype}{c.shape}")
    result = call_traced(body, args, where, "the body function")
    if isinstance(structure, (list, tuple)) and len(structure) == 1 and not isinstance(result, (list, tuple)):
        result = [result]  # TF accepts a bare tensor from a body over one loop variable
    outs, _ = flatten(result)
    if len(outs) != len(inits):
        raise GraphError(f"{where}: the body returned {len(outs)} values for {len(inits)} loop_vars "
                         f"(it must return the same structure)")
    feedback = tuple(range(len(outs)))
    check_carried(outs, inits, feedback, where, what="loop_vars")
    new_b, cap_b, phs_b, hoisted_b, index_b, counters_b = capture(outs, states, [], {}, name)
    new_c, cap_c, phs_c, hoisted_c, index_c, counters_c = capture([c], states, [], {}, f"{name}/cond")
    inputs = states + phs_b + phs_c
    body_b = Body(inputs, new_b, len(states), index_b, name, site, hoisted_b,
                  tuple(inputs.index(x) for x in counters_b))
    body_c = Body(inputs, new_c, len(states), index_c, f"{name}/cond", site, hoisted_c,
                  tuple(inputs.index(x) for x in counters_c))
    op = Loop(body_b, 0, feedback, (False,) * len(outs), out_flip=(False,) * len(outs),
              out_like=(None,) * len(outs), n_steps=static, dynamic_steps=dynamic is not None,
              cond=body_c, kind="while_loop", loop_name=name)
    res = op(*([dynamic] if dynamic is not None else []), *inits, *cap_b, *cap_c, name=name)
    res = [res] if len(outs) == 1 else list(res)
    return rebuild(res)
