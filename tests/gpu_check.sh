#!/usr/bin/env bash
# The CuPy backend on a GPU machine, in one go (under 4 minutes on an H200, no network):
#   1. what the machine has (GPU, Python, CuPy, PyTorch);
#   2. installs graphflow offline: pip install --no-deps --no-build-isolation -e .
#      (into a throwaway --prefix, put on PYTHONPATH: the interpreter itself is untouched);
#   3. the backend conformance catalog on `cupy` (every op, gradient, random draw and
#      fused pattern against the NumPy backend), plus the pytest backend tests if pytest
#      is installed;
#   4. the seed note's VGG-like CNN, 20 training steps (batch 32, 100x100x3) on NumPy and
#      on CuPy from the same weights, data and seeds: both loss curves, every dropout mask;
#   5. its training-step and inference time beside PyTorch CUDA eager, and the kernel
#      profile of the step.
# Prints everything it checks; exits 1 if anything failed.
#
#   bash tests/gpu_check.sh                    # PYTHON=/path/to/python3 to choose the interpreter
#
# GPU_CHECK_BACKEND=cupy-on-host runs steps 3-4 on the CPU stand-in of the CuPy backend
# (tests/gpu/cuda_tools.py; needs g++ and pytest): a dry run of this script without a GPU.
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 2
PY=${PYTHON:-python3}
BACKEND=${GPU_CHECK_BACKEND:-cupy}
STEPS=${GPU_CHECK_STEPS:-20}
FAILED=()
START=$SECONDS

section() { printf '\n=== %s  (%ds)\n' "$*" "$((SECONDS - START))"; }
fail() { echo "FAIL: $*"; FAILED+=("$*"); }
have() { command -v "$1" >/dev/null 2>&1; }
limit() {  # limit SECONDS command...: run with a time limit when coreutils' timeout exists
    local seconds=$1
    shift
    if have timeout; then timeout --kill-after=10 "$seconds" "$@"; else "$@"; fi
}

section "1/5 the machine"
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
import importlib, sys
print("python", sys.version.split()[0], sys.executable)
for name in ("numpy", "scipy", "h5py", "networkx", "numba", "setuptools", "pip", "pytest", "cupy", "torch"):
    try:
        mod = importlib.import_module(name)
        print(f"  {name:<11}{getattr(mod, '__version__', '?')}")
    except Exception as exc:
        print(f"  {name:<11}missing ({type(exc).__name__}: {exc})")
try:
    import cupy
    rt = cupy.cuda.runtime
    print(f"  CUDA runtime {rt.runtimeGetVersion()}, driver {rt.driverGetVersion()}, "
          f"{rt.getDeviceCount()} device(s): {rt.getDeviceProperties(0)['name'].decode()}")
    print(f"  NVRTC {cupy.cuda.nvrtc.getVersion()}, CUPY_TF32={__import__('os').environ.get('CUPY_TF32', 'unset')}")
except Exception as exc:
    print(f"  CuPy cannot reach a GPU: {type(exc).__name__}: {exc}")
EOF

section "2/5 install offline: pip install --no-deps --no-build-isolation -e ."
# Into a throwaway prefix of the very interpreter that holds CuPy and torch (a venv made
# from a venv would not see them; --prefix also leaves a system Python untouched), then
# on PYTHONPATH: the prefix's dist-info carries the entry points, the tree the code.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/graphflow-gpu-check.XXXXXX") || exit 2
trap 'rm -rf "$WORK"' EXIT
SITE=$("$PY" -c 'import sys, sysconfig; print(sysconfig.get_path("purelib", vars={"base": sys.argv[1], "platbase": sys.argv[1]}))' "$WORK/prefix")
if limit 300 "$PY" -m pip install --no-index --no-deps --no-build-isolation --ignore-installed \
        --prefix "$WORK/prefix" -e "$ROOT"; then
    echo "installed: $(ls -d "$SITE"/graphflow-*.dist-info)"
else
    fail "pip install --no-deps --no-build-isolation -e . (needs pip, setuptools >= 64 and, below setuptools 70.1, wheel)"
    echo "carrying on from the source tree with a dist-info that holds the entry points"
    "$PY" - "$ROOT" "$SITE" <<'EOF' || { echo "FAIL: could not make the fallback dist-info"; exit 1; }
import pathlib, sys, tomllib
root, site = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
meta = tomllib.loads((root / "pyproject.toml").read_text())["project"]
info = site / f"graphflow-{meta['version']}.dist-info"
info.mkdir(parents=True, exist_ok=True)
(info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: graphflow\nVersion: {meta['version']}\n")
(info / "entry_points.txt").write_text("".join(
    f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in entries.items())
    for group, entries in meta["entry-points"].items()))
EOF
fi
export PYTHONPATH="$ROOT:$ROOT/backends:$SITE${PYTHONPATH:+:$PYTHONPATH}"
GPY="$PY"
"$GPY" - "$BACKEND" <<'EOF' || { echo "FAIL: graphflow does not import"; exit 1; }
import sys, graphflow as gf, graphflow_cupy
print("graphflow from", gf.__file__)
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

section "3/5 conformance catalog on $BACKEND (against the NumPy backend)"
limit 240 "$GPY" tests/gpu/run_catalog.py --backend "$BACKEND" || fail "conformance catalog on $BACKEND"
if "$GPY" -c 'import pytest' 2>/dev/null; then
    echo "pytest: the plugin tests and the hand-checked conformance cases (the catalog ran above)"
    limit 240 "$GPY" -m pytest -q -p no:cacheprovider -rs tests/gpu/test_plugin.py tests/core/test_backends.py \
        -k "not catalog and not training" || fail "pytest backend tests"
else
    echo "pytest is not installed: the plain catalog runner above is the conformance check"
fi

section "4/5 VGG-like CNN: $STEPS training steps on numpy and on $BACKEND"
SIZE=()
[ "$BACKEND" = cupy ] || SIZE=(--size 24 --batch 8)
limit 300 "$GPY" tests/gpu/vgg_check.py train --steps "$STEPS" --backend "$BACKEND" ${SIZE[@]+"${SIZE[@]}"} \
    || fail "VGG-like CNN: loss curves or dropout masks differ"

section "5/5 speed beside PyTorch CUDA eager, and the kernel profile"
if [ "$BACKEND" = cupy ]; then
    limit 240 "$GPY" tests/gpu/vgg_check.py speed --steps 30 || fail "timing the VGG-like CNN"
else
    echo "skipped: timing needs the real cupy backend"
fi

section "done"
if [ "${#FAILED[@]}" -gt 0 ]; then
    printf '%d check(s) failed:\n' "${#FAILED[@]}"
    printf '  - %s\n' "${FAILED[@]}"
    exit 1
fi
echo "all checks passed"
