"""The kernel thread pool under concurrent calls of different sizes: a call that needs a
bigger pool must not shut down the pool another call is about to submit to (that raised
"cannot schedule new futures after shutdown" and left that call's parts running)."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from graphflow_numpy.kernels import _parallel


class SlowSubmit(ThreadPoolExecutor):
    """A pool whose ``submit`` dawdles first: it widens the moment between being handed
    the pool and submitting to it, where the race lived."""

    def submit(self, *args, **kwargs):
        time.sleep(0.002)
        return super().submit(*args, **kwargs)


def test_two_batch_sizes_racing_for_the_pool(monkeypatch):
    """Rounds of two threads on a fresh pool, one splitting its work 2 ways, then (while
    the first is submitting to the small pool it was handed) one 6 ways, which grows the
    pool: every call returns every part's result, in order."""
    errors, rounds = [], 20
    monkeypatch.setattr(_parallel, "ThreadPoolExecutor", SlowSubmit)

    def call(k):
        try:
            for _ in range(3):
                got = _parallel.run_parts(lambda a, b: list(range(a, b)), 12, threads=k, blas=False)
                assert sum(got, []) == list(range(12)) and len(got) == k
        except Exception as exc:  # reported below, with the round it happened in
            errors.append(repr(exc))

    for _ in range(rounds):
        monkeypatch.setattr(_parallel, "_pool", [None, 0])
        threads = [threading.Thread(target=call, args=(k,)) for k in (2, 6)]
        for t in threads:
            t.start()
            time.sleep(0.0005)
        for t in threads:
            t.join()
    assert errors == []
