"""compile / fit / evaluate / predict: a full small run, the loss with sample and class
weights, losses and metrics against NumPy, phases (dropout, batch norm), generators,
and the error messages for wrong data."""
import numpy as np
import pytest

import graphflow as gf
from graphflow.keras import losses, metrics
from graphflow.keras.callbacks import LambdaCallback
from graphflow.keras.layers import BatchNormalization, Dense, Dropout, Input
from graphflow.keras.models import Model, Sequential
from graphflow.keras.optimizers import SGD, Adam
from graphflow.keras.regularizers import l2

def blobs(n=120, classes=3, dim=4, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.eye(classes, dim) * 4.0
    labels = rng.integers(0, classes, n)
    x = (centers[labels] + rng.normal(0, 0.5, (n, dim))).astype("float32")
    return x, np.eye(classes, dtype="float32")[labels], labels


def classifier(dim=4, classes=3, dropout=0.0):
    model = Sequential()
    model.add(Dense(16, activation="relu", input_shape=(dim,)))
    if dropout:
        model.add(Dropout(dropout))
    model.add(Dense(classes, activation="softmax"))
    return model


def test_fit_evaluate_predict_full_run():
    np.random.seed(0)
    x, y, labels = blobs()
    model = classifier()
    model.compile(optimizer=Adam(lr=0.02), loss="categorical_crossentropy", metrics=["accuracy"])
    assert model.metrics_names == ["loss", "acc"]
    history = model.fit(x, y, batch_size=16, epochs=8, verbose=0, validation_split=0.25)
    assert history.epoch == list(range(8))
    assert sorted(history.history) == ["acc", "loss", "val_acc", "val_loss"]
    assert history.params["samples"] == 90 and history.params["do_validation"]
    assert history.params["metrics"] == ["loss", "acc", "val_loss", "val_acc"]
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss, acc = model.evaluate(x, y, batch_size=50, verbose=0)
    assert isinstance(loss, float) and acc > 0.9
    probs = model.predict(x, batch_size=7)
    assert probs.shape == (120, 3) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(1), 1, rtol=1e-5)
    assert (probs.argmax(1) == labels).mean() == pytest.approx(acc, abs=1e-6)
    np.testing.assert_array_equal(model.predict_classes(x), probs.argmax(1))
    np.testing.assert_allclose(model.predict_on_batch(x[:5]), probs[:5], rtol=1e-6)
    # with no metrics compiled, evaluate returns one float
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    assert isinstance(model.evaluate(x, y, verbose=0), float)


def test_train_on_batch_reports_loss_before_update():
    x, y, _ = blobs(32)
    model = classifier()
    model.compile(SGD(lr=0.1), "categorical_crossentropy", metrics=["acc"])
    before = model.test_on_batch(x, y)
    reported = model.train_on_batch(x, y)
    np.testing.assert_allclose(reported, before, rtol=1e-5)
    assert model.test_on_batch(x, y)[0] < before[0]


def _cce(y, p):
    p = p / p.sum(-1, keepdims=True)
    return -(y * np.log(np.clip(p, 1e-7, 1 - 1e-7))).sum(-1)


def test_weighted_loss_sample_and_class_weights(rng):
    x, y, labels = blobs(20)
    model = classifier()
    model.compile("sgd", "categorical_crossentropy")
    per_sample = _cce(y, model.predict(x).astype(np.float64))
    w = rng.uniform(0, 2, 20).astype("float32")
    w[:5] = 0
    got = model.evaluate(x, y, batch_size=20, sample_weight=w, verbose=0)
    np.testing.assert_allclose(got, (per_sample * w).mean() / (w != 0).mean(), rtol=1e-5)
    cw = {0: 1.0, 1: 3.0, 2: 0.5}
    f_weights = np.array([cw[c] for c in labels])
    loss = model.train_on_batch(x, y, class_weight=cw)
    np.testing.assert_allclose(loss, (per_sample * f_weights).mean(), rtol=1e-5)


def test_regularization_penalty_is_added():
    model = Sequential([Dense(2, input_dim=3, kernel_regularizer=l2(0.1), bias_initializer="ones")])
    model.compile("sgd", "mse")
    x = np.zeros((4, 3), "float32")
    y = np.ones((4, 2), "float32")  # output == bias == 1, so the data loss is 0
    kernel = model.get_weights()[0]
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), 0.1 * (kernel ** 2).sum(), rtol=1e-5)


def test_dropout_only_in_the_train_function():
    x, y, _ = blobs(64)
    model = classifier(dropout=0.5)
    model.compile(SGD(lr=0.0), "categorical_crossentropy")
    test_loss = model.test_on_batch(x, y)
    train_losses = {round(model.train_on_batch(x, y), 6) for _ in range(3)}
    assert len(train_losses) == 3 and test_loss not in train_losses  # fresh masks each step
    np.testing.assert_array_equal(model.predict(x), model.predict(x))
    assert test_loss == pytest.approx(model.test_on_batch(x, y))


def test_batchnorm_moving_statistics_follow_fit(rng):
    x = rng.normal(5.0, 2.0, (64, 3)).astype("float32")
    model = Sequential([BatchNormalization(momentum=0.5, input_shape=(3,)), Dense(1)])
    model.compile(SGD(lr=0.0), "mse")
    model.fit(x, np.zeros((64, 1)), batch_size=64, epochs=6, verbose=0)
    moving_mean = model.layers[0].get_weights()[2]
    np.testing.assert_allclose(moving_mean, x.mean(0) * (1 - 0.5 ** 6), rtol=1e-4)


@pytest.mark.parametrize("name, ref", [
    ("mse", lambda t, p: ((p - t) ** 2).mean(-1)),
    ("mae", lambda t, p: np.abs(p - t).mean(-1)),
    ("mean_absolute_percentage_error", lambda t, p: 100 * (np.abs(t - p) / np.clip(np.abs(t), 1e-7, None)).mean(-1)),
    ("msle", lambda t, p: ((np.log(np.clip(p, 1e-7, None) + 1) - np.log(np.clip(t, 1e-7, None) + 1)) ** 2).mean(-1)),
    ("hinge", lambda t, p: np.maximum(1 - t * p, 0).mean(-1)),
    ("squared_hinge", lambda t, p: (np.maximum(1 - t * p, 0) ** 2).mean(-1)),
    ("categorical_crossentropy", _cce),
    ("binary_crossentropy", lambda t, p: -(t * np.log(np.clip(p, 1e-7, 1 - 1e-7))
                                           + (1 - t) * np.log(1 - np.clip(p, 1e-7, 1 - 1e-7))).mean(-1)),
    ("kld", lambda t, p: (np.clip(t, 1e-7, 1) * np.log(np.clip(t, 1e-7, 1) / np.clip(p, 1e-7, 1))).sum(-1)),
    ("poisson", lambda t, p: (p - t * np.log(p + 1e-7)).mean(-1)),
    ("logcosh", lambda t, p: np.log(np.cosh(p - t)).mean(-1)),
])
def test_losses_match_numpy(name, ref, rng):
    t = rng.uniform(0.05, 1, (6, 4))
    p = rng.uniform(0.05, 1, (6, 4))
    tt, pp = gf.placeholder((None, 4), "float64"), gf.placeholder((None, 4), "float64")
    got = gf.function([tt, pp], losses.get(name)(tt, pp))(t, p)
    np.testing.assert_allclose(got, ref(t, p), rtol=1e-6)


def test_sparse_crossentropy_and_metrics(rng):
    p = rng.dirichlet(np.ones(5), 8).astype("float32")
    labels = rng.integers(0, 5, 8)
    onehot = np.eye(5, dtype="float32")[labels]
    tt, pp = gf.placeholder((None, 1)), gf.placeholder((None, 5))
    oh = gf.placeholder((None, 5))
    f = gf.function([tt, oh, pp], [losses.sparse_categorical_crossentropy(tt, pp),
                                   metrics.sparse_categorical_accuracy(tt, pp),
                                   metrics.categorical_accuracy(oh, pp),
                                   metrics.top_k_categorical_accuracy(oh, pp, k=2)])
    sparse, sacc, cacc, top2 = f(labels[:, None].astype("float32"), onehot, p)
    np.testing.assert_allclose(sparse, -np.log(p[np.arange(8), labels]), rtol=1e-5)
    np.testing.assert_array_equal(sacc, p.argmax(1) == labels)
    np.testing.assert_array_equal(cacc, p.argmax(1) == labels)
    in_top2 = (p > p[np.arange(8), labels][:, None]).sum(1) < 2
    assert top2 == pytest.approx(in_top2.mean())
    bt, bp = gf.placeholder((None, 1)), gf.placeholder((None, 1))
    bacc = gf.function([bt, bp], metrics.binary_accuracy(bt, bp))
    np.testing.assert_array_equal(bacc(np.array([[1.0], [0.0], [0.0], [1.0]]), np.array([[0.7], [0.5], [0.6], [0.2]])),
                                  [1, 1, 0, 0])  # 0.5 rounds to 0 (half to even)


@pytest.mark.parametrize("loss, units, expect", [
    ("categorical_crossentropy", 3, metrics.categorical_accuracy),
    ("binary_crossentropy", 3, metrics.binary_accuracy),
    ("mse", 1, metrics.binary_accuracy),
    ("sparse_categorical_crossentropy", 3, metrics.sparse_categorical_accuracy),
])
def test_accuracy_resolution_as_keras2(loss, units, expect):
    model = Sequential([Dense(units, activation="sigmoid", input_dim=2)])
    model.compile("sgd", loss, metrics=["accuracy"])
    assert model._metric_lists[0] == [("acc", expect)] and model.metrics_names == ["loss", "acc"]


def test_sparse_labels_fit_with_1d_targets():
    x, _, labels = blobs(60)
    model = classifier()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["acc"])
    history = model.fit(x, labels, epochs=3, batch_size=20, verbose=0)
    assert len(history.history["acc"]) == 3


def test_multi_output_functional_model():
    inp = Input(shape=(4,))
    hidden = Dense(8, activation="relu")(inp)
    a = Dense(3, activation="softmax", name="a")(hidden)
    b = Dense(1, name="b")(hidden)
    model = Model(inputs=inp, outputs=[a, b])
    model.compile("sgd", loss={"a": "categorical_crossentropy", "b": "mse"}, loss_weights=[1.0, 0.5],
                  metrics=["accuracy"])
    assert model.metrics_names == ["loss", "a_loss", "b_loss", "a_acc", "b_acc"]
    x, y, _ = blobs(10)
    target_b = np.zeros((10, 1), "float32")
    total, la, lb, *_ = model.evaluate(x, [y, target_b], verbose=0)
    np.testing.assert_allclose(total, la + 0.5 * lb, rtol=1e-5)
    pa, pb = model.predict(x)
    np.testing.assert_allclose(lb, (pb ** 2).mean(), rtol=1e-5)


def test_generators_fit_evaluate_predict():
    x, y, _ = blobs(48)

    def batches():
        while True:
            for i in range(0, 48, 16):
                yield x[i:i + 16], y[i:i + 16]
    model = classifier()
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    seen = []
    history = model.fit_generator(batches(), steps_per_epoch=3, epochs=2, verbose=0,
                                  validation_data=(x, y), callbacks=[LambdaCallback(
                                      on_batch_end=lambda batch, logs: seen.append(logs["size"]))])
    assert seen == [16] * 6 and "val_acc" in history.history
    history = model.fit(batches(), steps_per_epoch=3, epochs=1, verbose=0)  # Keras 3 spelling
    assert len(history.history["loss"]) == 1
    loss, acc = model.evaluate_generator(batches(), steps=3)
    np.testing.assert_allclose([loss, acc], model.evaluate(x, y, verbose=0), rtol=1e-5)
    np.testing.assert_allclose(model.predict_generator(batches(), steps=3), model.predict(x), rtol=1e-6)
    with pytest.raises(ValueError, match="steps_per_epoch"):
        model.fit_generator(iter([]), epochs=1)


def test_errors_name_the_layer_and_shapes():
    model = classifier()
    model.compile("sgd", "categorical_crossentropy")
    name = model.input_layers[0].name
    with pytest.raises(ValueError, match=rf"expected {name} to have shape \(None, 4\) but got array with shape "
                                         r"\(10, 5\)"):
        model.fit(np.zeros((10, 5)), np.zeros((10, 3)), verbose=0)
    with pytest.raises(ValueError, match=rf"expected {name} to have 2 dimensions, but got array with shape"):
        model.predict(np.zeros((10, 4, 1)))
    out = model.layers[-1].name
    with pytest.raises(ValueError, match=rf"expected {out} to have shape \(None, 3\)"):
        model.fit(np.zeros((10, 4)), np.zeros((10, 2)), verbose=0)
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy"):
        model.fit(np.zeros((10, 4)), np.zeros((10, 1)), verbose=0)
    with pytest.raises(ValueError, match="Found 10 input samples and 9 target samples"):
        model.fit(np.zeros((10, 4)), np.zeros((9, 3)), verbose=0)
    with pytest.raises(RuntimeError, match="compile"):
        classifier().fit(np.zeros((2, 4)), np.zeros((2, 3)))
    with pytest.raises(TypeError, match="Unrecognized keyword"):
        model.fit(np.zeros((2, 4)), np.zeros((2, 3)), epoch=3)


def test_errors_for_images_explain_the_fix():
    from graphflow.keras.layers import Conv2D
    model = Sequential([Conv2D(2, (3, 3), input_shape=(8, 8, 1))])
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match=r"expected conv2d_\d+_input to have 4 dimensions, but got array with shape "
                                         r"\(3, 8, 8\)\. Add the channel axis: x = x\[\.\.\., np\.newaxis\]"):
        model.predict(np.zeros((3, 8, 8)))
    with pytest.raises(gf.GraphError, match="the input looks channels_first: pass data_format='channels_first'"):
        Sequential([Conv2D(4, (3, 3), input_shape=(1, 28, 28)), Conv2D(4, (3, 3))])


def test_fixed_batch_size_and_batch_shuffle():
    model = Sequential([Dense(1, batch_input_shape=(8, 2))])
    model.compile("sgd", "mse")
    x, y = np.random.rand(16, 2), np.random.rand(16, 1)
    assert len(model.fit(x, y, batch_size=8, shuffle="batch", epochs=2, verbose=0).history["loss"]) == 2
    with pytest.raises(ValueError, match="multiple of the batch size"):
        model.fit(x[:10], y[:10], batch_size=8, verbose=0)
    with pytest.raises(ValueError, match=r"expected dense_\d+_input to have shape \(8, 2\)"):
        model.train_on_batch(x[:4], y[:4])
