"""The machinery under the NumPy backend's conv and pool kernels: splitting work over
threads (and BLAS's own thread count), cache-sized work units, and numba loops that are
optional, cached on disk, and still run where no cache directory is writable."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from graphflow_numpy import jit
from graphflow_numpy.kernels import _parallel, _scratch, pool_loops


def test_parts_cover_everything_once_and_balance():
    for n in range(0, 12):
        for k in range(1, 5):
            ps = _parallel.parts(n, k)
            assert [i for a, b in ps for i in range(a, b)] == list(range(n))
            if n:
                sizes = [b - a for a, b in ps]
                assert max(sizes) - min(sizes) <= 1 and len(ps) == min(n, k)


def test_run_parts_keeps_order_and_runs_nested_calls_serially(monkeypatch):
    monkeypatch.setenv("GRAPHFLOW_NUM_THREADS", "3")
    inner = []
    out = _parallel.run_parts(lambda a, b: (inner.append(_parallel.run_parts(lambda c, d: (c, d), 5)), (a, b))[1], 7)
    assert out == [(0, 2), (2, 4), (4, 7)]
    assert inner == [[(0, 5)]] * 3  # a part does not fan out again


def test_run_parts_passes_errors_on(monkeypatch):
    monkeypatch.setenv("GRAPHFLOW_NUM_THREADS", "2")

    def part(a, b):
        if a == 0:
            raise KeyError("boom")
        return b
    with pytest.raises(KeyError, match="boom"):
        _parallel.run_parts(part, 4)


def test_blas_thread_count_comes_back():
    libs = _parallel._blas_libs()
    if not libs:
        pytest.skip("threadpoolctl found no BLAS")
    before = [lib.num_threads for lib in libs]
    with _parallel.blas_threads(1):
        assert all(lib.num_threads == 1 for lib in libs)
        with _parallel.blas_threads(1):
            pass
        assert all(lib.num_threads == 1 for lib in libs)
    assert [lib.num_threads for lib in libs] == before


def test_thread_count_from_the_environment(monkeypatch):
    monkeypatch.setenv("GRAPHFLOW_NUM_THREADS", "5")
    assert _parallel.thread_count() == 5
    monkeypatch.setenv("GRAPHFLOW_NUM_THREADS", "two")
    with pytest.raises(ValueError, match=r"GRAPHFLOW_NUM_THREADS must be a positive integer, got 'two'"):
        _parallel.thread_count()


def test_work_units_cover_every_row_once():
    for n, rows, row_bytes, budget, k in [(4, 10, 100, 2500, 1), (3, 10, 100, 350, 1), (1, 9, 10, 10**6, 2),
                                          (5, 1, 10, 25, 2), (2, 7, 1000, 1, 3)]:
        units = _scratch.work_units(n, rows, row_bytes, budget, k)
        cells = [(i, r) for n0, n1, r0, r1 in units for i in range(n0, n1) for r in range(r0, r1)]
        assert sorted(cells) == [(i, r) for i in range(n) for r in range(rows)]
        assert len(units) >= min(k, n * rows)
        for n0, n1, r0, r1 in units:
            assert n1 - n0 == 1 or (r0, r1) == (0, rows)   # several images only when whole
            if (n1 - n0) * (r1 - r0) > 1:
                assert (n1 - n0) * (r1 - r0) * row_bytes <= max(budget, rows * row_bytes)


def test_scratch_is_reused_per_slot():
    a = _scratch.scratch(np, "test-slot", (10, 10), np.float32)
    b = _scratch.scratch(np, "test-slot", (5, 4), np.float64)
    assert a.base is b.base or np.shares_memory(a, b)
    assert _scratch.held_bytes() >= 400


def _python(code, env):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=env, timeout=600)


@pytest.mark.slow
def test_loops_run_uncached_where_no_cache_directory_is_writable(tmp_path):
    if not jit.available():
        pytest.skip("numba is not installed")
    (tmp_path / "__pycache__").write_text("a file where numba wants its cache folder")
    (tmp_path / "mymod.py").write_text(textwrap.dedent("""
        def total(a):
            s = a[0] * 0
            for v in a:
                s += v
            return s
    """))
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(XDG_CACHE_HOME="/dev/null/no-cache", HOME="/dev/null/no-home", PYTHONDONTWRITEBYTECODE="1",
               PYTHONPATH=os.pathsep.join([str(tmp_path)] + sys.path))
    res = _python("""
        import numpy as np, mymod
        from graphflow_numpy import jit
        assert jit.loops(mymod).total(np.arange(5.0)) == 10.0
        print(jit.STATS["total"]["cache"])
    """, env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["off"]


def test_compiled_loops_can_be_switched_off():
    env = dict(os.environ, GRAPHFLOW_NO_JIT="1")
    res = _python("""
        import numpy as np, graphflow as gf
        from graphflow_numpy import jit
        from graphflow_numpy.kernels import pool_loops
        x = gf.placeholder((1, 4, 4, 1))
        y = gf.function([x], gf.nn.max_pool2d(x))(np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1))
        print(jit.loops(pool_loops), jit.available(), y.ravel().tolist())
    """, env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "None False [5.0, 7.0, 13.0, 15.0]"


def test_loops_of_a_module_are_compiled_once_and_timed():
    if not jit.available():
        pytest.skip("numba is not installed")
    lp = jit.loops(pool_loops)
    assert jit.loops(pool_loops) is lp
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    y, idx = np.empty((1, 2, 2, 1), np.float32), np.empty((1, 2, 2, 1), np.uint8)
    lp.max_forward(x, 2, 2, 2, 2, 0, 0, 0, 1, y, idx)
    assert y.ravel().tolist() == [5, 7, 13, 15] and idx.ravel().tolist() == [3, 3, 3, 3]
    assert jit.STATS["max_forward"]["seconds"] > 0 and jit.STATS["max_forward"]["cache"] in ("hit", "miss")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_parts_still_run_in_a_forked_child(monkeypatch):
    monkeypatch.setenv("GRAPHFLOW_NUM_THREADS", "2")
    assert _parallel.run_parts(lambda a, b: b - a, 4) == [2, 2]   # the pool exists now
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if the parts ran
        try:
            os._exit(0 if _parallel.run_parts(lambda a, b: b - a, 4) == [2, 2] else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


@pytest.mark.parametrize("shape", [(300, 200, 100), (20, 400, 900), (7, 3000, 700)])
def test_large_products_split_over_threads_match_blas(shape, monkeypatch):
    from graphflow_numpy.kernels import linalg
    monkeypatch.setenv("GRAPHFLOW_NUM_THREADS", "3")
    m, k, n = shape
    rng = np.random.default_rng(9)
    x, y = rng.standard_normal((m, k)), rng.standard_normal((k, n)).T.copy().T   # y F-ordered
    assert linalg._splits(x, y)
    np.testing.assert_allclose(linalg.split_matmul(np, x, y), x @ y, rtol=1e-12, atol=1e-12)
    out = np.empty((m, n))
    assert linalg.split_matmul(np, x, y, out) is out
    np.testing.assert_allclose(out, x @ y, rtol=1e-12, atol=1e-12)
