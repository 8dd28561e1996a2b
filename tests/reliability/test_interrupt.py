"""KeyboardInterrupt during fit: the model holds the weights, optimizer state and dropout
counters of one completed step (never a mix of two), fit can run again, and a run
resumed from a ModelCheckpoint file ends with the weights of an uninterrupted run."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import graphflow as gf
from graphflow.keras.callbacks import Callback, ModelCheckpoint
from reliability_helpers import HELPER_PATH, build, data, digest, seed_everything, state, step_state

SEED = 5


class Recorder(Callback):
    def __init__(self):
        super().__init__()
        self.states = []

    def on_batch_begin(self, batch, logs=None):
        if not self.states:  # the state before the first step
            self.states.append(step_state(self.model))

    def on_batch_end(self, batch, logs=None):
        self.states.append(step_state(self.model))


def reference(epochs):
    """States after every whole step of an uninterrupted run."""
    seed_everything(SEED, "graphflow")
    model, (x, y), rec = build(), data(), Recorder()
    model._make_train_function()
    model.fit(x, y, batch_size=8, epochs=epochs, shuffle=True, verbose=0, callbacks=[rec])
    return rec.states


def interrupted_fit(epochs, delay):
    """The same run, with a KeyboardInterrupt raised (as by Ctrl-C) after ``delay`` s;
    also how long ``fit`` ran."""
    seed_everything(SEED, "graphflow")
    model, (x, y) = build(), data()
    model._make_train_function()
    armed = [True]

    def interrupt(signum, frame):
        if armed[0]:
            armed[0] = False
            raise KeyboardInterrupt
    old = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, delay)
    start = time.perf_counter()
    try:
        model.fit(x, y, batch_size=8, epochs=epochs, shuffle=True, verbose=0)
        interrupted = False
    except KeyboardInterrupt:
        interrupted = True
    finally:
        armed[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    return model, interrupted, time.perf_counter() - start


def same(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a, b))


def whole_step(now, states):
    """The step whose state ``now`` is, or None (a mix of two steps, say)."""
    for k, s in enumerate(states):
        if same(now, s):
            return k
    return None


@pytest.mark.slow
def test_interrupt_at_random_moments_leaves_a_whole_step_and_fit_resumes():
    states = reference(epochs=2)
    took = interrupted_fit(2, 60.0)[2]  # how long the plain fit takes (the alarm never fires)
    rng = np.random.default_rng()
    hits = 0
    for _ in range(6):
        delay = float(rng.uniform(0.05, 0.95)) * took
        model, interrupted, _ = interrupted_fit(2, delay)
        now = step_state(model)
        k = whole_step(now, states)
        assert k is not None, f"after an interrupt at {delay:.3f} s the state is no step's"
        hits += interrupted
        iterations = model.optimizer.iterations.get_value()
        assert iterations == k, (iterations, k)  # optimizer state from the same step as the weights
        model.fit(*data(), batch_size=8, epochs=1, verbose=0)  # fit resumes from there
        assert model.optimizer.iterations.get_value() == k + 8
        assert all(np.isfinite(w).all() for w in state(model))
    assert hits, "no run was interrupted (the timer fired too late every time)"


def test_ctrl_c_during_an_update_commit_waits_for_its_end():
    """A SIGINT that arrives while a call assigns its updates (sent by a trace hook as the
    commit reaches its second variable) is raised after the last one: all of the call's
    updates or none, never the first without the second."""
    from graphflow.runtime import variables
    w = gf.variable(np.zeros(3, np.float32), name="atomic_w")
    b = gf.variable(np.zeros(2, np.float32), name="atomic_b")
    f = gf.function([], [], updates=[(w, w + 1), (b, b + 1)])
    f()  # the variables now live on the backend: the commit reuses their cells
    sent = [False]

    def in_commit(frame, event, arg):
        if event == "line" and frame.f_locals.get("var") is b and not sent[0]:  # w is assigned, b is next
            sent[0] = True
            signal.raise_signal(signal.SIGINT)
        return in_commit

    def tracer(frame, event, arg):
        return in_commit if event == "call" and frame.f_code is variables.commit.__code__ else None
    interrupted = False
    sys.settrace(tracer)
    try:
        f()
        time.sleep(0.01)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        sys.settrace(None)
    assert sent[0] and interrupted, "the commit no longer assigns variables one by one: rewrite this test"
    assert w.get_value()[0] == b.get_value()[0] == 2, (w.get_value(), b.get_value())


@pytest.mark.slow
def test_checkpoint_and_load_model_resume_to_the_uninterrupted_weights(tmp_path):
    """Train 2 epochs with ModelCheckpoint, 'crash', then resume in a fresh process from
    the file: the weights after epoch 4 are those of 4 uninterrupted epochs, bit for bit."""
    x, y = data()
    seed_everything(SEED, "graphflow")
    model = build(dropout=False)
    model.fit(x, y, batch_size=8, epochs=4, shuffle=True, verbose=0)
    whole = digest(state(model))

    path = str(tmp_path / "ckpt-{epoch}.h5")
    seed_everything(SEED, "graphflow")
    model = build(dropout=False)
    model.fit(x, y, batch_size=8, epochs=2, shuffle=True, verbose=0, callbacks=[ModelCheckpoint(path, monitor="loss")])
    del model  # the "crash": only the file is left
    ckpt = path.format(epoch=1)
    out = subprocess.run([sys.executable, HELPER_PATH, "resume", str(SEED), ckpt, "2", "4"], capture_output=True,
                         text=True, timeout=300, env=dict(os.environ, PYTHONHASHSEED="7"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == whole
