"""tests/gpu_check.sh's dry run, in part and small, in the test suite: its install step
with this interpreter's setuptools, and its speed step (step 5) on the CPU stand-in, beside
PyTorch on the CPU when an interpreter with torch is at hand. (Steps 3 and 4 run small in
test_on_host.py and in the conformance suite's ``cupy-on-host`` column.)"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

import cuda_tools
import torch_peer

ROOT = Path(__file__).resolve().parents[2]
pytestmark = cuda_tools.needs_cxx


def _pip_can_install_editable() -> bool:
    """Whether this interpreter's setuptools builds an editable install offline: 64 or
    later, and the ``wheel`` package below 70.1 (Python 3.11's venv: 65, no wheel; 3.12's:
    no setuptools at all)."""
    if importlib.util.find_spec("setuptools") is None:
        return False
    import setuptools
    version = tuple(int(p) for p in setuptools.__version__.split(".")[:2])
    return version >= (70, 1) or (version >= (64, 0) and importlib.util.find_spec("wheel") is not None)


def test_the_install_step_passes_with_this_pythons_setuptools():
    """Step 2 with this interpreter, as a CI machine has it: pip's editable install, or
    where its setuptools cannot build one (below 70.1 without ``wheel``: Python 3.11's own
    venv) the documented fallback; either way graphflow imports from the tree and its
    entry points load, and the step does not fail."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(GPU_CHECK_UNTIL="2", GPU_CHECK_BACKEND=cuda_tools.HOST, PYTHON=sys.executable)
    proc = subprocess.run(["bash", str(ROOT / "tests" / "gpu_check.sh")], capture_output=True, text=True,
                          env=env, timeout=300)
    out = proc.stdout
    assert proc.returncode == 0 and "all checks passed" in out and "FAIL" not in out, out + proc.stderr
    assert f"imports from {ROOT / 'graphflow'}" in out and "cupy = graphflow_cupy:CupyBackend" in out
    if _pip_can_install_editable():
        assert "installed with pip" in out
    else:
        assert "installing the documented fallback way" in out and "wrote" in out


@pytest.fixture
def on_host(monkeypatch):
    return cuda_tools.use_host_backend(monkeypatch)


def test_the_speed_step_runs_on_the_stand_in_labelled_a_dry_run(on_host, capsys, monkeypatch):
    """Step 5's code (device feeds, ``call_on_device``, events, the profile) on device
    arrays that are not NumPy's; every number it prints says it is a dry run."""
    import vgg_check
    assert vgg_check.main(["speed", "--steps", "1", "--backend", cuda_tools.HOST, "--size", "16", "--batch", "4"]) == 0
    out = capsys.readouterr().out
    timed = [line for line in out.splitlines() if " ms" in line and "profile of" not in line and
             not line.startswith("  ")]
    assert timed and all(line.startswith("DRY RUN") for line in timed), out
    assert "kernel-type profile" in out and "conv2d" in out
    if torch_peer.peer_python() or importlib.util.find_spec("torch"):
        assert "ratio graphflow-cupy-on-host / PyTorch cpu" in out, out
    else:
        assert "PyTorch not available" in out
