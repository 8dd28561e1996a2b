#!/usr/bin/env bash
# The CuPy backend on a GPU machine, in one go (under 4 minutes on an H200, no network):
#   1. what the machine has (GPU, Python, CuPy, PyTorch);
#   2. installs graphflow offline: pip install --no-deps --no-build-isolation -e .
#      (into a throwaway --prefix, put on PYTHONPATH: the interpreter itself is untouched;
#      where setuptools is too old for that without `wheel`, the documented fallback);
#   3. the backend conformance catalog on `cupy` (every op, gradient, random draw and
#      fused pattern against the NumPy backend), plus the pytest backend tests if pytest
#      is installed;
#   4. the seed note's VGG-like CNN, 20 training steps (batch 32, 100x100x3) on NumPy and
#      on CuPy from the same weights, data and seeds: both loss curves, every dropout mask;
#   5. its training-step and inference time beside PyTorch CUDA eager, and the kernel
#      profile of the step.
# Prints everything it checks; exits 1 if anything failed. GPU_CHECK_UNTIL=N stops after step N.
#
#   bash tests/gpu_check.sh                    # PYTHON=/path/to/python3 to choose the interpreter
#                                              # (default: python3; the dry run: .venv's, if any)
#
# GPU_CHECK_BACKEND=cupy-on-host is a dry run without a GPU (needs g++ and pytest): steps
# 3-5 on the CPU stand-in of the CuPy backend (tests/gpu/cuda_tools.py and host_cupy.py:
# device arrays that are not NumPy's, the CUDA kernels compiled for the CPU) at small
# sizes, and PyTorch on the CPU in step 5 (this interpreter's torch, or that of
# GRAPHFLOW_PEER_VENV / $TMPDIR/graphflow-peer-torch); its times are labelled a dry run.
# docs/backends.md says what the dry run proves and what only a GPU can.
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 2
BACKEND=${GPU_CHECK_BACKEND:-cupy}
# the interpreter: PYTHON when set; for the dry run, the project's .venv (what `make test`
# set up) when there is one; else python3 (on a GPU machine, the one that holds CuPy)
if [ -n "${PYTHON:-}" ]; then
    PY=$PYTHON
elif [ "$BACKEND" = cupy-on-host ] && [ -x "$ROOT/.venv/bin/python" ]; then
    PY=$ROOT/.venv/bin/python
else
    PY=python3
fi
STEPS=${GPU_CHECK_STEPS:-20}
UNTIL=${GPU_CHECK_UNTIL:-5}   # the last step to run (the test suite runs steps 1-2 alone)
FAILED=()
START=$SECONDS

section() { printf '\n=== %s  (%ds)\n' "$*" "$((SECONDS - START))"; }
finish() {
    section "done"
    if [ "${#FAILED[@]}" -gt 0 ]; then
        printf '%d check(s) failed:\n' "${#FAILED[@]}"
        printf '  - %s\n' "${FAILED[@]}"
        exit 1
    fi
    echo "all checks passed"
    exit 0
}
step() {  # step N TITLE: the section, or the end when GPU_CHECK_UNTIL stops before N
    [ "$1" -le "$UNTIL" ] || finish
    section "$1/5 $2"
}
fail() { echo "FAIL: $*"; FAILED+=("$*"); }
have() { command -v "$1" >/dev/null 2>&1; }
limit() {  # limit SECONDS command...: run with a time limit when coreutils' timeout exists
    local seconds=$1
    shift
    if have timeout; then timeout --kill-after=10 "$seconds" "$@"; else "$@"; fi
}

step 1 "the machine"
if have nvidia-smi; then
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || fail "nvidia-smi"
else
    echo "nvidia-smi is not on PATH"
fi
if ! have "$PY"; then
    echo "FAIL: no $PY on PATH (set PYTHON=...)"
    exit 1
fi
"$PY" - <<'EOF' || fail "reading the Python environment"
import importlib, importlib.util, sys
print("python", sys.version.split()[0], sys.executable)
for name in ("numpy", "scipy", "h5py", "networkx", "numba", "setuptools", "pip", "pytest", "cupy", "torch"):
    try:
        mod = importlib.import_module(name)
        print(f"  {name:<11}{getattr(mod, '__version__', '?')}")
    except Exception as exc:
        print(f"  {name:<11}missing ({type(exc).__name__}: {exc})")
sys.path.insert(0, "tests/gpu")
import torch_peer
if importlib.util.find_spec("torch") is None and torch_peer.peer_python():
    print(f"  torch      in the peer interpreter {torch_peer.peer_python()} (step 5 uses it)")
try:
    import cupy
    rt = cupy.cuda.runtime
    print(f"  CUDA runtime {rt.runtimeGetVersion()}, driver {rt.driverGetVersion()}, "
          f"{rt.getDeviceCount()} device(s): {rt.getDeviceProperties(0)['name'].decode()}")
    print(f"  NVRTC {cupy.cuda.nvrtc.getVersion()}, CUPY_TF32={__import__('os').environ.get('CUPY_TF32', 'unset')}")
except Exception as exc:
    print(f"  CuPy cannot reach a GPU: {type(exc).__name__}: {exc}")
EOF

step 2 "install offline: pip install --no-deps --no-build-isolation -e ."
# Into a throwaway prefix of the very interpreter that holds CuPy and torch (a venv made
# from a venv would not see them; --prefix also leaves a system Python untouched), then
# on PYTHONPATH: the prefix's dist-info carries the entry points, the tree the code.
# Below setuptools 70.1 an editable install needs the `wheel` package, which Python's own
# venv (setuptools 65, no wheel) lacks and an offline machine cannot fetch; there the
# documented fallback installs graphflow (docs/backends.md): the tree on PYTHONPATH and a
# dist-info with the entry points. Both ways are checked alike: graphflow imports from
# this tree and every backend entry point of the dist-info loads.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/graphflow-gpu-check.XXXXXX") || exit 2
trap 'rm -rf "$WORK"' EXIT
SITE=$("$PY" -c 'import sys, sysconfig; print(sysconfig.get_path("purelib", vars={"base": sys.argv[1], "platbase": sys.argv[1]}))' "$WORK/prefix")
if limit 300 "$PY" -m pip install --no-index --no-deps --no-build-isolation --ignore-installed \
        --prefix "$WORK/prefix" -e "$ROOT" >"$WORK/pip.log" 2>&1; then
    echo "installed with pip: $(ls -d "$SITE"/graphflow-*.dist-info)"
else
    echo "pip cannot build an editable install with this interpreter's setuptools ($("$PY" -c \
        'import setuptools; print(setuptools.__version__)' 2>/dev/null || echo missing)); from its log:"
    grep -iE "error|wheel" "$WORK/pip.log" | tail -n 4 | sed 's/^/    /'
    echo "installing the documented fallback way: the tree on PYTHONPATH, a dist-info with the entry points"
    "$PY" - "$ROOT" "$SITE" <<'EOF' || { echo "FAIL: could not write the fallback dist-info"; exit 1; }
import pathlib, sys, tomllib
root, site = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
meta = tomllib.loads((root / "pyproject.toml").read_text())["project"]
info = site / f"graphflow-{meta['version']}.dist-info"
info.mkdir(parents=True, exist_ok=True)
(info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: graphflow\nVersion: {meta['version']}\n")
(info / "entry_points.txt").write_text("".join(
    f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in entries.items())
    for group, entries in meta["entry-points"].items()))
(info / "INSTALLER").write_text("tests/gpu_check.sh (the fallback install)\n")
print("  wrote", info)
EOF
fi
export PYTHONPATH="$ROOT:$ROOT/backends:$SITE${PYTHONPATH:+:$PYTHONPATH}"
GPY="$PY"
"$GPY" - "$ROOT" "$SITE" <<'EOF' || { echo "FAIL: graphflow does not import from this tree, or an entry point does not load"; exit 1; }
import importlib.metadata, pathlib, sys
root, site = pathlib.Path(sys.argv[1]).resolve(), pathlib.Path(sys.argv[2]).resolve()
import graphflow as gf
where = pathlib.Path(gf.__file__).resolve()
assert root in where.parents, f"graphflow imports from {where}, not from {root}"
ours = [d for d in importlib.metadata.distributions(path=[str(site)]) if d.metadata["Name"] == "graphflow"]
assert ours, f"no graphflow dist-info in {site}"
eps = [ep for ep in ours[0].entry_points if ep.group == "graphflow.backends"]
assert {ep.name for ep in eps} >= {"numpy", "cupy"}, eps
for ep in eps:
    ep.load()
print(f"graphflow {ours[0].version} imports from {where.parent}; its entry points load: "
      + ", ".join(f"{ep.name} = {ep.value}" for ep in eps))
for info in gf.backends.available():
    print(f"  backend {info.name}: {'available' if info.available else 'unavailable: ' + info.reason}")
EOF
if [ "$BACKEND" = cupy ]; then
    if ! "$GPY" -c 'import sys, graphflow as gf; sys.exit(0 if gf.backends.get_backend("cupy") else 1)'; then
        fail "the cupy backend is not available (see the reason above)"
        printf '\n%d check(s) failed:\n' "${#FAILED[@]}"
        printf '  - %s\n' "${FAILED[@]}"
        exit 1
    fi
fi

step 3 "conformance catalog on $BACKEND (against the NumPy backend)"
limit 240 "$GPY" tests/gpu/run_catalog.py --backend "$BACKEND" || fail "conformance catalog on $BACKEND"
DRY=()
if [ "$BACKEND" != cupy ]; then   # the dry run: also the portable kernels CuPy inherits, on the stand-in's arrays
    limit 240 "$GPY" tests/gpu/run_catalog.py --backend portable-on-host || fail "conformance catalog on portable-on-host"
    DRY=(tests/gpu/test_device_arrays.py)
fi
if "$GPY" -c 'import pytest' 2>/dev/null; then
    echo "pytest: the plugin tests and the hand-checked conformance cases (the catalog ran above)"
    limit 240 "$GPY" -m pytest -q -p no:cacheprovider -rs tests/gpu/test_plugin.py tests/core/test_backends.py \
        ${DRY[@]+"${DRY[@]}"} -k "not catalog and not training" || fail "pytest backend tests"
else
    echo "pytest is not installed: the plain catalog runner above is the conformance check"
fi

step 4 "VGG-like CNN: $STEPS training steps on numpy and on $BACKEND"
SIZE=()
[ "$BACKEND" = cupy ] || SIZE=(--size 24 --batch 8)
limit 300 "$GPY" tests/gpu/vgg_check.py train --steps "$STEPS" --backend "$BACKEND" ${SIZE[@]+"${SIZE[@]}"} \
    || fail "VGG-like CNN: loss curves or dropout masks differ"

step 5 "speed beside PyTorch eager (CUDA; the CPU in a dry run), and the kernel profile"
if [ "$BACKEND" = cupy ]; then
    limit 240 "$GPY" tests/gpu/vgg_check.py speed --steps 30 || fail "timing the VGG-like CNN"
else   # the GPU step's code runs; every number it prints is labelled a dry run
    limit 240 "$GPY" tests/gpu/vgg_check.py speed --steps 3 --backend "$BACKEND" ${SIZE[@]+"${SIZE[@]}"} \
        || fail "the speed check (dry run)"
fi

finish
