"""Fixtures of the nn tests: run a kernel with the NumPy backend's compiled (numba) loops,
or with the ``xp`` path that every backend shares."""
import pytest

from graphflow_numpy import jit


@pytest.fixture(params=["numba", "xp"])
def native(request, monkeypatch):
    if request.param == "xp":
        monkeypatch.setattr(jit, "loops", lambda module: None)
    elif not jit.available():
        pytest.skip("numba is not installed")
    return request.param
