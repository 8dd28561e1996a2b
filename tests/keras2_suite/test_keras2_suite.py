"""Keras 2.0.6's own unit tests (core layers, 1-D/2-D/3-D convolution and pooling, locally
connected, merge and wrapper layers, optimizers, callbacks, with its
``keras.utils.test_utils.layer_test``), run against graphflow.keras
by import swap: a ``keras`` package made in a temporary folder maps every ``keras.X`` to
``graphflow.keras.X`` (see shim_init.py). The tests are fetched, never kept here (see
keras2_source.py); without the network (and no cache) this test is skipped and says why.

The suite runs in a pytest subprocess (its ``keras`` must not leak into this process);
the tests listed in selection.EXCLUDED are deselected, every other one must pass. It
imports the graphflow this process imports (its ``PYTHONPATH`` is kept, after the shim).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import keras2_source  # noqa: E402
import selection  # noqa: E402


@pytest.fixture(scope="module")
def keras2_sources():
    try:
        return keras2_source.sources()
    except keras2_source.Unavailable as err:
        pytest.skip(f"Keras 2.0.6's tests are not available here: {err}")


def _run(test_utils, root, tmp_path):
    shim = tmp_path / "shim" / "keras"
    shim.mkdir(parents=True)
    shutil.copy(HERE / "shim_init.py", shim / "__init__.py")
    files = [f for f in selection.FILES if (root / f).is_file()]
    work = tmp_path / "work"
    for f in files:  # a copy, so pytest's rootdir (and conftest lookup) is ours alone
        (work / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(root / f, work / f)
    (work / "pytest.ini").write_text("[pytest]\n")
    path = os.pathsep.join(p for p in (str(shim.parent), os.environ.get("PYTHONPATH", "")) if p)
    env = dict(os.environ, PYTHONPATH=path, GRAPHFLOW_KERAS2_TEST_UTILS=str(test_utils),
               HOME=str(tmp_path))  # Keras code must not read the user's ~/.keras/keras.json
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
           "--junitxml", str(tmp_path / "report.xml"), *files]
    for test_id in selection.EXCLUDED:
        cmd += ["--deselect", test_id]
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=600)
    return files, done, time.perf_counter() - start


def _counts(report):
    suite = ET.parse(report).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    return {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}


@pytest.mark.slow
def test_keras2_own_tests_pass(keras2_sources, tmp_path):
    test_utils, root = keras2_sources
    files, done, seconds = _run(test_utils, root, tmp_path)
    assert files, f"none of {selection.FILES} is in {root}"
    counts = _counts(tmp_path / "report.xml")
    print(f"Keras 2.0.6 tests: {files}: {counts} in {seconds:.1f} s")
    assert done.returncode == 0 and counts["failures"] == counts["errors"] == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert counts["tests"] - counts["skipped"] > 0


def test_every_exclusion_is_documented():
    text = (HERE.parents[1] / "docs" / "keras.md").read_text()
    missing = [t for t in selection.EXCLUDED if t.split("::")[1] not in text]
    assert not missing, f"docs/keras.md does not list these excluded Keras 2.0.6 tests: {missing}"
