"""conv2d and bias_add: values against a direct-loop reference, shape inference, errors,
and float64 finite-difference gradients (first and second order)."""
import numpy as np
import pytest

import graphflow as gf
from graphflow.testing import verify_grad

from conv_reference import ref_conv


def nchw(shape_nhwc, data_format):
    n, h, w, c = shape_nhwc
    return (n, c, h, w) if data_format == "channels_first" else shape_nhwc


CONFIGS = [  # (input hw, kernel hw, strides, padding, dilation)
    ((6, 7), (3, 3), (1, 1), "valid", (1, 1)),
    ((6, 7), (3, 3), (1, 1), "same", (1, 1)),
    ((5, 6), (2, 2), (1, 1), "same", (1, 1)),  # odd total padding: the extra pixel goes after
    ((7, 8), (3, 2), (2, 2), "same", (1, 1)),
    ((7, 8), (2, 3), (2, 3), "valid", (1, 1)),
    ((8, 7), (3, 3), (1, 1), "same", (2, 2)),
    ((9, 8), (3, 2), (1, 1), "valid", (2, 3)),
    ((5, 5), (1, 1), (2, 2), "valid", (1, 1)),
    ((6, 6), (4, 4), (3, 3), "same", (1, 1)),
]


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("hw,khw,strides,padding,dilation", CONFIGS)
def test_conv2d_matches_direct_loops(data_format, hw, khw, strides, padding, dilation):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(nchw((2, *hw, 3), data_format)).astype(np.float32)
    k = rng.standard_normal((*khw, 3, 4)).astype(np.float32)
    xs = gf.placeholder((None,) + x.shape[1:], name="x")
    y = gf.nn.conv2d(xs, gf.constant(k), strides, padding.upper(), data_format, dilation)
    got = gf.function([xs], y)(x)
    want = ref_conv(x.astype(np.float64), k.astype(np.float64), strides, padding, data_format, dilation)
    assert got.dtype == np.float32 and got.shape == want.shape
    assert y.shape == (None,) + want.shape[1:]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("hw,khw,strides,padding,dilation", CONFIGS[1:7])
def test_conv2d_backprop_matches_reference_vjp(data_format, hw, khw, strides, padding, dilation):
    """dx and dk against the adjoint of the reference: <conv(x, k), dy> differentiated by
    perturbing one-hot directions (exact, since conv is bilinear)."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal(nchw((2, *hw, 2), data_format))
    k = rng.standard_normal((*khw, 2, 3))
    args = (strides, padding, data_format, dilation)
    dy = rng.standard_normal(ref_conv(x, k, *args).shape)
    want_dx = np.array([np.sum(ref_conv(e.reshape(x.shape), k, *args) * dy) for e in np.eye(x.size)])
    want_dk = np.array([np.sum(ref_conv(x, e.reshape(k.shape), *args) * dy) for e in np.eye(k.size)])
    xs, ks, dys = gf.placeholder(x.shape, "float64"), gf.placeholder(k.shape, "float64"), \
        gf.placeholder(dy.shape, "float64")
    y = gf.nn.conv2d(xs, ks, *args)
    gx, gk = gf.gradients([y], [xs, ks], [dys])
    assert isinstance(gx.node.op, gf.nn.Conv2DBackpropInput)
    assert isinstance(gk.node.op, gf.nn.Conv2DBackpropFilter)
    got_dx, got_dk = gf.function([xs, ks, dys], [gx, gk])(x, k, dy)
    np.testing.assert_allclose(got_dx.ravel(), want_dx, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(got_dk.ravel(), want_dk, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("strides,padding,dilation", [((1, 1), "valid", (1, 1)), ((2, 2), "same", (1, 1)),
                                                     ((1, 1), "same", (2, 1))])
def test_conv2d_verify_grad(data_format, strides, padding, dilation):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(nchw((2, 5, 5, 2), data_format))
    k = rng.standard_normal((3, 2, 2, 3))
    verify_grad(lambda a, b: gf.nn.conv2d(a, b, strides, padding, data_format, dilation), [x, k])


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv2d_second_order(data_format):
    """Gradients of the gradient ops: Conv2DBackpropInput / Filter differentiate again."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal(nchw((1, 4, 5, 2), data_format))
    k = rng.standard_normal((2, 3, 2, 2))

    def grads(a, b):
        y = gf.nn.conv2d(a, b, (2, 1), "same", data_format)
        return gf.grad(gf.sum(gf.square(y) * 0.5), [a, b])
    verify_grad(grads, [x, k])


def test_conv2d_shape_inference_with_unknown_dims():
    k = gf.variable(np.zeros((3, 3, 4, 8), "float32"))
    assert gf.nn.conv2d(gf.placeholder((None, 28, 28, 4)), k).shape == (None, 26, 26, 8)
    assert gf.nn.conv2d(gf.placeholder((None, None, 9, 4)), k, 2, "same").shape == (None, None, 5, 8)
    y = gf.nn.conv2d(gf.placeholder((None, 4, 28, None)), k, data_format="channels_first", dilation=2)
    assert y.shape == (None, 8, 24, None) and y.dtype == "float32"
    k64 = gf.constant(np.zeros((3, 3, 4, 8)))
    assert gf.nn.conv2d(gf.placeholder((1, 5, 5, 4)), k64).dtype == "float64"  # promoted as NumPy


def test_conv2d_runs_with_batch_unknown_until_call():
    rng = np.random.default_rng(4)
    k = rng.standard_normal((3, 3, 2, 3)).astype(np.float32)
    xs = gf.placeholder((None, None, None, 2))
    f = gf.function([xs], gf.nn.conv2d(xs, gf.constant(k), padding="same"))
    for shape in [(1, 4, 5, 2), (3, 6, 3, 2)]:
        x = rng.standard_normal(shape).astype(np.float32)
        np.testing.assert_allclose(f(x), ref_conv(x, k, padding="same"), rtol=1e-4, atol=1e-4)


def test_conv2d_error_messages():
    x = gf.placeholder((None, 8, 8, 3))
    with pytest.raises(gf.GraphError, match=r"input channels 3 != kernel input channels 5"):
        gf.nn.conv2d(x, gf.placeholder((3, 3, 5, 2)))
    with pytest.raises(gf.GraphError, match=r"padding must be 'valid' or 'same', got 'full'"):
        gf.nn.conv2d(x, gf.placeholder((3, 3, 3, 2)), padding="full")
    with pytest.raises(gf.GraphError, match=r"data_format must be"):
        gf.nn.conv2d(x, gf.placeholder((3, 3, 3, 2)), data_format="NHWC")
    with pytest.raises(gf.GraphError, match=r"input height length 2 is smaller than the window 3"):
        gf.nn.conv2d(gf.placeholder((None, 2, 8, 3)), gf.placeholder((3, 3, 3, 2)))
    with pytest.raises(gf.GraphError, match=r"4-D"):
        gf.nn.conv2d(gf.placeholder((8, 8, 3)), gf.placeholder((3, 3, 3, 2)))
    with pytest.raises(gf.GraphError, match=r"float dtype"):
        gf.nn.conv2d(gf.placeholder((1, 8, 8, 3), "int32"), gf.placeholder((3, 3, 3, 2), "int32"))
    with pytest.raises(ValueError, match=r"strides must be positive"):
        gf.nn.conv2d(x, gf.placeholder((3, 3, 3, 2)), strides=(0, 1))
    with pytest.raises(gf.GraphError, match=r"test_conv.py"):  # the message says where
        gf.nn.conv2d(x, gf.placeholder((3, 3, 4, 2)))


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_bias_add(data_format):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(nchw((2, 3, 4, 5), data_format)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    xs = gf.placeholder((None,) + x.shape[1:])
    got = gf.function([xs], gf.nn.bias_add(xs, gf.constant(b), data_format))(x)
    want = x + (b if data_format == "channels_last" else b[:, None, None])
    np.testing.assert_allclose(got, want, rtol=1e-6)
    small = x[:1, :3, :3, :3]  # 3 channels on either layout
    verify_grad(lambda a, c: gf.nn.bias_add(a, c, data_format), [small, rng.standard_normal(3)])
    with pytest.raises(gf.GraphError, match=r"bias length 4 != 5 channels"):
        gf.nn.bias_add(xs, gf.constant(np.zeros(4, "float32")), data_format)


def test_small_cnn_gradient_end_to_end():
    """conv -> bias -> relu -> max pool -> 1x1 conv -> global average -> softmax -> loss."""
    rng = np.random.default_rng(6)
    x, y = gf.constant(rng.standard_normal((3, 8, 8, 1))), gf.constant(np.eye(2)[[0, 1, 1]])

    def loss(k1, b1, k2):
        h = gf.nn.max_pool2d(gf.relu(gf.nn.bias_add(gf.nn.conv2d(x, k1, padding="same"), b1)))
        logits = gf.reshape(gf.nn.avg_pool2d(gf.nn.conv2d(h, k2), 4), (-1, 2))
        return gf.mean(gf.nn.categorical_crossentropy(y, gf.nn.softmax(logits)))
    verify_grad(loss, [rng.standard_normal((3, 3, 1, 4)) * 0.3, rng.standard_normal(4) * 0.1,
                       rng.standard_normal((1, 1, 4, 2))])


def test_shapes_known_only_at_run_time_are_checked_there():
    xs = gf.placeholder((None, None, None, None))
    f = gf.function([xs], gf.nn.conv2d(xs, gf.constant(np.zeros((3, 3, 2, 1), "float32"))))
    with pytest.raises(ValueError, match=r"conv2d, made at .*test_conv.py.*input height length 2 is smaller"):
        f(np.zeros((1, 2, 5, 2), np.float32))
    with pytest.raises(ValueError, match=r"input channels 4 != kernel input channels 2"):
        f(np.zeros((1, 5, 5, 4), np.float32))
