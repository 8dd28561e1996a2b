"""gf.nn.lstm_cell (the LSTM step's point-wise part as one op): shape and dtype inference
and its errors, values against NumPy for both gates on fresh random data (float32 and
float64), the float64 finite-difference gradient, and the same values on the CuPy
backend's host path when it is installed."""
import numpy as np
import pytest

import graphflow as gf
from graphflow.testing import verify_grad

GATES = {"sigmoid": lambda x: 1 / (1 + np.exp(-x)), "hard_sigmoid": lambda x: np.clip(0.2 * x + 0.5, 0, 1)}


def reference(z, c, gate):
    s, u = GATES[gate], c.shape[-1]
    i, f, g, o = s(z[..., :u]), s(z[..., u:2 * u]), np.tanh(z[..., 2 * u:3 * u]), s(z[..., 3 * u:])
    c_new = f * c + i * g
    return o * np.tanh(c_new), c_new


def test_inference_keeps_unknown_batches_and_explains_mismatches():
    h, c = gf.nn.lstm_cell(gf.placeholder((None, 12)), gf.placeholder((5, 3)))
    assert h.shape == c.shape == (5, 3) and h.dtype == c.dtype == "float32"
    with pytest.raises(gf.GraphError, match="four gates"):
        gf.nn.lstm_cell(gf.placeholder((None, 10)), gf.placeholder((None, 3)))
    with pytest.raises(gf.GraphError, match="one dtype"):
        gf.nn.lstm_cell(gf.placeholder((2, 8)), gf.placeholder((2, 2), "float64"))
    with pytest.raises(gf.GraphError, match="gate must be"):
        gf.nn.lstm_cell(gf.placeholder((2, 8)), gf.placeholder((2, 2)), "relu")


@pytest.mark.parametrize("gate", sorted(GATES))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_values_match_numpy(gate, dtype):
    rng = np.random.default_rng()  # fresh data each run
    z = (rng.standard_normal((4, 3, 20)) * 3).astype(dtype)
    c = rng.standard_normal((4, 3, 5)).astype(dtype)
    zs, cs = gf.placeholder(z.shape, dtype), gf.placeholder(c.shape, dtype)
    got = gf.function([zs, cs], list(gf.nn.lstm_cell(zs, cs, gate)))(z, c)
    tol = 1e-6 if dtype == "float32" else 1e-13
    for a, b in zip(got, reference(z.astype(np.float64), c.astype(np.float64), gate)):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=tol * 10, atol=tol)


@pytest.mark.parametrize("gate", sorted(GATES))
def test_gradient_matches_finite_differences(gate):
    rng = np.random.default_rng(1)
    z = rng.standard_normal((3, 8)) * 2
    z[np.abs(0.2 * z) > 0.45] *= 0.5  # keep hard_sigmoid's kinks away from the probe points
    c = rng.standard_normal((3, 2))

    def fn(z, c):
        h, c_new = gf.nn.lstm_cell(z, c, gate)
        return gf.sum(h * h) + gf.sum(c_new * gf.constant(np.arange(6.0).reshape(3, 2)))
    verify_grad(fn, [z, c])
    verify_grad(lambda z, c: gf.sum(gf.nn.lstm_cell(z, c, gate)[0]), [z, c])  # c unused: a zero gradient in


def test_cupy_backend_agrees_when_installed():
    pytest.importorskip("cupy")
    rng = np.random.default_rng(2)
    z, c = rng.standard_normal((2, 8)).astype("float32"), rng.standard_normal((2, 2)).astype("float32")
    zs, cs = gf.placeholder(z.shape), gf.placeholder(c.shape)
    loss = gf.sum(gf.nn.lstm_cell(zs, cs)[0])
    outs = [loss] + gf.grad(loss, [zs, cs])
    cpu = gf.function([zs, cs], outs)(z, c)
    gpu = gf.function([zs, cs], outs, backend="cupy")(z, c)
    for a, b in zip(cpu, gpu):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
