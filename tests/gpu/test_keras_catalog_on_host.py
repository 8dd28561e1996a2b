"""Keras 2.0.6's later layers (the 3-D family, LocallyConnected, Dot, TimeDistributed) on
the CPU stand-in of the CuPy backend: a model using all of them predicts and takes two
training steps with the same results as on the NumPy backend (their ops reach the CuPy
kernels: conv2d, pool2d, matmul, slices, concatenation)."""
from __future__ import annotations

import numpy as np
import pytest

import graphflow as gf
from graphflow.keras.layers import (Conv2D, Conv3D, Dense, Dot, Flatten, GlobalAveragePooling3D, Input,
                                    LocallyConnected1D, LocallyConnected2D, MaxPooling3D, TimeDistributed,
                                    UpSampling3D, ZeroPadding3D, concatenate)
from graphflow.keras.models import Model

import cuda_tools

pytestmark = cuda_tools.needs_cxx
HOST = cuda_tools.HOST


@pytest.fixture
def on_host(monkeypatch):
    return cuda_tools.use_host_backend(monkeypatch, cuda_tools.HostDevice())


def _model(backend, weights=None):
    volume, clip, image = Input((4, 5, 4, 2)), Input((3, 6, 6, 1)), Input((5, 6, 2))
    v = MaxPooling3D((2, 2, 2), padding="same")(Conv3D(3, 2, padding="same", activation="relu")(volume))
    v = GlobalAveragePooling3D(data_format="channels_first")(
        Conv3D(2, 2, data_format="channels_first")(UpSampling3D((1, 1, 2))(ZeroPadding3D(1)(v))))
    c = TimeDistributed(Conv2D(2, 3, activation="tanh"))(clip)                      # (3, 4, 4, 2)
    c = LocallyConnected1D(2, 2)(TimeDistributed(Flatten())(c))                     # (2, 2)
    d = LocallyConnected2D(2, (2, 2), strides=(1, 2))(image)                        # (4, 3, 2)
    joined = concatenate([v, Flatten()(c), Flatten()(d)])
    out = Dense(3)(joined)
    model = Model([volume, clip, image], [out, Dot(1, normalize=True)([out, Dense(3)(joined)])])
    if weights is not None:
        model.set_weights(weights)
    gf.set_default_backend(backend)
    try:
        model.compile("sgd", ["mse", "mse"])
        model.train_function, model.predict_function  # compiled now, for this backend
    finally:
        gf.set_default_backend(None)
    return model


def test_the_new_keras_layers_train_alike_on_the_host_stand_in(on_host):
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal(s).astype("float32") for s in ((4, 4, 5, 4, 2), (4, 3, 6, 6, 1), (4, 5, 6, 2))]
    ys = [rng.standard_normal((4, 3)).astype("float32"), rng.uniform(-1, 1, (4, 1)).astype("float32")]
    ref = _model("numpy")
    weights = ref.get_weights()

    def dry_run():  # records every generated kernel, so they build in one compile
        probe = _model(HOST, weights)
        probe.predict(xs)
        probe.train_on_batch(xs, ys)
    on_host.collect(dry_run)
    dev = _model(HOST, weights)
    assert dev.train_function.backend.name != ref.train_function.backend.name == "numpy"
    for a, b in zip(dev.predict(xs), ref.predict(xs)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for _ in range(2):
        np.testing.assert_allclose(dev.train_on_batch(xs, ys), ref.train_on_batch(xs, ys), rtol=1e-5)
    for a, b in zip(dev.get_weights(), ref.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
