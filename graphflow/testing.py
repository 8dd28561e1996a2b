"""Checking gradients against finite differences (for people who write their own ops).

``verify_grad`` projects the outputs onto a random direction (weights in [0.5, 1.5), so no
element is drowned out), then compares the symbolic gradient of that scalar with central
differences in float64. On failure it names the input, the element and both values.
Random ops in ``fn`` draw the same numbers in every evaluation (their counters are put
back before each), so noise layers are checked with their noise fixed by the seed.
"""
from __future__ import annotations

import numpy as np


class GradientError(AssertionError):
    """The symbolic and numeric gradients disagree."""


def verify_grad(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-4, seed=0, backend=None, optimize="O0"):
    """Check ``gf.grad`` of ``fn`` against central finite differences, in float64.

    ``fn`` takes tensors (one per array in ``inputs``) and returns a tensor or a list of
    tensors; ``inputs`` are NumPy arrays (cast to float64). Fails only where both the
    absolute and the relative error exceed their tolerance.

    >>> verify_grad(lambda x: gf.tanh(x) * 2, [np.random.randn(3, 4)])
    """
    import graphflow as gf
    rng = np.random.default_rng(seed)
    arrays = [np.asarray(a, dtype=np.float64) for a in inputs]
    phs = [gf.placeholder(a.shape, "float64", name=f"input{i}") for i, a in enumerate(arrays)]
    outs = fn(*phs)
    outs = [outs] if isinstance(outs, gf.Tensor) else list(outs)
    proj = [rng.uniform(0.5, 1.5, size=[d for d in o.shape]).astype(np.float64) for o in outs]
    cost = sum(gf.sum(gf.cast(o, "float64") * p) for o, p in zip(outs, proj))
    grads = gf.grad(cost, phs)
    counters = _random_counters(outs)
    start = [c.get_value() for c in counters]

    def fixed(f):
        def call(*args):
            for c, v in zip(counters, start):
                c.set_value(v)
            return f(*args)
        return call

    f_cost = fixed(gf.function(phs, cost, backend=backend, optimize=optimize))
    f_grad = fixed(gf.function(phs, grads, backend=backend, optimize=optimize))
    analytic = f_grad(*arrays)
    for k, (a, g) in enumerate(zip(arrays, analytic)):
        numeric = np.zeros_like(a)
        flat = a.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            up = float(f_cost(*arrays))
            flat[i] = old - eps
            down = float(f_cost(*arrays))
            flat[i] = old
            numeric.reshape(-1)[i] = (up - down) / (2 * eps)
        abs_err = np.abs(g - numeric)
        rel_err = abs_err / np.maximum(np.abs(numeric), np.abs(g)).clip(1e-12)
        bad = (abs_err > atol) & (rel_err > rtol)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise GradientError(
                f"gradient of input {k} (shape {a.shape}) is wrong at element {idx}: symbolic "
                f"{float(g[idx]):.8g}, numeric {float(numeric[idx]):.8g} (abs err {abs_err[idx]:.3g}, "
                f"rel err {rel_err[idx]:.3g}); {int(bad.sum())} of {a.size} elements differ")
    return True


def _random_counters(outs):
    """The counter variables of the random ops ``outs`` depend on (``Op.counters``: a
    random op's last input, the counters a loop's body draws from)."""
    import graphflow as gf
    from graphflow.graph import toposort
    found = {}
    for n in toposort(outs):
        for pos in n.op.counters(len(n.inputs)):
            if isinstance(n.inputs[pos], gf.Variable):
                found[id(n.inputs[pos])] = n.inputs[pos]
    return list(found.values())
