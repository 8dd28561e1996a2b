"""Recurrent layers and K.rnn against float64 NumPy references of Keras 2.0.6's equations
(tests/keras/rnn_reference.py): every implementation, masks, go_backwards, states,
stateful layers, dropout, gradients, and 10 SGD steps of an LSTM classifier."""
import numpy as np
import pytest

import graphflow as gf
from graphflow.keras import backend as K
from graphflow.keras.layers import GRU, LSTM, Dense, Input, SimpleRNN
from graphflow.keras.models import Model, Sequential
from graphflow.keras.optimizers import SGD
from graphflow.testing import verify_grad

import rnn_reference as ref


@pytest.fixture
def float64():
    old = K.floatx()
    K.set_floatx("float64")
    yield
    K.set_floatx(old)


def _run(layer, x, **kw):
    inp = Input(batch_shape=x.shape, dtype=x.dtype)
    out = layer(inp, **kw)
    return Model(inp, out).predict(x, batch_size=len(x))


def _masked_seq(rng, n=3, t=5, f=4):
    x = rng.standard_normal((n, t, f))
    mask = np.ones((n, t), bool)
    mask[0, :2] = False   # pre-padding
    mask[1, 3:] = False   # post-padding
    return x, mask


# ------------------------------------------------------------------ K.rnn
@pytest.mark.parametrize("unroll", [True, False])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_rnn_mask_constants_and_direction_match_a_python_loop(unroll, go_backwards):
    rng = np.random.default_rng(0)
    x, mask = _masked_seq(rng)
    w, bias = rng.standard_normal((4, 2)), rng.standard_normal(2)
    xs, ms = gf.constant(x), gf.constant(mask)

    def step(x_t, states):
        h, acc, c = states
        h_new = gf.tanh(gf.matmul(x_t, gf.constant(w)) + h + c)
        return h_new, [h_new, acc + 1.0]

    h0, acc0 = gf.constant(np.zeros((3, 2))), gf.constant(np.zeros((3, 1)))
    last, outputs, states = K.rnn(step, xs, [h0, acc0], go_backwards=go_backwards, mask=ms,
                                  constants=[gf.constant(bias)], unroll=unroll)
    got = gf.function([], [last, outputs] + states)()
    h, acc, outs = np.zeros((3, 2)), np.zeros((3, 1)), []
    for t in (reversed(range(5)) if go_backwards else range(5)):
        new = np.tanh(x[:, t] @ w + h + bias)
        keep = mask[:, t:t + 1]
        h, acc = np.where(keep, new, h), np.where(keep, acc + 1, acc)
        outs.append(h)
    np.testing.assert_allclose(got[1], np.stack(outs, 1), rtol=1e-12)
    np.testing.assert_allclose(got[0], outs[-1], rtol=1e-12)
    np.testing.assert_allclose(got[2], h, rtol=1e-12)
    np.testing.assert_allclose(got[3][:, 0], mask.sum(1))


def test_rnn_explains_what_it_needs():
    with pytest.raises(ValueError, match="at least 3-D"):
        K.rnn(lambda x, s: (x, s), gf.placeholder((None, 3)), [])
    with pytest.raises(ValueError, match="number of timesteps"):
        K.rnn(lambda x, s: (x, s), gf.placeholder((None, None, 3)), [], unroll=True)


def test_rnn_gradient_through_time_matches_finite_differences():
    rng = np.random.default_rng(1)

    def fn(x, w, h0):
        def step(x_t, states):
            h = gf.tanh(gf.matmul(x_t, w) + states[0])
            return h, [h]
        last, outputs, _ = K.rnn(step, x, [h0], unroll=True)
        return gf.sum(outputs * outputs) + gf.sum(last)

    verify_grad(fn, [rng.standard_normal((2, 4, 3)), rng.standard_normal((3, 3)) * 0.5,
                     rng.standard_normal((2, 3))])


# ------------------------------------------------------------------ layers vs the references
def _weights(rng, f, u, gates, bias_shape=None):
    return [rng.standard_normal((f, gates * u)) * 0.5, rng.standard_normal((u, gates * u)) * 0.5,
            rng.standard_normal(bias_shape or (gates * u,)) * 0.5]


@pytest.mark.parametrize("implementation", [0, 1, 2])
@pytest.mark.parametrize("activation", ["hard_sigmoid", "sigmoid", "relu"])
def test_lstm_matches_keras_equations(float64, implementation, activation):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 5, 4))
    w = _weights(rng, 4, 6, 4)
    layer = LSTM(6, recurrent_activation=activation, implementation=implementation, return_sequences=True,
                 weights=w, unroll=implementation == 1)  # relu: the general (unfused) step
    sigma = {"sigmoid": ref.sigmoid, "hard_sigmoid": ref.hard_sigmoid, "relu": lambda v: np.maximum(v, 0)}[activation]
    np.testing.assert_allclose(_run(layer, x), ref.lstm(x, *w, sigma=sigma)[0], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reset_after", [False, True])
@pytest.mark.parametrize("implementation", [0, 1, 2])
def test_gru_both_variants_match_keras_equations(float64, reset_after, implementation):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 5, 4))
    w = _weights(rng, 4, 6, 3, (2, 18) if reset_after else None)
    layer = GRU(6, reset_after=reset_after, implementation=implementation, return_sequences=True, weights=w,
                recurrent_activation="sigmoid" if reset_after else "hard_sigmoid")
    sigma = ref.sigmoid if reset_after else ref.hard_sigmoid
    np.testing.assert_allclose(_run(layer, x), ref.gru(x, *w, sigma=sigma, reset_after=reset_after)[0],
                               rtol=1e-10, atol=1e-12)


def test_simple_rnn_and_weight_layouts(float64):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 4))
    w = _weights(rng, 4, 5, 1)
    np.testing.assert_allclose(_run(SimpleRNN(5, weights=w), x), ref.simple_rnn(x, *w)[1][0], rtol=1e-10)
    for layer, expected in ((SimpleRNN(7), [(4, 7), (7, 7), (7,)]), (GRU(7), [(4, 21), (7, 21), (21,)]),
                            (GRU(7, reset_after=True), [(4, 21), (7, 21), (2, 21)]),
                            (LSTM(7), [(4, 28), (7, 28), (28,)])):
        layer(Input((3, 4)))
        assert [w.shape for w in layer.get_weights()] == expected
        assert [n.split("/")[-1] for n in layer.weight_names] == ["kernel:0", "recurrent_kernel:0", "bias:0"]
    forget = LSTM(3)
    forget(Input((2, 2)))
    np.testing.assert_array_equal(forget.get_weights()[2], [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])


def test_masked_steps_are_skipped(float64):
    rng = np.random.default_rng(5)
    x, mask = _masked_seq(rng)
    x[~mask] = 0.0
    w = _weights(rng, 4, 3, 4)
    from graphflow.keras.layers import Masking
    inp = Input((5, 4))
    out = LSTM(3, return_sequences=True, weights=w)(Masking(0.0)(inp))
    got = Model(inp, out).predict(x)
    np.testing.assert_allclose(got, ref.lstm(x, *w, mask=mask)[0], rtol=1e-10, atol=1e-12)


def test_go_backwards_return_state_and_initial_state(float64):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 4, 3))
    w = _weights(rng, 3, 5, 4)
    h0, c0 = rng.standard_normal((2, 5)), rng.standard_normal((2, 5))
    inp, s_h, s_c = Input((4, 3)), Input((5,)), Input((5,))
    outs = LSTM(5, return_state=True, go_backwards=True, weights=w)(inp, initial_state=[s_h, s_c])
    assert len(outs) == 3
    got = Model([inp, s_h, s_c], outs).predict([x, h0, c0])
    seq, (h, c) = ref.lstm(x[:, ::-1], *w, h=h0, c=c0)
    for a, b in zip(got, [seq[:, -1], h, c]):
        np.testing.assert_allclose(a, b, rtol=1e-10)


def test_stateful_carries_state_across_batches_until_reset(float64):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 6, 3))
    w = _weights(rng, 3, 4, 3)
    model = Sequential([GRU(4, stateful=True, return_sequences=True, weights=w, batch_input_shape=(2, 3, 3))])
    first, second = model.predict(x[:, :3], batch_size=2), model.predict(x[:, 3:], batch_size=2)
    expected = ref.gru(x, *w)[0]
    np.testing.assert_allclose(np.concatenate([first, second], 1), expected, rtol=1e-10)
    model.reset_states()
    np.testing.assert_allclose(model.predict(x[:, :3], batch_size=2), expected[:, :3], rtol=1e-10)
    with pytest.raises(ValueError, match="batch size"):
        Sequential([LSTM(2, stateful=True, input_shape=(3, 3))])


def test_dropout_is_training_only():
    x = np.ones((64, 6, 5), np.float32)
    for implementation in (0, 1, 2):
        model = Sequential([SimpleRNN(4, dropout=0.5, recurrent_dropout=0.5, implementation=implementation,
                                      input_shape=(6, 5), return_sequences=True)])
        model.compile(SGD(0.0), "mse")
        a = model.predict(x)
        np.testing.assert_allclose(a, model.predict(x))  # inference: deterministic
        before = model.get_weights()
        loss_train = model.train_on_batch(x, np.zeros((64, 6, 4), np.float32))
        loss_eval = model.evaluate(x, np.zeros((64, 6, 4), np.float32), verbose=0)
        assert loss_train != pytest.approx(loss_eval, rel=1e-6)  # dropout changed the training pass
        for b, c in zip(before, model.get_weights()):
            np.testing.assert_array_equal(b, c)


def test_layer_gradients_match_finite_differences(float64):
    rng = np.random.default_rng(8)
    for layer in (LSTM(3, implementation=1), GRU(3, reset_after=True), SimpleRNN(3)):
        layer(Input((4, 2)))

        def fn(x, kernel, recurrent_kernel, bias):
            layer.kernel, layer.recurrent_kernel, layer.bias = kernel, recurrent_kernel, bias
            return gf.sum(gf.square(layer.call(x)))
        verify_grad(fn, [rng.standard_normal((2, 4, 2))] + [w * 0.5 for w in layer.get_weights()])


def test_lstm_sgd_steps_match_numpy_bptt(float64):
    rng = np.random.default_rng(9)
    x, labels = rng.standard_normal((8, 6, 3)), rng.integers(0, 4, 8)
    weights = [rng.standard_normal((3, 20)) * 0.4, rng.standard_normal((5, 20)) * 0.4,
               rng.standard_normal(20) * 0.1, rng.standard_normal((5, 4)) * 0.4, np.zeros(4)]
    model = Sequential([LSTM(5, recurrent_activation="sigmoid", input_shape=(6, 3)), Dense(4, activation="softmax")])
    model.set_weights(weights)
    model.compile(SGD(lr=0.1), "sparse_categorical_crossentropy")
    losses = [model.train_on_batch(x, labels[:, None]) for _ in range(10)]
    ref_losses, ref_weights = ref.sgd_lstm_classifier(x, labels, weights, 0.1, 10)
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-9)
    for got, want, start in zip(model.get_weights(), ref_weights, weights):
        np.testing.assert_allclose(got - start, want - start, rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv_lstm2d_matches_the_convolutional_lstm_equations(float64, data_format):
    from graphflow.keras.layers import ConvLSTM2D
    rng = np.random.default_rng(10)
    x = rng.standard_normal((2, 3, 5, 4, 2))
    w = [rng.standard_normal((3, 3, 2, 12)) * 0.3, rng.standard_normal((3, 3, 3, 12)) * 0.3,
         rng.standard_normal(12) * 0.3]
    layer = ConvLSTM2D(3, (3, 3), padding="same", return_sequences=True, weights=w, data_format=data_format)
    feed = x if data_format == "channels_last" else x.transpose(0, 1, 4, 2, 3)
    got = _run(layer, feed)
    if data_format == "channels_first":
        got = got.transpose(0, 1, 3, 4, 2)
    np.testing.assert_allclose(got, ref.conv_lstm(x, *w), rtol=1e-10, atol=1e-12)
    assert layer.get_config()["filters"] == 3 and "units" not in layer.get_config()


def test_keras1_argument_names_still_work_with_a_warning():
    with pytest.warns(UserWarning, match="'output_dim' is now 'units'"):
        layer = LSTM(output_dim=4, consume_less="gpu", forget_bias_init="one", inner_activation="sigmoid",
                     dropout_W=0.1, dropout_U=0.2, init="zeros", inner_init="identity")
    assert (layer.units, layer.implementation, layer.unit_forget_bias, layer.dropout, layer.recurrent_dropout) == \
        (4, 2, True, 0.1, 0.2)
    assert layer.recurrent_activation.__name__ == "sigmoid"
    with pytest.raises(TypeError, match="needs `units`"):
        GRU()
