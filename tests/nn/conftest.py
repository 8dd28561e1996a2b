"""Fixtures of the nn tests: run a kernel with the NumPy backend's numba loops, or with
the ``xp`` path that every backend shares."""
import pytest

from graphflow_numpy.kernels import _jit


@pytest.fixture(params=["numba", "xp"])
def native(request, monkeypatch):
    if request.param == "xp":
        monkeypatch.setattr(_jit, "loops", lambda name: None)
    elif _jit.numba_module() is None:
        pytest.skip(f"numba unavailable: {_jit.numba_reason()}")
    return request.param
