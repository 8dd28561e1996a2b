"""The graph fuzzer's engine: build a random program op by op from the catalog, check
every build error, then compile what was built and check every value.

A *call* is one functional op applied to drawn arguments. Each call either

- returns tensors, which join the pool later calls draw from, or
- raises one of graphflow's own errors whose message names the op and the user's
  ``file:line`` (the line of ``CALL_LINE`` below).

Then everything built is compiled with ``gf.function`` and run on concrete values: each
output must have its inferred dtype and a shape that fits its inferred shape, and, where
``fuzz_catalog.REFERENCES`` has the op, the values NumPy computes from the same inputs.
"""
from __future__ import annotations

import inspect
import math
import os
import signal
import tracemalloc
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from hypothesis import strategies as st

import graphflow as gf
from fuzz_catalog import DTYPES, FUNCTIONS, HUGE, argument, shapes
from fuzz_references import REFERENCES, NoReference
from fuzz_plausible import PLAUSIBLE

OURS = (gf.GraphError, gf.FeedError, gf.NonDifferentiableError, gf.DisconnectedError)
FILE = os.path.abspath(__file__)
RUN_LIMIT = 20_000  # elements: bigger programs are built and compiled but not run
ALIASES = {"divide": "div", "multiply": "mul", "subtract": "sub", "negative": "neg", "gather": "take"}


class Call:
    """One op application: its name, the arguments as passed, and the result."""

    def __init__(self, name, kwargs, result):
        self.name, self.kwargs = name, kwargs
        self.outputs = list(result) if isinstance(result, list) else [result]

    def __repr__(self):
        args = ", ".join(f"{k}={_short(v)}" for k, v in self.kwargs.items())
        return f"{self.name}({args})"


def _short(v):
    if isinstance(v, gf.Tensor):
        return f"<{v.name} {v.type}>"
    if isinstance(v, (list, tuple)) and any(isinstance(e, gf.Tensor) for e in v):
        return type(v)(_short(e) for e in v)
    return repr(v)


@contextmanager
def time_limit(seconds):
    """Fail (rather than hang the suite) when one example runs too long."""
    def alarm(signum, frame):
        raise TimeoutError(f"a fuzz example ran longer than {seconds} s (a hang?)")
    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# ---------------------------------------------------------------- building
def sources(data, batch):
    """Placeholders (fed later) and constants of random shapes and dtypes."""
    pool, feeds = [], {}
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="values seed"))
    for i in range(data.draw(st.integers(1, 4), label="sources")):
        dtype = data.draw(st.sampled_from(DTYPES), label="dtype")
        shape = data.draw(shapes(), label="shape")
        if data.draw(st.integers(0, 9), label="huge") == 0:  # a huge static dim: never allocated
            shape = shape + (HUGE,)
        concrete = tuple(batch if d is None else d for d in shape)
        value = None if HUGE in shape else random_array(rng, concrete, dtype)
        if value is not None and data.draw(st.booleans(), label="constant"):
            pool.append(gf.constant(value))
        else:
            ph = gf.placeholder(shape, dtype, name=f"fz{i}")
            pool.append(ph)
            feeds[ph] = value
    return pool, feeds


def random_array(rng, shape, dtype):
    kind = np.dtype(dtype).kind
    if kind == "b":
        return rng.random(shape) < 0.5
    if kind in "iu":
        return rng.integers(0 if kind == "u" else -4, 5, shape).astype(dtype)
    value = rng.uniform(-3, 3, shape)
    if kind == "c":
        value = value + 1j * rng.uniform(-3, 3, shape)
    return value.astype(dtype)


def draw_call(data, pool, problems):
    """Draw one op and its arguments, call it, and check what happened."""
    name = data.draw(st.sampled_from(sorted(FUNCTIONS)), label="op")
    fn = FUNCTIONS[name]
    kwargs = None
    if name in PLAUSIBLE and data.draw(st.booleans(), label="plausible"):
        kwargs = PLAUSIBLE[name](data.draw, pool)
    if kwargs is None:
        kwargs = hostile(data, fn, pool)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's about folded inf/nan
            result = fn(**kwargs)  # CALL_LINE: the user's line every build error must name
    except OURS as exc:
        check_build_error(name, kwargs, exc, problems)
        return None
    except Exception as exc:  # noqa: BLE001 -- anything else is a defect
        problems.append(f"{name}({_args(kwargs)}) raised {type(exc).__name__}: {exc}")
        return None
    call = Call(name, kwargs, result)
    for t in call.outputs:
        if not isinstance(t, gf.Tensor):
            problems.append(f"{call} returned {type(t).__name__}, not a Tensor")
            return None
    return call


def hostile(data, fn, pool) -> dict:
    """Arguments drawn per parameter name, defaults left out at random."""
    kwargs = {}
    for p in inspect.signature(fn).parameters.values():
        if p.default is not inspect.Parameter.empty and data.draw(st.booleans(), label=f"default {p.name}"):
            continue
        kwargs[p.name] = data.draw(argument(p.name, pool), label=p.name)
    return kwargs


CALL_LINE = next(i for i, line in enumerate(Path(FILE).read_text().splitlines(), 1)
                 if "# CALL_LINE" in line and "fn(**" in line)


def _args(kwargs):
    return ", ".join(f"{k}={_short(v)}" for k, v in kwargs.items())


def check_build_error(name, kwargs, exc, problems):
    msg = str(exc)
    names = {name, ALIASES.get(name, name)}
    where = f"{FILE}:{CALL_LINE}"
    if where not in msg:
        problems.append(f"{name}({_args(kwargs)}): the error does not name the user's line {where}: "
                        f"{type(exc).__name__}: {msg}")
    elif not any(n in msg for n in names):
        problems.append(f"{name}({_args(kwargs)}): the error does not name the op: {msg}")


# ---------------------------------------------------------------- running
def concrete_size(t, batch):
    n = 1
    for d in t.shape:
        n *= batch if d is None else d
    return n


def runnable(calls, pool, batch):
    """The calls whose inputs and outputs are all small enough to compute."""
    small = {id(t) for t in pool if t.node is None and HUGE not in t.shape and concrete_size(t, batch) <= RUN_LIMIT}
    made = {id(t) for c in calls for t in c.outputs}
    ok = []
    for c in calls:
        ins = list(_tensors_in(c.kwargs.values()))
        if all(id(t) in small or _side_input(t, made, small, batch) for t in ins) and \
                all(concrete_size(t, batch) <= RUN_LIMIT for t in c.outputs):
            ok.append(c)
            small.update(id(t) for t in c.outputs)
    return ok


def _side_input(t, made, small, batch):
    """A small tensor made outside the recorded calls (a constant, or a plausible
    argument such as ``sigmoid(logits)``) whose sources are all small."""
    if id(t) in made or concrete_size(t, batch) > RUN_LIMIT:
        return False
    return all(isinstance(s, gf.Constant) or id(s) in small for s in gf.graph.sources([t]))


def _tensors_in(values):
    for v in values:
        if isinstance(v, gf.Tensor):
            yield v
        elif isinstance(v, (list, tuple)):
            yield from _tensors_in(v)


def run_and_compare(calls, feeds, batch, problems):
    outs, seen = [], set()
    for c in calls:
        for t in c.outputs:
            if id(t) not in seen:
                seen.add(id(t))
                outs.append(t)
    if not outs:
        return
    needed = [ph for ph in feeds if ph in set(gf.graph.sources(outs))]
    program = "; ".join(map(repr, calls))
    try:
        f = gf.function(needed, outs)
    except OURS as exc:
        problems.append(f"compiling [{program}] raised {type(exc).__name__}: {exc}")
        return
    except Exception as exc:  # noqa: BLE001
        problems.append(f"compiling [{program}] raised an internal {type(exc).__name__}: {exc}")
        return
    values = {}
    try:
        with np.errstate(all="ignore"):
            got = f(*[feeds[ph] for ph in needed])
    except Exception as exc:  # noqa: BLE001
        if not data_dependent(exc):
            problems.append(f"running [{program}] raised {type(exc).__name__}: {exc} "
                            f"{getattr(exc, '__notes__', '')}")
        return
    got = got if isinstance(got, list) else [got]
    for t, v in zip(outs, got):
        values[id(t)] = v
        check_type(t, v, batch, problems)
    values.update({id(ph): v for ph, v in feeds.items()})
    for c in calls:
        compare(c, values, problems)


def data_dependent(exc) -> bool:
    """Errors only the values can cause (an index out of range, a negative integer
    power): they must name the node that failed and the user's line."""
    notes = " ".join(getattr(exc, "__notes__", []))
    return isinstance(exc, (ValueError, IndexError)) and FILE in notes + str(exc)


def check_type(t, v, batch, problems):
    if not isinstance(v, np.ndarray):
        problems.append(f"{t} computed a {type(v).__name__}, not an ndarray")
        return
    want = tuple(batch if d is None else d for d in t.shape)
    if v.dtype != np.dtype(t.dtype) or (None not in t.shape and v.shape != want) or v.ndim != t.ndim:
        problems.append(f"{t} (made at {t.node.site if t.node else '?'}) computed {v.dtype}{v.shape}")


def check_dropout(call, values, problems):
    """Each entry is dropped (0) or kept and scaled by 1 / (1 - rate)."""
    x, y = (values.get(id(t)) for t in (call.kwargs.get("x"), call.outputs[0]))
    rate = call.kwargs.get("rate")
    if x is None or y is None or not isinstance(rate, float):
        return
    kept = np.isclose(y, x / (1 - rate), rtol=1e-3, atol=1e-6, equal_nan=True)
    if not (kept | (y == 0) | ~np.isfinite(x)).all():  # a dropped Inf is 0 * Inf = NaN, as in TF
        problems.append(f"{call}: entries neither dropped nor scaled by 1/(1 - rate):\n{x}\n{y}")


def compare(call, values, problems):
    if call.name == "dropout":
        return check_dropout(call, values, problems)
    ref = REFERENCES.get(call.name)
    if ref is None:
        return
    args = {}
    for k, v in call.kwargs.items():
        if isinstance(v, gf.Tensor):
            if id(v) not in values:
                return
            args[k] = values[id(v)]
        elif isinstance(v, (list, tuple)) and v and all(isinstance(e, gf.Tensor) for e in v):
            if any(id(e) not in values for e in v):
                return
            args[k] = [values[id(e)] for e in v]
        elif isinstance(v, (bool, int, float, str, type(None), slice, type(Ellipsis))) or k in ("axis", "axes", "shape",
                                                                                                "reps", "key"):
            args[k] = v
        else:
            return  # lists and arrays become constants by rules of their own: not compared
    if not any(isinstance(v, gf.Tensor) for v in call.kwargs.values()) or any(
            isinstance(v, int) and abs(v) >= 2**63 for v in call.kwargs.values()):
        return  # NumPy itself refuses some ufuncs a Python int beyond 64 bits
    args["_static"] = {k: v.shape for k, v in call.kwargs.items() if isinstance(v, gf.Tensor)}
    if isinstance(args.get("key"), gf.Tensor) or (isinstance(args.get("key"), tuple)
                                                  and any(isinstance(e, gf.Tensor) for e in args["key"])):
        return
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = ref(args)
    except NoReference:
        return
    except Exception as exc:  # noqa: BLE001 -- NumPy refuses what we built: report both
        problems.append(f"{call}: built, but NumPy refuses it: {type(exc).__name__}: {exc}")
        return
    wants = want if isinstance(want, list) else [want]
    for t, w in zip(call.outputs, wants):
        if id(t) in values:
            close(call, values[id(t)], np.asarray(w), problems)


TOL = {"float16": 2e-2, "float32": 2e-4, "float64": 1e-9, "complex64": 2e-4, "complex128": 1e-9}


def close(call, got, want, problems):
    if got.shape != want.shape:
        problems.append(f"{call}: shape {got.shape}, NumPy gives {want.shape}")
        return
    if got.dtype.kind in "biu" or want.dtype.kind in "biu":
        if not np.array_equal(got, want.astype(got.dtype) if got.dtype != want.dtype else want):
            problems.append(f"{call}: values differ from NumPy's\n{got}\n{want}")
        return
    tol = TOL.get(got.dtype.name, 1e-6)
    want = want.astype(got.dtype)
    both = np.isfinite(got) & np.isfinite(want)
    # a stabilised form may be finite where the plain NumPy formula overflows, and where
    # NumPy's is NaN or Inf (inf - inf, log 0...) any non-finite value will do
    bad = ~np.isfinite(got) & np.isfinite(want)
    if bad.any() or not np.allclose(got[both], want[both], rtol=tol, atol=tol):
        problems.append(f"{call}: values differ from NumPy's\n{got}\n{want}")


def fuzz_program(data, max_calls=6):
    """One example: build, check errors, run, compare. Returns the problems found."""
    problems = []
    batch = data.draw(st.sampled_from([1, 2, 3]), label="batch")
    pool, feeds = sources(data, batch)
    base, calls = list(pool), []
    for _ in range(data.draw(st.integers(1, max_calls), label="calls")):
        call = draw_call(data, pool, problems)
        if call is not None:
            calls.append(call)
            pool.extend(call.outputs)
    if not problems:
        small = runnable(calls, base, batch)
        run_and_compare(small, feeds, batch, problems)
        big = [c for c in calls if c not in small]
        if big and not problems:
            compile_only(big, feeds, problems)
    return problems


def compile_only(calls, feeds, problems):
    """Programs too big to run still compile, without allocating what they would compute."""
    outs = list({id(t): t for c in calls for t in c.outputs}.values())
    used = set(gf.graph.sources(outs))
    tracemalloc.start()
    try:
        gf.function([ph for ph in feeds if ph in used], outs)
    except Exception as exc:  # noqa: BLE001
        problems.append(f"compiling [{'; '.join(map(repr, calls))}] raised {type(exc).__name__}: {exc}")
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    if peak > 64 * 2**20:
        problems.append(f"compiling [{'; '.join(map(repr, calls))}] allocated {peak / 2**20:.0f} MiB")


__all__ = ["fuzz_program", "time_limit", "math"]
