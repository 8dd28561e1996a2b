"""Issue 18, item 8: crashes and silent acceptance.

- Fused loops with infinite, NaN, huge and subnormal constants (``msle``/``mape`` at
  batch x outputs >= 131,072 and ``gf.clip(x, 0, np.inf)`` once wrote ``np.float32(inf)``
  into the generated code): a property test against the unfused NumPy plan, with the
  compiled loop forced;
- optimizer configs with NaN, inf or list learning rates, refused when built;
- ``GRAPHFLOW_COLLECTIVE_TIMEOUT`` that is NaN, inf, negative or not a number, refused;
- the MPI launcher's consent to run as root: only when asked, and said."""
import json
import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphflow as gf
import graphflow.distributed as dist
from graphflow.distributed import launch
from graphflow.keras import optimizers
from graphflow.keras.layers import Dense
from graphflow.keras.models import Sequential
from graphflow.ops import elementwise as ew
from graphflow.ops.fused import Fused
from graphflow_numpy import jit
from graphflow_numpy.kernels import fused_blocks, fused_loops

needs_numba = pytest.mark.skipif(not jit.available(), reason="numba is not installed")
F32 = np.finfo(np.float32)
SPECIAL = [math.inf, -math.inf, float(F32.max), -float(F32.max), float(F32.smallest_subnormal),
           -float(F32.smallest_subnormal), 3 * float(F32.smallest_subnormal), float(F32.tiny), 0.0, -0.0, 1.5,
           1e39, 1e-46]
INPUTS = np.array(SPECIAL[:-2] + [math.nan, -2.5, 7.0, 1e-40, -1e-42, 3e38, -3e38], np.float32)


class _Loops(list):
    """Whether each fused group took the compiled loop; ``off`` sends them to NumPy."""
    off = False


@pytest.fixture
def loops_forced(monkeypatch):
    """Every fused group of any size takes the compiled loop (unless ``.off``); the
    list records, per group run, whether it did."""
    monkeypatch.setattr(fused_blocks, "MIN_ELEMENTS", 1)
    taken, real = _Loops(), fused_loops.loop_for

    def loop_for(*args):
        found = None if taken.off else real(*args)
        taken.append(found is not None)
        return found
    monkeypatch.setattr(fused_loops, "loop_for", loop_for)
    return taken


_STEPS = ["clip", "mul", "add", "max", "min", "where", "div"]


def _apply(kind, t, c, d):
    if kind == "clip":
        lo, hi = sorted([c, d])
        return gf.clip(t, lo, hi)
    return {"mul": lambda: t * c, "add": lambda: t + c, "max": lambda: gf.maximum(t, c),
            "min": lambda: gf.minimum(t, c), "where": lambda: gf.where(gf.greater(t, c), t, d),
            "div": lambda: t / c}[kind]()


@needs_numba
@settings(max_examples=int(os.environ.get("GRAPHFLOW_DEEP_EXAMPLES", 4)), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(_STEPS), st.sampled_from(SPECIAL), st.sampled_from(SPECIAL)),
                min_size=2, max_size=4))
def test_fused_loops_with_special_constants_equal_numpy(loops_forced, steps):
    x = gf.placeholder((None,), "float32")
    y = x
    with np.errstate(all="ignore"):  # 1e39 and 1/subnormal overflow float32, as meant
        for kind, c, d in steps:
            y = _apply(kind, y, c, d)
        y = y + x  # the group stays a group: x is read again at the end
        f = gf.function([x], y)
        loops_forced.off = True  # the same fused groups, step by step in NumPy
        want = f(INPUTS)
        loops_forced.off = False
        del loops_forced[:]
        got = gf.function([x], y)(INPUTS)
    assert any(loops_forced), "the compiled loop was not taken"
    np.testing.assert_array_equal(got, want)  # to the bit: NaN where NumPy has NaN, -0.0 and subnormals kept


@needs_numba
def test_clip_to_infinity_and_largest_float_compile(loops_forced):
    x = gf.placeholder((None,), "float32")
    a = np.linspace(-3e38, 3e38, 1001, dtype=np.float32)
    for lo, hi in [(0, np.inf), (-np.inf, 1e-45), (-float(F32.max), float(F32.max)), (float(F32.tiny), 1e39)]:
        del loops_forced[:]
        with np.errstate(all="ignore"):
            got = gf.function([x], gf.clip(x, lo, hi) * 2.0)(a)
            np.testing.assert_array_equal(got, np.clip(a, np.float32(lo), np.float32(hi)) * np.float32(2))
        assert loops_forced and all(loops_forced), "the compiled loop was not taken"
    op = Fused(((ew.Clip(-math.inf, math.inf), (0,)), (ew.Clip(float(F32.smallest_subnormal), 1e39), (1,))), 1)
    source = fused_loops.loop_source(op, ["float32"], (False,), ["float32", "float32"])
    for literal in ("np.float32(-np.inf)", "np.float32(np.inf)", "np.float32(1.401298464324817e-45)",
                    "np.float32(1e+39)"):
        assert literal in source


@needs_numba
@pytest.mark.parametrize("loss", ["msle", "mape"])
def test_msle_and_mape_train_on_large_batches(loss, rng):
    """batch 1024 x 128 outputs = 131,072: the size at which the loop took over."""
    model = Sequential([Dense(128, input_shape=(4,))])
    model.compile(loss=loss, optimizer="sgd")
    x, y = rng.normal(size=(1024, 4)).astype(np.float32), rng.uniform(0.5, 2, (1024, 128)).astype(np.float32)
    value = model.train_on_batch(x, y)
    assert np.isfinite(value)


@pytest.mark.parametrize("config,error", [
    ({"lr": float("nan")}, "SGD: lr should be a finite number, got nan"),
    ({"lr": float("inf")}, "SGD: lr should be a finite number, got inf"),
    ({"lr": [1, 2]}, r"SGD: lr should be a number, got list \[1, 2\]"),
    ({"lr": "0.1"}, "SGD: lr should be a number, got str"),
    ({"lr": -0.1}, "lr should be at least 0.0"),
    ({"momentum": float("nan")}, "SGD: momentum should be a finite number"),
    ({"decay": float("-inf")}, "decay should be a finite number"),
    ({"clipnorm": float("nan")}, "clipnorm should be a finite number"),
])
def test_optimizer_configs_with_nonsense_are_refused_when_built(config, error):
    with pytest.raises((ValueError, TypeError), match=error):
        optimizers.deserialize({"class_name": "SGD", "config": config})


@pytest.mark.parametrize("lr,error", [(float("nan"), "lr should be a finite number, got nan"),
                                      ([1, 2], r"lr should be a number, got list \[1, 2\]")])
def test_a_model_file_with_a_nonsense_learning_rate_fails_at_load(tmp_path, lr, error):
    """As a Keras-written file (no graphflow attributes) would carry it."""
    h5py = pytest.importorskip("h5py")
    from graphflow.keras.models import load_model
    from graphflow.keras.saving import LoadError
    path = tmp_path / "m.h5"
    model = Sequential([Dense(2, input_shape=(3,))])
    model.compile(loss="mse", optimizer="sgd")
    model.save(str(path))

    def strip(_, obj):
        for key in [k for k in obj.attrs if k.startswith("graphflow")]:
            del obj.attrs[key]
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["training_config"])
        config["optimizer_config"]["config"]["learning_rate"] = lr
        f.attrs["training_config"] = json.dumps(config)
        strip("/", f)
        f.visititems(strip)
    with pytest.raises(LoadError, match=f"optimizer_config: .*SGD: {error}"):
        load_model(str(path))


def test_adam_epsilon_and_learning_rate_checked_and_plain_values_kept():
    with pytest.raises(ValueError, match="Adam: epsilon should be a finite number"):
        optimizers.Adam(epsilon=float("nan"))
    with pytest.raises(ValueError, match="Adam: beta_1 should be a finite number"):
        optimizers.Adam(beta_1=float("inf"))
    opt = optimizers.deserialize({"class_name": "Adam", "config": {"lr": np.float32(0.5), "decay": 0}})
    assert opt.get_config()["lr"] == 0.5 and optimizers.SGD(learning_rate=np.array(0.25))._value("lr") == 0.25


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "-1", "0", "soon", "1e400"])
def test_bad_collective_timeouts_are_refused_before_mpi_starts(monkeypatch, value):
    monkeypatch.setenv("GRAPHFLOW_COLLECTIVE_TIMEOUT", value)
    with pytest.raises(ValueError, match=r"GRAPHFLOW_COLLECTIVE_TIMEOUT must be a (finite )?number of seconds"):
        dist.init()
    assert not dist.is_initialized()
    monkeypatch.delenv("GRAPHFLOW_COLLECTIVE_TIMEOUT")
    with pytest.raises(ValueError, match="from the argument"):
        dist.init(timeout=float(value) if value not in ("soon",) else value)


@pytest.fixture
def as_root_with_open_mpi(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(launch, "find_mpirun", lambda: "/opt/openmpi/bin/mpirun")
    monkeypatch.setattr(launch, "_is_open_mpi", lambda path: True)
    for name in ("OMPI_ALLOW_RUN_AS_ROOT", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", launch.ALLOW_ROOT_VARIABLE):
        monkeypatch.delenv(name, raising=False)


def test_the_launcher_runs_ranks_as_root_only_when_asked(as_root_with_open_mpi, monkeypatch, capsys):
    with pytest.raises(PermissionError, match="runs as root.*allow_root=True.*--allow-run-as-root"):
        launch.command(2, ["train.py"])
    with pytest.raises(SystemExit) as exit_:
        launch.main(["-n", "2", "train.py"])
    assert exit_.value.code == 2 and "GRAPHFLOW_MPI_ALLOW_ROOT=1" in capsys.readouterr().err
    argv, env = launch.command(2, ["train.py"], allow_root=True)
    assert env["OMPI_ALLOW_RUN_AS_ROOT"] == env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] == "1"
    assert "running the MPI ranks as root" in capsys.readouterr().err
    monkeypatch.setenv(launch.ALLOW_ROOT_VARIABLE, "1")
    assert launch.command(2, ["train.py"])[1]["OMPI_ALLOW_RUN_AS_ROOT"] == "1"
    monkeypatch.delenv(launch.ALLOW_ROOT_VARIABLE)
    assert "as root" in capsys.readouterr().err
    monkeypatch.setenv("OMPI_ALLOW_RUN_AS_ROOT", "1")  # the user's own setting is theirs
    monkeypatch.setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    launch.command(2, ["train.py"])
    assert capsys.readouterr().err == ""


def test_a_user_who_is_not_root_gets_no_consent(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setattr(launch, "find_mpirun", lambda: "/opt/openmpi/bin/mpirun")
    monkeypatch.setattr(launch, "_is_open_mpi", lambda path: True)
    monkeypatch.delenv("OMPI_ALLOW_RUN_AS_ROOT", raising=False)
    assert "OMPI_ALLOW_RUN_AS_ROOT" not in launch.command(2, ["t.py"], allow_root=True)[1]
