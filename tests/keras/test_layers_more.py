"""The layers Keras 2 users reach for after the basics: shapes in both data formats,
values against NumPy, float64 finite-difference gradients through the layer's graph, and
the round trips a user relies on (config -> from_config -> same outputs; model.save ->
load_model -> same outputs)."""
import numpy as np
import pytest

import graphflow as gf
from graphflow.keras import backend as K
from graphflow.keras.layers import (ELU, PReLU, Conv1D, Conv2DTranspose, Cropping1D, Cropping2D, Embedding,
                                    GlobalAveragePooling1D, GlobalMaxPooling1D, Input, Lambda, LeakyReLU,
                                    AveragePooling1D, MaxPooling1D, RepeatVector, SeparableConv2D, SpatialDropout2D,
                                    ThresholdedReLU, UpSampling1D, UpSampling2D, ZeroPadding1D, ZeroPadding2D)
from graphflow.keras.models import Model, load_model
from graphflow.testing import verify_grad

CF, CL = "channels_first", "channels_last"


def nchw(shape, fmt):
    """A channels_last shape (batch, ..., channels) in ``fmt``."""
    return shape if fmt == CL else (shape[0], shape[-1]) + tuple(shape[1:-1])


# (factory(fmt), channels_last input shape, expected channels_last output shape)
CASES = {
    "conv2d_transpose_valid": (lambda f: Conv2DTranspose(4, 3, strides=2, data_format=f), (2, 3, 4, 2), (2, 7, 9, 4)),
    "conv2d_transpose_same": (lambda f: Conv2DTranspose(4, (2, 3), strides=(1, 2), padding="same", data_format=f),
                              (2, 3, 4, 2), (2, 3, 8, 4)),
    "separable": (lambda f: SeparableConv2D(5, 3, depth_multiplier=2, data_format=f), (2, 6, 5, 3), (2, 4, 3, 5)),
    "separable_same_strided": (lambda f: SeparableConv2D(2, 3, strides=2, padding="same", data_format=f),
                               (2, 5, 6, 2), (2, 3, 3, 2)),
    "separable_dilated": (lambda f: SeparableConv2D(2, 3, dilation_rate=(2, 1), data_format=f), (2, 7, 6, 3),
                          (2, 3, 4, 2)),  # dilation_rate stays in the config (Keras 2.0.6's layer_test)
    "upsampling2d": (lambda f: UpSampling2D((2, 3), data_format=f), (2, 3, 4, 2), (2, 6, 12, 2)),
    "zero_padding2d": (lambda f: ZeroPadding2D(((1, 0), (2, 3)), data_format=f), (2, 3, 4, 2), (2, 4, 9, 2)),
    "cropping2d": (lambda f: Cropping2D(((1, 0), (2, 1)), data_format=f), (2, 4, 5, 2), (2, 3, 2, 2)),
    "conv1d_causal": (lambda f: Conv1D(3, 3, padding="causal", dilation_rate=2, data_format=f), (2, 7, 2), (2, 7, 3)),
    "conv1d_strided": (lambda f: Conv1D(3, 2, strides=2, data_format=f), (2, 7, 2), (2, 3, 3)),
    "max_pooling1d": (lambda f: MaxPooling1D(2, padding="same", data_format=f), (2, 5, 3), (2, 3, 3)),
    "average_pooling1d": (lambda f: AveragePooling1D(3, strides=1, data_format=f), (2, 5, 3), (2, 3, 3)),
}


@pytest.mark.parametrize("fmt", [CL, CF])
@pytest.mark.parametrize("name", sorted(CASES))
def test_shapes_gradients_and_round_trips(name, fmt, tmp_path):
    make, in_shape, out_shape = CASES[name]
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, nchw(in_shape, fmt)).astype("float32")
    layer = make(fmt)
    inp = Input(shape=x.shape[1:])
    out = layer(inp)
    assert out.shape == (None,) + nchw(out_shape, fmt)[1:]
    model = Model(inp, out)
    y = model.predict(x)
    assert y.shape == nchw(out_shape, fmt)
    if layer.weights:  # each weight differentiates, through the whole layer graph, in float64
        values = [w.get_value().astype(np.float64) for w in layer.weights]
        verify_grad(lambda xs, *ws: _call_with(layer, xs, ws), [x.astype(np.float64)] + values)
    else:
        verify_grad(lambda xs: layer.call(xs), [x.astype(np.float64)])
    again = type(layer).from_config(layer.get_config())
    inp2 = Input(shape=x.shape[1:])
    clone = Model(inp2, again(inp2))
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict(x), y, rtol=1e-6)
    model.compile("sgd", "mse")
    model.save(str(tmp_path / "m.h5"))
    np.testing.assert_allclose(load_model(str(tmp_path / "m.h5")).predict(x), y, rtol=1e-6)


def _call_with(layer, x, weights):
    """The layer's graph on ``x`` with its weights replaced by the tensors ``weights``."""
    saved = {}
    for attr, value in list(vars(layer).items()):
        for w, t in zip(layer.weights, weights):
            if value is w:
                saved[attr] = value
                setattr(layer, attr, t)
    try:
        return layer.call(x)
    finally:
        for attr, value in saved.items():
            setattr(layer, attr, value)


def test_conv2d_transpose_is_the_adjoint_of_conv2d():
    rng = np.random.default_rng(1)
    layer = Conv2DTranspose(2, 3, strides=2, use_bias=False)
    inp = Input(shape=(3, 3, 4))
    model = Model(inp, layer(inp))
    y, x = rng.standard_normal((1, 3, 3, 4)), rng.standard_normal((1, 7, 7, 2))
    kernel = layer.get_weights()[0].astype(np.float64)
    conv = gf.function([], gf.nn.conv2d(gf.constant(x), gf.constant(kernel), 2))()
    lhs = np.sum(model.predict(y.astype("float32")).astype(np.float64) * x)
    np.testing.assert_allclose(lhs, np.sum(y * conv), rtol=1e-4)


def test_causal_conv1d_sees_only_the_past():
    layer = Conv1D(1, 3, padding="causal", dilation_rate=2, kernel_initializer="ones", use_bias=False)
    inp = Input(shape=(10, 1))
    got = Model(inp, layer(inp)).predict(np.arange(10, dtype="float32").reshape(1, 10, 1))
    want = [sum(t - d for d in (0, 2, 4) if t - d >= 0) for t in range(10)]
    np.testing.assert_allclose(got.ravel(), want)


def test_upsampling_padding_cropping_1d_values():
    x = np.arange(12, dtype="float32").reshape(2, 3, 2)
    for layer, want in [(UpSampling1D(2), np.repeat(x, 2, axis=1)),
                        (ZeroPadding1D((1, 2)), np.pad(x, ((0, 0), (1, 2), (0, 0)))),
                        (Cropping1D((1, 1)), x[:, 1:2]),
                        (GlobalMaxPooling1D(), x.max(1)), (GlobalAveragePooling1D(), x.mean(1))]:
        inp = Input(shape=x.shape[1:])
        np.testing.assert_allclose(Model(inp, layer(inp)).predict(x), want)


def test_activations_values_and_gradients():
    x = np.array([[-2.0, -0.5, 0.0, 0.5, 3.0]], "float32")
    cases = [(LeakyReLU(0.1), np.where(x > 0, x, 0.1 * x)), (ELU(0.5), np.where(x > 0, x, 0.5 * np.expm1(x))),
             (ThresholdedReLU(0.4), np.where(x > 0.4, x, 0)), (PReLU(alpha_initializer="ones"), x)]
    for layer, want in cases:
        inp = Input(shape=(5,))
        np.testing.assert_allclose(Model(inp, layer(inp)).predict(x), want, rtol=1e-6)
        verify_grad(lambda t: layer.call(t), [x.astype(np.float64) + 0.01])


def test_prelu_shared_axes():
    layer = PReLU(shared_axes=[1, 2])
    inp = Input(shape=(4, 5, 3))
    layer(inp)
    assert layer.get_weights()[0].shape == (1, 1, 3)


def test_repeat_vector_and_embedding():
    inp = Input(shape=(2,))
    x = np.array([[1.0, 2.0]], "float32")
    np.testing.assert_allclose(Model(inp, RepeatVector(3)(inp)).predict(x), np.repeat(x[:, None], 3, axis=1))
    emb = Embedding(10, 4, input_length=3)
    ids = Input(shape=(3,), dtype="int32")
    model = Model(ids, emb(ids))
    idx = np.array([[0, 9, 9], [3, 2, 1]], "int32")
    np.testing.assert_allclose(model.predict(idx), emb.get_weights()[0][idx])
    assert model.output_shape == (None, 3, 4)
    model.compile("sgd", "mse")
    before = emb.get_weights()[0].copy()
    model.train_on_batch(idx, np.zeros((2, 3, 4), "float32"))
    changed = np.any(emb.get_weights()[0] != before, axis=1)
    assert changed.tolist() == [i in (0, 1, 2, 3, 9) for i in range(10)]  # only the looked-up rows
    assert Embedding(10, 4, mask_zero=True).mask_zero  # masks: tests/keras/test_recurrent_models.py


def test_spatial_dropout_drops_whole_channels():
    layer = SpatialDropout2D(0.5, data_format=CL, seed=3)
    inp = Input(shape=(4, 4, 8))
    model = Model(inp, layer(inp))
    outputs, _, _ = model.build_phase(training=True)
    y = gf.function([inp.tensor], outputs[0])(np.ones((2, 4, 4, 8), "float32"))
    per_channel = y.reshape(2, 16, 8)
    assert np.all(per_channel.min(1) == per_channel.max(1))  # constant over rows and cols
    assert set(np.unique(y)) <= {0.0, 2.0}


def test_lambda_saved_by_name_and_loaded_with_custom_objects(tmp_path):
    def double(t):
        return t * 2.0
    inp = Input(shape=(3,))
    model = Model(inp, Lambda(double)(inp))
    model.compile("sgd", "mse")
    model.save(str(tmp_path / "l.h5"))
    with pytest.raises(ValueError, match=r"custom_objects=\{'double'"):
        load_model(str(tmp_path / "l.h5"))
    again = load_model(str(tmp_path / "l.h5"), custom_objects={"double": double})
    np.testing.assert_allclose(again.predict(np.ones((1, 3), "float32")), [[2.0, 2.0, 2.0]])
    assert K.floatx() == "float32"
