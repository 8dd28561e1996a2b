"""Running loops: the body's compiled schedule, iterated by a small host-side driver.

The compiler compiles a loop's body like any graph (``Program.bodies``); here it is bound
to the backend once (an ``Executor`` of its own: kernels, slots, constants on the device)
and each iteration runs its flat steps — the same hot loop as a whole function, without
re-entering the graph machinery. Planned buffers are taken once per loop call for the
body's input shapes and reused by every iteration; stacked outputs are allocated once
per call and filled row by row. The loop control (trip count, ``cond``) runs on the host:
on a GPU the body's kernels stay on the device and only ``cond``'s flag is read back.
"""
from __future__ import annotations

import numpy as np

from ..graph import FeedError, TensorType
from ..ops.control_flow import Cond, Loop


class BodyRun:
    """A compiled body bound to a backend: ``env`` slots, steps, output slots."""

    def __init__(self, program, backend, inputs):
        from .executor import Executor  # the executor dispatches loop nodes here
        self.ex = Executor(program, backend, inputs, len(program.outputs), [])
        self.n_inputs = len(inputs)
        self.out_slots = list(self.ex.output_slots)

    def take(self, arrays):
        """``(token, steps)``: steps bound to planned buffers for these input shapes, used
        by one loop call at a time (give them back with ``give``)."""
        ex = self.ex
        if not ex.program.plan_buffers:
            return None, ex.steps
        return ex._take(tuple(a.shape for a in arrays), arrays)

    def give(self, token, steps):
        if token is not None:
            self.ex._give_back(token, steps)

    def env(self):
        return list(self.ex.template)


def _run_steps(steps, env):
    for run, ins, o, buf in steps:  # the hot loop: nothing but the kernels
        env[o] = run(*[env[i] for i in ins], out=buf)


def _describe(node):
    return f"{node.op.kind} `{node.op.loop_name}` (made at {node.op.body.site})"


class LoopKernel:
    """The run function of a ``Loop`` node: ``run(*arrays, out=None)``."""

    def __init__(self, node, programs, backend):
        self.node, self.op, self.backend = node, node.op, backend
        self.body = BodyRun(programs[0], backend, self.op.body.all_inputs)
        self.cond = BodyRun(programs[1], backend, self.op.cond.all_inputs) if self.op.cond is not None else None
        op = self.op
        self.n_seq, self.n_state = op.n_seq, op.n_state
        self.stacked = [i for i, s in enumerate(op.stacked) if s]
        self.index_slot = self.body.n_inputs - 1 if op.body.index is not None else None
        self._direct = self._direct_steps() if op.cond is None else {}

    # ------------------------------------------------------------ trip count
    def _trips(self, steps, seqs):
        op = self.op
        lens = [int(s.shape[0]) for s in seqs]
        if op.n_steps is not None:  # a scan's trip count, a while_loop's cap
            trips = op.n_steps
        elif steps is not None:
            trips = int(np.asarray(self.backend.to_host(steps)))
            if trips < 0:
                raise FeedError(f"{_describe(self.node)}: n_steps is {trips}, it must be >= 0")
        elif op.cond is not None:
            return None, lens  # no cap: until cond says stop
        else:
            trips = lens[0] if lens else 0
            if any(n != trips for n in lens):
                raise FeedError(f"{_describe(self.node)}: the sequences have different lengths {lens}")
        short = [n for n in lens if n < trips]
        if short:
            raise FeedError(f"{_describe(self.node)}: {trips} steps but a sequence has only {short[0]} rows")
        return trips, lens

    # ------------------------------------------------------------ running
    def __call__(self, *arrays, out=None):
        op = self.op
        steps_arr, seqs, inits, rest = op.split(arrays)
        trips, lens = self._trips(steps_arr, seqs)
        with self.backend.loop_scope():
            if op.cond is not None:
                result = self._run_while(seqs, inits, rest, trips)
            else:
                result = self._run_for(seqs, lens, inits, rest, trips)
        return result[0] if len(result) == 1 else result  # the executor's convention

    def _first_inputs(self, seqs, lens, inits, rest, t0):
        ins = [s[(n - 1 - t0) if f else t0] for s, n, f in zip(seqs, lens, self.op.seq_flip)] + list(inits) + list(rest)
        if self.index_slot is not None:
            ins.append(self._index(t0))
        return ins

    def _index(self, t):
        return self.backend.to_device(np.array(t, dtype=np.int64))

    def _empty_outputs(self, seqs, inits, rest, trips):
        """Outputs of a loop that runs no iteration: stacked ones have no rows, carried
        ones are their initial values."""
        op, xp = self.op, self.backend.xp
        inner = [TensorType(str(s.dtype), tuple(s.shape[1:])) for s in seqs] + \
                [TensorType(str(a.dtype), tuple(a.shape)) for a in list(inits) + list(rest)]
        types = op.body.output_types(inner)
        result = []
        for i, ty in enumerate(types):
            if op.stacked[i]:
                like = op.out_like[i] if op.out_like else None
                rows = 0 if like is None else int(seqs[like].shape[0])
                if None in ty.shape:
                    raise FeedError(f"{_describe(self.node)}: ran 0 steps and cannot tell the shape of output {i} "
                                    f"({ty}); give the loop at least one step")
                result.append(xp.zeros((rows,) + ty.shape, ty.dtype))
            else:
                result.append(xp.array(inits[op.feedback.index(i)], copy=True))
        if op.also_last:
            result += [xp.array(a, copy=True) for a in inits]
        return result

    def _run_for(self, seqs, lens, inits, rest, trips):
        op, body = self.op, self.body
        if trips == 0:
            return self._empty_outputs(seqs, inits, rest, trips)
        t0 = trips - 1 if op.reverse else 0
        first = self._first_inputs(seqs, lens, inits, rest, t0)
        token, steps = body.take(first)
        try:
            return self._iterate(steps, first, seqs, lens, trips)
        finally:
            body.give(token, steps)

    def _direct_steps(self) -> dict:
        """``{stacked output: step}`` for outputs whose producing kernel can compute
        straight into a row of the stacked result (no copy, no allocation per step)."""
        ex, found = self.body.ex, {}
        for i in self.stacked:
            slot = self.body.out_slots[i]
            k = max((k for k, st in enumerate(ex._steps) if st[2] == slot), default=None)
            if k is None or k in found.values() or len(ex.nodes[k].outputs) != 1:
                continue
            spec = self.backend.kernel_spec(ex.nodes[k].op)
            if spec is not None and spec.writes_out:
                found[i] = k
        return found

    def _allocate(self, first, lens, trips) -> dict:
        """Stacked outputs made before the first step, from the body's types for these
        input shapes (``{}`` when a shape is only known by running a step)."""
        op, xp = self.op, self.backend.xp
        inner = [TensorType(str(a.dtype), tuple(a.shape)) for a in first[:len(op.body.inputs)]]
        types = op.body.output_types(inner)
        if any(None in types[i].shape for i in self.stacked):
            return {}
        return {i: self._stack_buffer(i, types[i].shape, types[i].dtype, lens, trips) for i in self.stacked}

    def _stack_buffer(self, i, shape, dtype, lens, trips):
        op, xp = self.op, self.backend.xp
        like = op.out_like[i] if op.out_like else None
        n = trips if like is None else lens[like]
        return (xp.zeros if n != trips else xp.empty)((n,) + tuple(shape), dtype)

    def _iterate(self, steps, first, seqs, lens, trips):
        op, body, xp = self.op, self.body, self.backend.xp
        env = body.env()
        env[:len(first)] = first
        n_seq, n_state = self.n_seq, self.n_state
        out_slots = body.out_slots
        carry = list(zip(range(n_seq, n_seq + n_state), [out_slots[i] for i in op.feedback]))
        reads = [(k, s, n - 1, f) for k, (s, n, f) in enumerate(zip(seqs, lens, op.seq_flip))]
        flip = {i: (op.out_flip and op.out_flip[i]) for i in self.stacked}
        stacks = self._allocate(first, lens, trips)
        steps = list(steps)
        direct = [(self._direct[i], *steps[self._direct[i]][:3], stacks[i], flip[i])
                  for i in self._direct] if stacks else []
        copies = [(stacks.get(i), out_slots[i], flip[i]) for i in self.stacked if i not in self._direct or not stacks]
        order = range(trips - 1, -1, -1) if op.reverse else range(trips)
        index_slot, checked = self.index_slot, not carry
        for t in order:
            for k, s, last, f in reads:
                env[k] = s[last - t if f else t]
            if index_slot is not None:
                env[index_slot] = self._index(t)
            for k, run, ins, o, buf, f in direct:
                steps[k] = (run, ins, o, buf[len(buf) - 1 - t if f else t])
            for run, ins, o, buf in steps:  # the hot loop: nothing but the kernels
                env[o] = run(*[env[i] for i in ins], out=buf)
            for k, _, _, o, buf, f in direct:
                if env[o] is not steps[k][3]:  # the kernel made its own array after all
                    buf[len(buf) - 1 - t if f else t] = env[o]
            if copies and copies[0][0] is None:  # shapes known only now: allocate once
                stacks = {i: self._stack_buffer(i, env[out_slots[i]].shape, env[out_slots[i]].dtype, lens, trips)
                          for i in self.stacked}
                copies = [(stacks[i], out_slots[i], flip[i]) for i in self.stacked]
            for buf, slot, f in copies:
                buf[len(buf) - 1 - t if f else t] = env[slot]
            if not checked:
                self._check_carried([env[s] for s, _ in carry], [env[o] for _, o in carry])
                checked = True
            if carry:
                carried = [env[o] for _, o in carry]
                for (s, _), v in zip(carry, carried):
                    env[s] = v
        finals = [xp.array(env[out_slots[i]], copy=True) for i in op.feedback] if op.also_last else []
        return [stacks[i] if op.stacked[i] else xp.array(env[out_slots[i]], copy=True)
                for i in range(len(op.stacked))] + finals

    def _run_while(self, seqs, inits, rest, cap):
        """``while cond(states): states = body(states)``, at most ``cap`` times; the flag
        is the one value read back to the host per iteration."""
        op, body, cond, xp = self.op, self.body, self.cond, self.backend.xp
        to_host = self.backend.to_host
        states = list(inits)
        history = [[] for _ in op.stacked]
        fixed = states + list(rest)
        c_index = cond.n_inputs - 1 if op.cond.index is not None else None
        tokens = []
        try:
            c_token, c_steps = cond.take(fixed + ([self._index(0)] if c_index is not None else []))
            tokens.append((cond, c_token, c_steps))
            b_token, b_steps = body.take(fixed + ([self._index(0)] if self.index_slot is not None else []))
            tokens.append((body, b_token, b_steps))
            c_env, b_env = cond.env(), body.env()
            c_env[:len(fixed)] = fixed
            b_env[:len(fixed)] = fixed
            n, t = len(states), 0
            c_out, out_slots = cond.out_slots[0], body.out_slots
            while cap is None or t < cap:
                if c_index is not None:
                    c_env[c_index] = self._index(t)
                _run_steps(c_steps, c_env)
                if not bool(np.asarray(to_host(c_env[c_out]))):
                    break
                if self.index_slot is not None:
                    b_env[self.index_slot] = self._index(t)
                _run_steps(b_steps, b_env)
                states = [b_env[s] for s in out_slots]
                if t == 0:
                    self._check_carried(inits, states)
                for h, v, keep in zip(history, states, op.stacked):
                    if keep:
                        h.append(xp.array(v, copy=True))
                c_env[:n] = states
                b_env[:n] = states
                t += 1
        finally:
            for run, token, steps in tokens:
                run.give(token, steps)
        finals = [xp.array(states[i], copy=True) for i in op.feedback] if op.also_last else []
        return [self._stack(h, inits[i]) if keep else xp.array(states[i], copy=True)
                for i, (h, keep) in enumerate(zip(history, op.stacked))] + finals

    def _stack(self, rows, init):
        xp = self.backend.xp
        return xp.stack(rows) if rows else xp.zeros((0,) + tuple(init.shape), init.dtype)

    def _check_carried(self, inits, outs):
        """A carried value must keep its shape: the compiled body's buffers (and a
        stacked history) are made for it. Checked once: later steps see the same shapes."""
        for j, (a, b) in enumerate(zip(inits, outs)):
            if tuple(a.shape) != tuple(b.shape):
                raise FeedError(f"{_describe(self.node)}: the body turns carried value {j} of shape "
                                f"{tuple(a.shape)} into shape {tuple(b.shape)}; a carried value must keep its shape")


class CondKernel:
    """The run function of a ``Cond`` node: read the flag, run one branch's steps."""

    def __init__(self, node, programs, backend):
        self.node, self.backend = node, backend
        self.branches = [BodyRun(p, backend, b.all_inputs) for p, b in zip(programs, node.op.bodies())]

    def __call__(self, pred, *shared, out=None):
        run = self.branches[0 if bool(np.asarray(self.backend.to_host(pred))) else 1]
        token, steps = run.take(shared)
        try:
            env = run.env()
            env[:len(shared)] = shared
            _run_steps(steps, env)
            result = [env[s] for s in run.out_slots]
        finally:
            run.give(token, steps)
        return result[0] if len(result) == 1 else result


#: how each op that runs sub-graphs is lowered: ``factory(node, programs, backend) -> run``
LOWERINGS = {Loop: LoopKernel, Cond: CondKernel}


def kernel(node, programs, backend):
    """The run function for ``node``, whose sub-graphs compiled to ``programs``."""
    return LOWERINGS[type(node.op)](node, programs, backend)
