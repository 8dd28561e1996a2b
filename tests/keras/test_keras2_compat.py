"""Keras 2 behaviours that its own code and tests rely on: losses that belong to the call
that made them, lazily compiled functions, the backend's K.function and learning phase,
and 2.0.6's defaults and import paths."""
import numpy as np
import pytest

from graphflow.keras import backend as K
from graphflow.keras import callbacks
from graphflow.keras.layers import Dense, Dropout, Input
from graphflow.keras.models import Model, Sequential
from graphflow.keras.regularizers import l1


def _penalised():
    x = Input(shape=(3,))
    dense = Dense(2, activity_regularizer=l1(1.0), kernel_initializer="ones")
    return x, dense, dense(x)


def test_activity_penalty_is_counted_once():
    x, dense, y = _penalised()
    model = Model(x, y)
    model.compile("sgd", "mse")
    # mse = mean(3**2) = 9; penalty = sum |y| over the batch = 2 * 2 * 3 = 12
    assert model.evaluate(np.ones((2, 3), "float32"), np.zeros((2, 2), "float32"), verbose=0) == pytest.approx(21.0)
    assert len(dense.get_losses_for(x)) == 1 and dense.get_losses_for(None) == []


def test_probing_or_reusing_a_penalised_layer_does_not_break_compile():
    x, dense, y = _penalised()
    assert dense.compute_output_shape((None, 3)) == (None, 2)
    other = Input(shape=(3,))
    dense(other)  # a second call, on an input the first model does not have
    model = Model(x, y)
    model.compile("sgd", "mse")
    assert model.evaluate(np.ones((2, 3), "float32"), np.zeros((2, 2), "float32"), verbose=0) == pytest.approx(21.0)
    assert len(dense.losses) == 2  # one per call


def test_compile_builds_functions_on_first_use():
    model = Sequential([Dense(2, input_shape=(3,))])
    model.compile("adam", "mse")
    assert model._functions == {}
    model.predict(np.ones((1, 3), "float32"))
    assert set(model._functions) == {"predict"}
    model.train_on_batch(np.ones((1, 3), "float32"), np.ones((1, 2), "float32"))
    assert set(model._functions) == {"predict", "train"}
    with pytest.raises(ValueError):
        Sequential([Dense(2, input_shape=(3,))]).compile("sgd", "no_such_loss")  # still fails at compile


def test_k_function_with_updates_and_the_learning_phase():
    x = K.placeholder(shape=(None, 3))
    w = K.variable(np.ones((3, 2)))
    f = K.function([x], [K.dot(x, w)], updates=[(w, w * 0.5)])
    np.testing.assert_allclose(f([np.ones((1, 3))])[0], [[3.0, 3.0]])
    np.testing.assert_allclose(K.get_value(w), np.full((3, 2), 0.5))
    inp = Input(shape=(200,))
    out = Dropout(0.5)(inp)
    g = K.function([inp, K.learning_phase()], [out])
    ones = np.ones((1, 200), "float32")
    np.testing.assert_array_equal(g([ones, 0])[0], ones)
    trained = g([ones, 1])[0]
    assert set(np.unique(trained)) == {0.0, 2.0}
    grads = K.gradients(K.sum(K.square(w)), [w])
    np.testing.assert_allclose(K.eval(grads[0]), np.full((3, 2), 1.0))


def test_ones_like_and_zeros_like_ignore_nan():
    v = K.variable([np.nan, np.inf, 1.0])
    np.testing.assert_array_equal(K.eval(K.ones_like(v)), [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(K.eval(K.zeros_like(v)), [0.0, 0.0, 0.0])


def test_sequential_fit_defaults_to_ten_epochs_and_model_fit_to_one():
    x, y = np.ones((4, 3), "float32"), np.ones((4, 1), "float32")
    seq = Sequential([Dense(1, input_shape=(3,))])
    seq.compile("sgd", "mse")
    assert len(seq.fit(x, y, verbose=0).epoch) == 10
    inp = Input(shape=(3,))
    model = Model(inp, Dense(1)(inp))
    model.compile("sgd", "mse")
    assert len(model.fit(x, y, verbose=0).epoch) == 1


def test_fit_generator_gives_callbacks_the_validation_data():
    x, y = np.arange(12, dtype="float32").reshape(4, 3), np.ones((4, 1), "float32")
    model = Sequential([Dense(1, input_shape=(3,))])
    model.compile("sgd", "mse")
    seen = []
    spy = callbacks.LambdaCallback(on_train_end=lambda logs: seen.append(spy.validation_data))

    def batches():
        while True:
            yield x, y
    model.fit(x, y, validation_data=(x, y), callbacks=[spy], epochs=1, verbose=0)
    model.fit_generator(batches(), 1, validation_data=(x, y), callbacks=[spy], verbose=0)
    assert len(seen[0]) == len(seen[1]) == 3
    for a, b in zip(*seen):
        np.testing.assert_array_equal(a, b)


def test_keras2_import_paths():
    from graphflow.keras.engine.topology import Container, InputLayer, InputSpec, Layer  # noqa: F401
    from graphflow.keras.layers.convolutional import MaxPooling2D, UpSampling2D  # noqa: F401
    from graphflow.keras.optimizers import Nadam, deserialize
    from graphflow.keras.utils.generic_utils import has_arg
    assert has_arg(Dense.__init__, "units") and not has_arg(Dense.__init__, "weights")
    assert has_arg(Dense.__init__, "weights", accept_all=True)
    config = {"class_name": "NADAM", "config": {}}
    assert isinstance(deserialize(config), Nadam) and config["class_name"] == "nadam"
    assert InputSpec(ndim=4, axes={-1: 3}) == {"ndim": 4, "axes": {-1: 3}}


def test_layers_apply_to_plain_graphflow_tensors():
    """Keras 2 code (its own tests among it) calls layers on backend tensors and evaluates
    the result: ``K.eval(layer(K.variable(x)))``."""
    from graphflow.keras.layers import Cropping1D, Cropping2D, ZeroPadding1D
    x = np.arange(12, dtype="float32").reshape(2, 3, 2)
    v = K.variable(x)
    np.testing.assert_array_equal(K.eval(ZeroPadding1D((1, 2))(v)), np.pad(x, ((0, 0), (1, 2), (0, 0))))
    assert K.eval(Cropping1D((1, 2))(v)).shape == (2, 0, 2)  # all of an axis may be cropped, as Keras 2
    with pytest.raises(ValueError, match="more than axis 1"):
        Cropping1D((2, 2))(v)
    with pytest.raises(ValueError, match="`cropping` should be an int"):
        Cropping2D(cropping=lambda t: t)
    dense = Dense(2, activity_regularizer=l1(1.0), kernel_initializer="ones")
    y = dense(v)
    np.testing.assert_allclose(K.eval(y), x @ np.ones((2, 2)))
    assert not dense.inbound_nodes and len(dense.get_losses_for(v)) == 1  # no model node; the call's penalty
    np.testing.assert_allclose(K.eval(dense.get_losses_for(v)[0]), np.abs(x @ np.ones((2, 2))).sum())
    noisy = Dropout(0.5, seed=1)(v, training=True)  # the inference phase unless training=True
    assert set(np.unique(K.eval(noisy))) - set(np.unique(2 * x)) <= {0.0}
    np.testing.assert_array_equal(K.eval(Dropout(0.5)(v)), x)
    with pytest.raises(TypeError, match="isn't a symbolic tensor"):
        Dense(2)([Input(shape=(3, 2)), v])
