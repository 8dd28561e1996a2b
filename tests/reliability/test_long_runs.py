"""Long runs stay flat: 1,000 training steps hold resident memory and the global node
tables steady after warm-up; compiled functions are freed with their last reference; and
compiling the same graph again and again in a loop warns, once."""
import gc
import os
import tracemalloc
import warnings
import weakref

import numpy as np
import pytest

import graphflow as gf
from graphflow.graph.node import _interned, _names
from graphflow.graph.sources import _const_cache
from graphflow.keras.callbacks import Callback
from graphflow.runtime import retrace
from reliability_helpers import build, data

PAGE = os.sysconf("SC_PAGE_SIZE")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def tables() -> tuple:
    return len(_interned), len(_names.counts), len(_const_cache)


class Sampler(Callback):
    """From step ``warmup`` on: resident memory and the node tables every 100 steps."""

    def __init__(self, warmup):
        super().__init__()
        self.warmup, self.steps, self.rss, self.tables = warmup, 0, [], []

    def on_batch_end(self, batch, logs=None):
        self.steps += 1
        if self.steps >= self.warmup and self.steps % 100 == 0:
            gc.collect()
            self.rss.append(rss())
            self.tables.append(tables())


@pytest.mark.slow
def test_a_thousand_training_steps_keep_memory_flat():
    gf.set_random_seed(0)
    model = build()  # dropout, Adam, shuffled batches: every step changes state
    x, y = data(8000)  # one epoch of 1,000 steps: no per-epoch records (History) in the measure
    sampler = Sampler(warmup=200)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[sampler])
    assert sampler.steps == 1000
    grew = sampler.rss[-1] - sampler.rss[0]
    assert grew < 64 * 1024, f"resident memory grew {grew // 1024} KiB over 800 steps: {sampler.rss}"
    # no graph is built while training (the node table may still shrink as earlier garbage goes)
    assert sampler.tables[-1][0] <= sampler.tables[0][0] and sampler.tables[-1][1:] == sampler.tables[0][1:], \
        sampler.tables


def test_calls_allocate_nothing_that_stays():
    """What graphflow's own code allocates during 6,000 calls of a compiled function (feed
    checks, the run, the copy-out) is all freed: traced allocations in graphflow's files
    do not grow."""
    x = gf.placeholder((None, 5), name="calls_x")
    w = gf.variable(np.ones((5, 5), np.float32), name="calls_w")
    f = gf.function([x], [gf.tanh(x @ w) * 2.0 + 1.0, x[0]], updates=[(w, w * 0.999)])
    batch = np.ones((4, 5), np.float32)  # fed as it is (a read-only view), not cast
    for _ in range(300):
        f(batch)
    ours = [tracemalloc.Filter(True, os.path.join(ROOT, "graphflow", "*")),
            tracemalloc.Filter(True, os.path.join(ROOT, "backends", "*"))]
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot().filter_traces(ours)
        for _ in range(6000):
            f(batch)
        gc.collect()
        after = tracemalloc.take_snapshot().filter_traces(ours)
    finally:
        tracemalloc.stop()
    grew = sum(d.size_diff for d in after.compare_to(before, "lineno"))
    assert grew < 2048, [str(d) for d in after.compare_to(before, "lineno")[:3]]


def test_dropped_functions_and_their_graphs_are_freed():
    x = gf.placeholder((None, 4), name="free_x")
    w = gf.variable(np.ones((4, 2), np.float32), name="free_w")
    gc.collect()
    x_ref, fns = tables(), []
    for k in range(20):
        f = gf.function([x], gf.relu(x @ w + float(k)) * 2.0, updates=[(w, w * 0.5)])
        f(np.ones((3, 4)))
        fns.append(weakref.ref(f))
    del f
    gc.collect()  # one collection frees a whole dropped graph (node <-> tensor is a cycle)
    assert not [r for r in fns if r() is not None]
    assert tables()[0] <= x_ref[0]  # the interned nodes went with their functions


def compile_in_a_loop(times, optimize="O2"):
    x = gf.placeholder((None, 3), name="loop_x")
    w = gf.variable(np.ones((3, 3), np.float32), name="loop_w")
    caught = []
    for _ in range(times):
        with warnings.catch_warnings(record=True) as got:
            warnings.simplefilter("always")
            loss = gf.mean(gf.square(x @ w - 1.0))  # rebuilt every step: new tensors, same graph
            f = gf.function([x], loss, updates=[(w, w - 0.1 * gf.grad(loss, [w])[0])], optimize=optimize)
        caught += [g for g in got if issubclass(g.category, retrace.RetraceWarning)]
        f(np.ones((2, 3)))
    return caught


def test_recompiling_one_graph_in_a_loop_warns_once_at_the_users_line():
    caught = compile_in_a_loop(12)
    assert len(caught) == 1, [str(c.message) for c in caught]
    warning = caught[0]
    assert warning.filename == os.path.abspath(__file__)  # points at the gf.function call, not at graphflow
    assert f"compiled the same graph {retrace.LIMIT} times" in str(warning.message)
    assert "compile once, before the loop" in str(warning.message)


def test_distinct_graphs_and_levels_are_not_a_loop():
    x = gf.placeholder((2, 3), name="distinct_x")
    with warnings.catch_warnings():
        warnings.simplefilter("error", retrace.RetraceWarning)
        for k in range(3 * retrace.LIMIT):
            gf.function([x], x * float(k + 0.5))  # a new constant each time: a new graph
        for level in ("O0", "O1", "O2"):
            for _ in range(retrace.LIMIT - 1):
                gf.function([x], gf.tanh(x) + 7.25, optimize=level)


def test_structural_key_ignores_tensor_identity_but_not_state():
    a, b = gf.placeholder((3,), name="key_a"), gf.placeholder((3,), name="key_b")
    v, u = gf.variable(np.zeros(3, np.float32)), gf.variable(np.zeros(3, np.float32))
    key = retrace.structural_key
    assert key([a], [gf.exp(a) * v], [], "O2", "numpy") == key([b], [gf.exp(b) * v], [], "O2", "numpy")
    assert key([a], [gf.exp(a) * v], [], "O2", "numpy") != key([a], [gf.exp(a) * u], [], "O2", "numpy")
    assert key([a], [gf.exp(a)], [], "O2", "numpy") != key([a], [gf.log(a)], [], "O2", "numpy")
    assert key([a], [gf.exp(a)], [], "O2", "numpy") != key([a], [gf.exp(a)], [(v, v + 1)], "O2", "numpy")
