"""graphflow.keras layers: output shapes (both data formats, both paddings), numerics
against NumPy references written from the Keras 2 formulas, initialisers and naming."""
import numpy as np
import pytest

import graphflow as gf
from graphflow.keras import backend as K
from graphflow.keras import initializers
from graphflow.keras.layers import (Activation, Add, AveragePooling2D, BatchNormalization, Concatenate, Conv2D,
                                    Dense, Dropout, Flatten, GlobalAveragePooling2D, GlobalMaxPooling2D, Input,
                                    Lambda, MaxPooling2D, Permute, Reshape, ZeroPadding2D, deserialize)
from graphflow.keras.models import Model, Sequential

def run(layer, x, training=False):
    """The layer's output on array ``x`` (phase graph built by replaying the model)."""
    inp = Input(batch_shape=(None,) + x.shape[1:])
    model = Model(inp, layer(inp))
    outputs, updates, _ = model.build_phase(training)
    return gf.function([inp.tensor], outputs[0], updates=updates)(x)


def conv_ref(x, k, stride=(1, 1), padding="valid"):
    """Cross-correlation, NHWC, TF-style 'same' (extra pad bottom/right)."""
    n, h, w, c = x.shape
    kh, kw, _, o = k.shape
    if padding == "same":
        oh, ow = -(-h // stride[0]), -(-w // stride[1])
        ph = max((oh - 1) * stride[0] + kh - h, 0)
        pw = max((ow - 1) * stride[1] + kw - w, 0)
        x = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    else:
        oh, ow = (h - kh) // stride[0] + 1, (w - kw) // stride[1] + 1
    y = np.zeros((n, oh, ow, o))
    for i in range(oh):
        for j in range(ow):
            patch = x[:, i * stride[0]:i * stride[0] + kh, j * stride[1]:j * stride[1] + kw, :]
            y[:, i, j, :] = np.tensordot(patch, k, axes=([1, 2, 3], [0, 1, 2]))
    return y


@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
@pytest.mark.parametrize("padding, strides, expect", [("valid", 1, (5, 3)), ("same", 1, (7, 5)),
                                                      ("valid", 2, (3, 2)), ("same", 2, (4, 3))])
def test_conv2d_shapes_and_values(fmt, padding, strides, expect, rng):
    x = rng.normal(size=(2, 7, 5, 3)).astype("float32")
    layer = Conv2D(4, (3, 3), strides=strides, padding=padding, data_format=fmt, bias_initializer="ones")
    feed = x if fmt == "channels_last" else x.transpose(0, 3, 1, 2)
    y = run(layer, feed)
    inp_shape = (None,) + feed.shape[1:]
    want_shape = (None,) + expect + (4,) if fmt == "channels_last" else (None, 4) + expect
    assert layer.output_shape == want_shape and layer.input_shape == inp_shape
    kernel = layer.get_weights()[0]
    assert kernel.shape == (3, 3, 3, 4)  # Keras layout in both formats
    ref = conv_ref(x.astype(np.float64), kernel, (strides, strides), padding) + 1.0
    got = y if fmt == "channels_last" else y.transpose(0, 2, 3, 1)
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cls, reduce", [(MaxPooling2D, np.max), (AveragePooling2D, np.mean)])
@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
def test_pooling_valid_drops_remainder(cls, reduce, fmt, rng):
    x = rng.normal(size=(2, 7, 7, 3)).astype("float32")
    feed = x if fmt == "channels_last" else x.transpose(0, 3, 1, 2)
    layer = cls(pool_size=(2, 2), data_format=fmt)
    y = run(layer, feed)
    got = y if fmt == "channels_last" else y.transpose(0, 2, 3, 1)
    assert got.shape == (2, 3, 3, 3)
    ref = reduce(x[:, :6, :6, :].reshape(2, 3, 2, 3, 2, 3), axis=(2, 4))
    np.testing.assert_allclose(got, ref, rtol=1e-6)
    assert layer.strides == (2, 2) and layer.count_params() == 0


def test_pooling_same_and_strides(rng):
    layer = MaxPooling2D((3, 3), strides=(2, 2), padding="same")
    y = run(layer, rng.normal(size=(1, 7, 5, 2)).astype("float32"))
    assert y.shape == (1, 4, 3, 2) and layer.output_shape == (None, 4, 3, 2)
    avg = AveragePooling2D((2, 2), padding="same")
    x = np.ones((1, 3, 3, 1), "float32")
    # a 'same' window at the border averages its real cells only
    np.testing.assert_allclose(run(avg, x), np.ones((1, 2, 2, 1)))


def test_global_pooling_and_zero_padding(rng):
    x = rng.normal(size=(2, 4, 5, 3)).astype("float32")
    np.testing.assert_allclose(run(GlobalAveragePooling2D(), x), x.mean(axis=(1, 2)), rtol=1e-5)
    np.testing.assert_allclose(run(GlobalMaxPooling2D(data_format="channels_first"), x), x.max(axis=(2, 3)))
    pad = ZeroPadding2D(((1, 2), (0, 1)))
    y = run(pad, x)
    assert y.shape == (2, 7, 6, 3) and pad.output_shape == (None, 7, 6, 3)
    np.testing.assert_array_equal(y[:, 1:5, 0:5, :], x)
    assert y[:, 0].sum() == 0 and y[:, 5:].sum() == 0 and y[:, :, 5].sum() == 0
    y = run(ZeroPadding2D(1, data_format="channels_first"), x)
    assert y.shape == (2, 4, 7, 5)


def test_dense_values_rank3_and_activations(rng):
    x = rng.normal(size=(4, 3, 5)).astype("float32")
    layer = Dense(2, activation="tanh", input_shape=(3, 5))
    y = run(layer, x)
    w, b = layer.get_weights()
    assert w.shape == (5, 2) and layer.output_shape == (None, 3, 2)
    np.testing.assert_allclose(y, np.tanh(x @ w + b), rtol=1e-5, atol=1e-6)
    x2 = np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]], "float32")
    e = np.exp(x2[1] - 3)
    np.testing.assert_allclose(run(Activation("softmax"), x2), [[1, 0, 0], e / e.sum()], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(run(Activation("relu"), x2), np.maximum(x2, 0))
    np.testing.assert_allclose(run(Activation("hard_sigmoid"), x2[1:]), np.clip(0.2 * x2[1:] + 0.5, 0, 1))


def test_flatten_reshape_permute_lambda_concat_add(rng):
    x = rng.normal(size=(2, 3, 4, 5)).astype("float32")
    np.testing.assert_array_equal(run(Flatten(), x), x.reshape(2, -1))
    np.testing.assert_array_equal(run(Flatten(data_format="channels_first"), x), x.transpose(0, 2, 3, 1).reshape(2, -1))
    r = Reshape((-1, 5))
    np.testing.assert_array_equal(run(r, x), x.reshape(2, 12, 5))
    assert r.output_shape == (None, 12, 5)
    np.testing.assert_array_equal(run(Permute((3, 1, 2)), x), x.transpose(0, 3, 1, 2))
    np.testing.assert_allclose(run(Lambda(lambda t: t * 2.0), x), 2 * x)
    a, b = Input(shape=(3,)), Input(shape=(2,))
    cat = Concatenate()([a, b])
    summed = Add()([a, a])
    f = gf.function([a.tensor, b.tensor], [cat.tensor, summed.tensor])
    xa, xb = np.ones((2, 3), "float32"), np.zeros((2, 2), "float32")
    got_cat, got_sum = f(xa, xb)
    assert cat.shape == (None, 5) and got_cat.shape == (2, 5) and (got_sum == 2).all()
    with pytest.raises(ValueError, match="matching shapes except for the concat axis"):
        Concatenate(axis=1)([Input(shape=(3, 2)), Input(shape=(3, 4))])
    with pytest.raises(ValueError, match="broadcast"):
        Add()([a, b])


def test_dropout_train_only_inverted():
    x = np.ones((200, 50), "float32")
    layer = Dropout(0.25, seed=3)
    np.testing.assert_array_equal(run(layer, x, training=False), x)
    y = run(Dropout(0.25, seed=3), x, training=True)
    kept = y != 0
    assert 0.70 < kept.mean() < 0.80
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)
    assert Dropout(1.5).rate == 1.0  # clipped; rate 1 is the identity, as Keras 2
    np.testing.assert_array_equal(run(Dropout(1.0), x, training=True), x)


def test_batchnorm_training_inference_and_updates(rng):
    x = rng.normal(2.0, 3.0, size=(16, 4)).astype("float32")
    bn = BatchNormalization(momentum=0.9, epsilon=1e-3)
    y = run(bn, x, training=True)  # the phase function applies the moving-average updates
    mean, var = x.mean(0), x.var(0)
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-3), rtol=1e-4, atol=1e-5)
    gamma, beta, mm, mv = bn.get_weights()
    np.testing.assert_allclose(mm, 0.1 * mean, rtol=1e-5)
    np.testing.assert_allclose(mv, 0.9 + 0.1 * var, rtol=1e-5)
    assert [w.name.split("/")[-1] for w in bn.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert len(bn.trainable_weights) == 2 and len(bn.non_trainable_weights) == 2
    y_inf = run(bn, x, training=False)
    np.testing.assert_allclose(y_inf, (x - mm) / np.sqrt(mv + 1e-3) * gamma + beta, rtol=1e-4, atol=1e-5)


def test_batchnorm_channels_first_axis(rng):
    x = rng.normal(size=(3, 2, 4, 4)).astype("float32")
    bn = BatchNormalization(axis=1)
    y = run(bn, x, training=True)
    mean, var = x.mean((0, 2, 3), keepdims=True), x.var((0, 2, 3), keepdims=True)
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-3), rtol=1e-4, atol=1e-4)
    assert bn.get_weights()[2].shape == (2,)


def test_glorot_and_he_fans():
    w = initializers.get("glorot_uniform")((3, 3, 16, 32))
    limit = np.sqrt(6 / (3 * 3 * 16 + 3 * 3 * 32))
    assert w.dtype == np.float32 and np.abs(w).max() <= limit and np.abs(w).max() > 0.9 * limit
    d = initializers.he_normal(seed=1)((400, 300))
    assert abs(d.std() - np.sqrt(2 / 400) * 0.8796) < 0.002  # truncated at 2 sigma
    assert np.abs(d).max() <= 2 * np.sqrt(2 / 400) + 1e-6
    u = initializers.lecun_uniform(seed=0)((1000, 10))
    assert np.abs(u).max() <= np.sqrt(3 / 1000)
    np.testing.assert_array_equal(initializers.get("zeros")((2,)), [0, 0])
    np.testing.assert_array_equal(initializers.Constant(3)((2,)), [3, 3])
    vs = initializers.VarianceScaling(2.0, "fan_out", "uniform", seed=0)((10, 50))
    assert np.abs(vs).max() <= np.sqrt(3 * 2 / 50)
    assert initializers.get({"class_name": "RandomUniform", "config": {"minval": 1, "maxval": 2}})((5,)).min() >= 1


def test_seeded_initializers_are_reproducible():
    a = initializers.glorot_normal(seed=5)((4, 4))
    np.testing.assert_array_equal(a, initializers.glorot_normal(seed=5)((4, 4)))
    np.random.seed(11)
    d1 = Dense(3, input_dim=4)
    Sequential([d1])
    np.random.seed(11)
    d2 = Dense(3, input_dim=4)
    Sequential([d2])
    np.testing.assert_array_equal(d1.get_weights()[0], d2.get_weights()[0])


def test_names_auto_increment_and_keras_weight_names():
    K.reset_uids()
    m = Sequential([Conv2D(2, 3, input_shape=(5, 5, 1)), Conv2D(2, 3), Flatten(), Dense(2)])
    assert [layer.name for layer in m.layers] == ["conv2d_1", "conv2d_2", "flatten_1", "dense_1"]
    assert m.layers[0].weight_names[0].startswith("conv2d_1/kernel") and m.layers[0].weight_names[0].endswith(":0")
    assert m.input_layers[0].name == "conv2d_1_input"


def test_layer_argument_errors():
    with pytest.raises(TypeError, match="Keyword argument not understood"):
        Dense(3, bogus=1)
    assert Dense(3, input_shape=784).batch_input_shape == (None, 784)  # an int is accepted
    assert Dense(3, input_dim=7, batch_size=8).batch_input_shape == (8, 7)
    with pytest.raises(ValueError, match="padding"):
        Conv2D(2, 3, padding="full")
    with pytest.raises(ValueError, match="expected ndim=4, found ndim=2"):
        Conv2D(2, 3)(Input(shape=(5,)))
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 3"):
        d = Dense(2)
        d(Input(shape=(3,)))
        d(Input(shape=(4,)))
    with pytest.raises(TypeError, match="isn't a symbolic tensor"):
        Dense(2)(np.ones((2, 3)))


def test_layer_config_round_trip():
    layer = Conv2D(8, (3, 5), strides=2, padding="same", kernel_regularizer="l2", name="c")
    config = layer.get_config()
    assert config["kernel_size"] == (3, 5) and config["kernel_initializer"]["class_name"] == "VarianceScaling"
    again = deserialize({"class_name": "Conv2D", "config": config})
    assert again.get_config() == config
    bn = BatchNormalization(momentum=0.5, name="b")
    assert deserialize({"class_name": "BatchNormalization", "config": bn.get_config()}).momentum == 0.5
    with pytest.raises(ValueError, match="Unknown layer: Mystery"):
        deserialize({"class_name": "Mystery", "config": {}})
