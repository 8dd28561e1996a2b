"""conv2d_transpose: shape/dtype inference, values against the adjoint of a direct-loop
conv2d reference, float64 finite-difference gradients, and errors."""
import numpy as np
import pytest

import graphflow as gf
from graphflow.testing import verify_grad

from test_conv import nchw, ref_conv


def ref_transpose(y, k, strides, padding, data_format, out_hw):
    """The adjoint of ref_conv: x = sum over one-hot x of <conv(e, k), y> e."""
    n = y.shape[0]
    c = k.shape[2]
    x_shape = nchw((n, *out_hw, c), data_format)
    flat = np.zeros(int(np.prod(x_shape)))
    for i in range(flat.size):
        e = np.zeros_like(flat)
        e[i] = 1.0
        flat[i] = np.sum(ref_conv(e.reshape(x_shape), k, strides, padding, data_format) * y)
    return flat.reshape(x_shape)


CASES = [  # (y hw, kernel hw, strides, padding, expected output hw)
    ((3, 4), (3, 3), (1, 1), "valid", (5, 6)),
    ((3, 4), (3, 3), (2, 2), "valid", (7, 9)),
    ((3, 4), (2, 2), (3, 3), "valid", (9, 12)),   # kernel smaller than the stride
    ((3, 4), (3, 3), (2, 2), "same", (6, 8)),
    ((3, 3), (2, 3), (1, 2), "same", (3, 6)),
]


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("hw,khw,strides,padding,out_hw", CASES)
def test_values_are_the_adjoint_of_conv2d(data_format, hw, khw, strides, padding, out_hw):
    rng = np.random.default_rng(0)
    y = rng.standard_normal(nchw((2, *hw, 3), data_format))
    k = rng.standard_normal((*khw, 2, 3))  # (rows, cols, filters=2, in=3)
    ys = gf.placeholder((None,) + y.shape[1:], "float64")
    out = gf.nn.conv2d_transpose(ys, gf.constant(k), strides, padding, data_format)
    assert out.shape == (None,) + nchw((1, *out_hw, 2), data_format)[1:] and out.dtype == "float64"
    got = gf.function([ys], out)(y)
    np.testing.assert_allclose(got, ref_transpose(y, k, strides, padding, data_format, out_hw),
                               rtol=1e-10, atol=1e-10)


def test_float32_and_unknown_spatial_dims():
    rng = np.random.default_rng(1)
    ys = gf.placeholder((None, None, 4, 3))
    kernel = rng.standard_normal((3, 3, 5, 3)).astype(np.float32)
    out = gf.nn.conv2d_transpose(ys, gf.constant(kernel), 2, "same")
    assert out.shape == (None, None, 8, 5) and out.dtype == "float32"
    y = rng.standard_normal((1, 3, 4, 3)).astype(np.float32)
    got = gf.function([ys], out)(y)
    want = ref_transpose(y.astype(np.float64), kernel.astype(np.float64), (2, 2), "same", "channels_last", (6, 8))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("strides,padding", [((1, 1), "valid"), ((2, 2), "same"), ((2, 1), "valid")])
def test_verify_grad(data_format, strides, padding):
    rng = np.random.default_rng(2)
    y = rng.standard_normal(nchw((2, 3, 3, 2), data_format))
    k = rng.standard_normal((2, 3, 3, 2))
    verify_grad(lambda a, b: gf.nn.conv2d_transpose(a, b, strides, padding, data_format), [y, k])


def test_errors():
    with pytest.raises(gf.GraphError, match=r"input channels 3 != the kernel's last axis 4"):
        gf.nn.conv2d_transpose(gf.placeholder((None, 5, 5, 3)), gf.placeholder((3, 3, 2, 4)))
    with pytest.raises(gf.GraphError, match=r"4-D"):
        gf.nn.conv2d_transpose(gf.placeholder((5, 5, 3)), gf.placeholder((3, 3, 2, 3)))
    with pytest.raises(gf.GraphError, match=r"padding must be"):
        gf.nn.conv2d_transpose(gf.placeholder((1, 5, 5, 3)), gf.placeholder((3, 3, 2, 3)), padding="full")
