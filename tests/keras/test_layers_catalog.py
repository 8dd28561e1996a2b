"""The rest of Keras 2.0.6's layer catalog: the 3-D family, LocallyConnected1D/2D, Dot and
TimeDistributed. Shapes in both data formats, values against NumPy (Keras 2.0.6's weight
layouts), float64 finite-difference gradients through each layer's graph, and the round
trips a user relies on (config -> from_config; model.save -> load_model)."""
import numpy as np
import pytest

import graphflow as gf
from graphflow.keras import backend as K
from graphflow.keras.layers import (AveragePooling3D, Conv2D, Conv3D, Conv3DTranspose, Cropping3D, Dense, Dot, Dropout,
                                    GlobalAveragePooling3D, GlobalMaxPooling3D, Input, LocallyConnected1D,
                                    LocallyConnected2D, MaxPooling3D, SpatialDropout3D, TimeDistributed, UpSampling3D,
                                    ZeroPadding3D, dot)
from graphflow.keras.models import Model, Sequential, load_model
from graphflow.testing import verify_grad

CF, CL = "channels_first", "channels_last"


def in_format(shape, fmt):
    """A channels_last shape (batch, ..., channels) in ``fmt``."""
    return shape if fmt == CL else (shape[0], shape[-1]) + tuple(shape[1:-1])


def to_last(a, fmt):
    return a if fmt == CL else np.moveaxis(a, 1, -1)


# (factory(fmt), channels_last input shape, expected channels_last output shape)
CASES = {
    "conv3d_same_strided": (lambda f: Conv3D(3, (2, 3, 2), strides=(2, 1, 2), padding="same", data_format=f),
                            (2, 3, 4, 5, 2), (2, 2, 4, 3, 3)),
    "conv3d_dilated": (lambda f: Conv3D(2, 2, dilation_rate=(1, 2, 1), data_format=f, activation="tanh"),
                       (2, 3, 4, 3, 2), (2, 2, 2, 2, 2)),
    "conv3d_transpose": (lambda f: Conv3DTranspose(2, (2, 3, 2), strides=(2, 1, 2), padding="same", data_format=f),
                         (2, 2, 3, 2, 3), (2, 4, 3, 4, 2)),
    "max_pooling3d": (lambda f: MaxPooling3D((2, 2, 1), padding="same", data_format=f), (2, 3, 4, 3, 2),
                      (2, 2, 2, 3, 2)),
    "average_pooling3d": (lambda f: AveragePooling3D(2, strides=1, data_format=f), (2, 3, 3, 4, 2), (2, 2, 2, 3, 2)),
    "global_max_pooling3d": (lambda f: GlobalMaxPooling3D(data_format=f), (2, 2, 3, 2, 3), (2, 3)),
    "global_average_pooling3d": (lambda f: GlobalAveragePooling3D(data_format=f), (2, 2, 3, 2, 3), (2, 3)),
    "upsampling3d": (lambda f: UpSampling3D((1, 2, 3), data_format=f), (2, 2, 2, 2, 1), (2, 2, 4, 6, 1)),
    "zero_padding3d": (lambda f: ZeroPadding3D(((1, 0), 2, (0, 1)), data_format=f), (2, 2, 2, 2, 1),
                       (2, 3, 6, 3, 1)),
    "cropping3d": (lambda f: Cropping3D(((1, 0), (0, 1), 1), data_format=f), (2, 3, 3, 4, 1), (2, 2, 2, 2, 1)),
    "locally_connected2d": (lambda f: LocallyConnected2D(3, (2, 3), strides=(2, 1), data_format=f),
                            (2, 5, 5, 2), (2, 2, 3, 3)),
}


def _call_with(layer, x, weights, owner=None):
    """The layer's graph on ``x`` with its weights (attributes of ``owner``, by default the
    layer itself) replaced by the tensors ``weights``."""
    owner, saved = owner or layer, {}
    for attr, value in list(vars(owner).items()):
        for w, t in zip(layer.weights, weights):
            if value is w:
                saved[attr] = value
                setattr(owner, attr, t)
    assert len(saved) == len(layer.weights)
    try:
        return layer.call(x)
    finally:
        for attr, value in saved.items():
            setattr(owner, attr, value)


@pytest.mark.parametrize("fmt", [CL, CF])
@pytest.mark.parametrize("name", sorted(CASES))
def test_shapes_gradients_and_round_trips(name, fmt, tmp_path):
    make, in_shape, out_shape = CASES[name]
    x = np.random.default_rng(0).uniform(-1, 1, in_format(in_shape, fmt)).astype("float32")
    layer = make(fmt)
    inp = Input(shape=x.shape[1:])
    out = layer(inp)
    want = (None,) + in_format(out_shape, fmt)[1:] if len(out_shape) > 2 else (None,) + out_shape[1:]
    assert out.shape == want
    model = Model(inp, out)
    y = model.predict(x)
    assert y.shape == (2,) + want[1:]
    if layer.weights:
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


@pytest.mark.parametrize("fmt", [CL, CF])
def test_conv3d_layer_values_and_weight_layout(fmt):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 3, 4, 2)).astype("float32")
    layer = Conv3D(3, (2, 2, 3), data_format=fmt, bias_initializer="uniform")
    inp = Input(shape=in_format(x.shape, fmt)[1:])
    got = to_last(Model(inp, layer(inp)).predict(in_format(x, fmt) if fmt == CL else np.moveaxis(x, -1, 1)), fmt)
    kernel, bias = layer.get_weights()
    assert kernel.shape == (2, 2, 3, 2, 3)
    want = np.zeros((2, 3, 2, 2, 3))
    for i, j, k in np.ndindex(3, 2, 2):
        want[:, i, j, k] = np.einsum("ndhwc,dhwcf->nf", x[:, i:i + 2, j:j + 2, k:k + 3], kernel) + bias
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_3d_resizing_and_pooling_values():
    x = np.random.default_rng(2).standard_normal((2, 4, 2, 4, 3)).astype("float32")
    cases = [(UpSampling3D((2, 1, 2)), np.repeat(np.repeat(x, 2, 1), 2, 3)),
             (ZeroPadding3D(1), np.pad(x, ((0, 0), (1, 1), (1, 1), (1, 1), (0, 0)))),
             (Cropping3D(((1, 2), (0, 1), (1, 0))), x[:, 1:2, 0:1, 1:]),
             (MaxPooling3D(2), x.reshape(2, 2, 2, 1, 2, 2, 2, 3).max((2, 4, 6))),
             (AveragePooling3D(2), x.reshape(2, 2, 2, 1, 2, 2, 2, 3).mean((2, 4, 6))),
             (GlobalMaxPooling3D(), x.max((1, 2, 3))), (GlobalAveragePooling3D(), x.mean((1, 2, 3)))]
    for layer, want in cases:
        inp = Input(shape=x.shape[1:])
        np.testing.assert_allclose(Model(inp, layer(inp)).predict(x), want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("fmt", [CL, CF])
def test_spatial_dropout3d_drops_whole_channels_while_training_only(fmt):
    x = np.ones(in_format((4, 3, 3, 3, 6), fmt), "float32")
    model = Sequential([SpatialDropout3D(0.5, data_format=fmt, input_shape=x.shape[1:])])
    model.compile("sgd", "mse")
    np.testing.assert_array_equal(model.predict(x), x)
    f = K.function([model.input, K.learning_phase()], [model.output])
    y = to_last(f([x, 1])[0], fmt)
    per_channel = y.reshape(4, -1, 6)
    assert np.all(per_channel.min(1) == per_channel.max(1))  # one draw per (sample, channel)
    assert set(np.unique(per_channel)) == {0.0, 2.0}


def _local2d_reference(x, kernel, bias, ksize, strides, fmt):
    """Keras 2.0.6's local_conv2d + bias_add, written out in NumPy (channels_last x)."""
    (kh, kw), (sr, sc) = ksize, strides
    rows, cols = bias.shape[:2]
    out = np.zeros((x.shape[0], rows, cols, kernel.shape[2]))
    for i, j in np.ndindex(rows, cols):
        patch = x[:, i * sr:i * sr + kh, j * sc:j * sc + kw, :]
        flat = patch.reshape(x.shape[0], -1) if fmt == CL else patch.transpose(0, 3, 1, 2).reshape(x.shape[0], -1)
        out[:, i, j] = flat @ kernel[i * cols + j]
    if fmt == CL:
        return out + bias
    return np.moveaxis(out, -1, 1) + bias.reshape(1, bias.shape[2], rows, cols)  # 2.0.6's reshape, in NCHW


@pytest.mark.parametrize("fmt", [CL, CF])
def test_locally_connected2d_matches_keras_2_0_6_layout(fmt):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 5, 4, 3)).astype("float32")
    layer = LocallyConnected2D(2, (2, 3), strides=(2, 1), data_format=fmt, bias_initializer="uniform")
    feed = x if fmt == CL else np.moveaxis(x, -1, 1)
    inp = Input(shape=feed.shape[1:])
    got = Model(inp, layer(inp)).predict(feed)
    kernel, bias = layer.get_weights()
    assert kernel.shape == (2 * 2, 2 * 3 * 3, 2) and bias.shape == (2, 2, 2)
    np.testing.assert_allclose(got, _local2d_reference(x, kernel, bias, (2, 3), (2, 1), fmt), rtol=1e-5, atol=1e-5)


def test_locally_connected1d_values_gradients_and_refusals():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 7, 2))
    layer = LocallyConnected1D(4, 3, strides=2, bias_initializer="uniform")
    inp = Input(shape=(7, 2))
    got = Model(inp, layer(inp)).predict(x.astype("float32"))
    kernel, bias = layer.get_weights()
    assert kernel.shape == (3, 6, 4) and bias.shape == (3, 4)
    want = np.stack([x[:, 2 * t:2 * t + 3].reshape(3, -1) @ kernel[t] for t in range(3)], 1) + bias
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    verify_grad(lambda xs, k, b: _call_with(layer, xs, (k, b)), [x, kernel.astype(float), bias.astype(float)])
    with pytest.raises(ValueError, match="only \"valid\" is supported"):
        LocallyConnected1D(2, 3, padding="same")
    with pytest.raises(ValueError, match="must be known"):
        LocallyConnected1D(2, 3)(Input(shape=(None, 2)))


@pytest.mark.parametrize("axes, shapes, normalize", [
    (1, [(4,), (4,)], False), (-1, [(4,), (4,)], True), ((1, 2), [(5, 3), (4, 5)], False),
    ((2, 2), [(3, 4), (2, 4)], True), (1, [(3, 2), (3,)], False)])
def test_dot_matches_numpy_and_differentiates(axes, shapes, normalize):
    rng = np.random.default_rng(5)
    a, b = (rng.standard_normal((2,) + s) for s in shapes)
    ins = [Input(shape=s) for s in shapes]
    layer = Dot(axes, normalize=normalize)
    out = layer(ins)
    got = Model(ins, out).predict([a.astype("float32"), b.astype("float32")])
    ax = [axes] * 2 if isinstance(axes, int) else list(axes)
    ax = [v % len(s) if v < 0 else v for v, s in zip(ax, [a.shape, b.shape])]
    if normalize:
        a, b = a / np.linalg.norm(a, axis=ax[0], keepdims=True), b / np.linalg.norm(b, axis=ax[1], keepdims=True)
    want = np.stack([np.tensordot(a[i], b[i], (ax[0] - 1, ax[1] - 1)) for i in range(2)])
    want = want.reshape(2, -1) if want.ndim == 1 else want
    assert out.shape == (None,) + want.shape[1:]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    verify_grad(lambda p, q: layer.call([p, q]), [a, b])
    assert Dot.from_config(layer.get_config()).get_config()["axes"] == layer.get_config()["axes"]


def test_dot_refuses_what_keras_refuses():
    with pytest.raises(ValueError, match="Dimension incompatibility 4 != 3"):
        Dot(1)([Input((4,)), Input((3,))])
    with pytest.raises(ValueError, match="list of 2 inputs"):
        Dot(1)([Input((4,))] * 3)
    with pytest.raises(TypeError, match="Invalid type for `axes`"):
        Dot("1")
    a, b = Input((3,)), Input((3,))
    assert dot([a, b], axes=1).shape == (None, 1)


def test_time_distributed_applies_one_layer_to_every_step_with_shared_weights(tmp_path):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 5, 4)).astype("float32")
    model = Sequential([TimeDistributed(Dense(2, kernel_regularizer="l2"), input_shape=(5, 4)),
                        TimeDistributed(Dropout(0.5))])
    kernel, bias = model.get_weights()
    assert [w.name for w in model.layers[0].weights] == [model.layers[0].layer.name + "/kernel",
                                                         model.layers[0].layer.name + "/bias"]
    np.testing.assert_allclose(model.predict(x), x @ kernel + bias, rtol=1e-5, atol=1e-6)
    model.compile("sgd", "mse")
    assert len(model.layers[0].get_losses_for(None)) == 1  # the inner layer's penalty counts
    model.fit(x, rng.standard_normal((3, 5, 2)).astype("float32"), epochs=1, verbose=0)
    assert not np.allclose(model.get_weights()[0], kernel)
    model.save(str(tmp_path / "td.h5"))
    again = load_model(str(tmp_path / "td.h5"))
    assert type(again.layers[0].layer).__name__ == "Dense"
    np.testing.assert_allclose(again.predict(x), model.predict(x), rtol=1e-6)


def test_time_distributed_conv2d_and_unknown_steps():
    rng = np.random.default_rng(7)
    clips = rng.standard_normal((2, 3, 6, 6, 1)).astype("float32")
    inp = Input(shape=(None, 6, 6, 1))
    conv = Conv2D(2, 3)
    out = TimeDistributed(conv)(inp)
    assert out.shape == (None, None, 4, 4, 2)
    got = Model(inp, out).predict(clips)
    frame = Input(shape=(6, 6, 1))
    per_frame = Model(frame, conv(frame))
    want = np.stack([per_frame.predict(clips[:, t]) for t in range(3)], 1)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    td = TimeDistributed(Dense(2))
    td(Input(shape=(3, 4)))
    verify_grad(lambda c, k, b: gf.sum(_call_with(td, c, (k, b), owner=td.layer) ** 2),
                [rng.standard_normal((2, 3, 4))] + [w.astype(float) for w in td.get_weights()])


def test_a_call_with_training_true_keeps_dropout_on_in_every_graph():
    """Keras 2.0.6's wrappers_test idiom: `TimeDistributed(Dropout(.999))(x, training=True)`
    drops even when predicting (the call's own phase wins over the graph's)."""
    x = Input(shape=(3, 2))
    model = Model(x, TimeDistributed(Dropout(0.999, seed=3))(x, training=True))
    y = model.predict(np.ones((10, 3, 2), "float32"))
    assert np.count_nonzero(y) < 6 and model.get_config()["layers"][1]["inbound_nodes"][0][0][3] == {"training": True}
    again = Model.from_config(model.get_config())
    assert np.count_nonzero(again.predict(np.ones((10, 3, 2), "float32"))) < 6


def test_a_keras_2_0_6_theano_file_loads_with_conv3d_and_wrapped_conv2d_kernels_flipped(tmp_path):
    """Keras 2.0.x's layout (a list-shaped Sequential config) written with h5py: 2.0.6 flips
    the kernels of Conv3D and of a Conv2D inside TimeDistributed when the file's backend
    (Theano: true convolution) is not the reader's."""
    import json

    import h5py
    model = Sequential([TimeDistributed(Conv2D(2, (2, 3)), input_shape=(3, 4, 5, 1), name="td"),
                        Conv3D(1, (2, 2, 2), name="c3")])
    rng = np.random.default_rng(8)
    weights = [rng.standard_normal(w.shape).astype("float32") for w in model.get_weights()]
    layers = [{"class_name": type(layer).__name__, "config": layer.get_config()} for layer in model.layers]
    path = tmp_path / "keras206_theano.h5"
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"], f.attrs["backend"] = b"2.0.6", b"theano"
        f.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": layers}).encode()
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = [b"td", b"c3"]
        g.attrs["keras_version"], g.attrs["backend"] = b"2.0.6", b"theano"
        for name, inner, values in (("td", model.layers[0].layer.name, weights[:2]), ("c3", "c3", weights[2:])):
            group = g.create_group(name)
            names = [f"{inner}/kernel:0".encode(), f"{inner}/bias:0".encode()]
            group.attrs["weight_names"] = names
            for n, v in zip(names, values):
                group.create_dataset(n.decode(), data=v)
    loaded = load_model(str(path))
    assert [type(layer).__name__ for layer in loaded.layers] == ["TimeDistributed", "Conv3D"]
    flipped = [weights[0][::-1, ::-1], weights[1], weights[2][::-1, ::-1, ::-1], weights[3]]
    for got, want in zip(loaded.get_weights(), flipped):
        np.testing.assert_array_equal(got, want)
    model.set_weights(flipped)
    x = rng.standard_normal((2, 3, 4, 5, 1)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x), model.predict(x), rtol=1e-6)
