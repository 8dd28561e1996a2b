"""``K.rnn``: iterate a step function over the time axis, as Keras 2.0.6's backends do.

    >>> def step(x_t, states):               # x_t: (batch, features); states: [h] + constants
    ...     h = K.tanh(K.dot(x_t, W) + K.dot(states[0], U))
    ...     return h, [h]
    >>> last, outputs, states = K.rnn(step, x, [h0])        # x: (batch, time, features)

With ``unroll=True`` the loop is written out in Python, one copy of the step per time
step (the time length must be known: ``inputs.shape[1]`` or ``input_length``). Otherwise
the loop is one ``gf.scan`` op, whose body is compiled once and serves every length.
Until the engine has ``gf.scan``, a known length is unrolled and an unknown one is an
error that says so.
"""
import graphflow as gf

__all__ = ["rnn"]


def _check(inputs, initial_states, mask, unroll, input_length):
    if inputs.ndim < 3:
        raise ValueError(f"K.rnn: inputs must be at least 3-D (samples, time, ...), got shape {inputs.shape}")
    if mask is not None and mask.ndim != 2:
        raise ValueError(f"K.rnn: mask must be 2-D (samples, time), got shape {mask.shape}")
    steps = inputs.shape[1] if inputs.shape[1] is not None else input_length
    if unroll and steps is None:
        raise ValueError("K.rnn(unroll=True) needs to know the number of timesteps: give the input a fixed "
                         "length (input_shape=(timesteps, features)) or pass input_length")
    if not isinstance(initial_states, (list, tuple)):
        raise TypeError(f"K.rnn: initial_states must be a list of tensors, got {type(initial_states).__name__}")
    return steps


def _select(mask_t, new, old):
    """``new`` where the sample's step is kept, ``old`` where it is masked out."""
    m = mask_t
    while m.ndim < new.ndim:
        m = gf.expand_dims(m, -1)
    return gf.where(m, new, old)


def _masked_step(step_function, constants):
    """The step with Keras's mask rule: a masked step repeats the previous output (the
    first state) and keeps every state as it was."""
    def step(x_t, mask_t, states):
        output, new_states = step_function(x_t, list(states) + list(constants))
        new_states = list(new_states)
        if mask_t is not None:
            output = _select(mask_t, output, states[0])
            new_states = [_select(mask_t, n, o) for n, o in zip(new_states, states)]
        return output, new_states
    return step


def _time_slices(x, steps):
    """x[:, t] for every t, as one split (its gradient is one concatenation, where
    per-step indexing would write each step's gradient into a zeroed copy of ``x``)."""
    if steps == 1:
        return [gf.squeeze(x, 1)]
    return [gf.squeeze(piece, 1) for piece in gf.split(x, steps, axis=1)]


def _unrolled(step, inputs, mask, initial_states, steps, go_backwards):
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    xs = _time_slices(inputs, steps)
    ms = [None] * steps if mask is None else _time_slices(mask, steps)
    states, outputs = list(initial_states), []
    for t in order:
        output, states = step(xs[t], ms[t], states)
        outputs.append(output)
    return outputs[-1], gf.stack(outputs, axis=1), states


def _scanned(step, inputs, mask, initial_states, go_backwards):
    n_states = len(initial_states)
    perm = (1, 0) + tuple(range(2, inputs.ndim))
    sequences = [gf.transpose(inputs, perm)] + ([] if mask is None else [gf.transpose(mask, (1, 0))])

    def body(*args):
        x_t = args[0]
        mask_t = args[1] if mask is not None else None
        states = args[len(sequences):len(sequences) + n_states]
        output, new_states = step(x_t, mask_t, states)
        return [output] + list(new_states)

    results = gf.scan(body, sequences=sequences, outputs_info=[None] + list(initial_states),
                      go_backwards=go_backwards, name="rnn")
    results = results if isinstance(results, list) else [results]
    outputs = gf.transpose(results[0], (1, 0) + tuple(range(2, results[0].ndim)))
    return results[0][-1], outputs, [r[-1] for r in results[1:]]


def rnn(step_function, inputs, initial_states, go_backwards=False, mask=None, constants=None, unroll=False,
        input_length=None):
    """Iterate ``step_function`` over axis 1 of ``inputs`` (Keras 2.0.6's ``K.rnn``).

    ``step_function(x_t, states) -> (output_t, new_states)`` gets ``states`` followed by
    ``constants``; the first state is the previous output. ``mask`` (samples, time),
    bool or 0/1: where it is 0 the step's output is the previous output and the states
    carry over unchanged. ``go_backwards`` walks time from the end (outputs are in the
    order they were made). Returns ``(last_output, outputs, new_states)`` with
    ``outputs`` of shape (samples, time, ...).
    """
    steps = _check(inputs, initial_states, mask, unroll, input_length)
    if mask is not None and mask.dtype != "bool":
        mask = gf.cast(mask, "bool")
    step = _masked_step(step_function, constants or [])
    if unroll or not hasattr(gf, "scan"):
        if steps is None:
            raise ValueError("K.rnn over a sequence of unknown length needs gf.scan, which this graphflow does "
                             "not have: give the input a fixed length (input_shape=(timesteps, features)) and "
                             "pass unroll=True")
        return _unrolled(step, inputs, mask, initial_states, steps, go_backwards)
    return _scanned(step, inputs, mask, initial_states, go_backwards)
