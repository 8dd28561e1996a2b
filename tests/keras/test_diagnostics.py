"""fit(check_numerics=True), TerminateOnNaN(check_numerics=True) and fit(profile=True):
graphflow's numerics checking and per-op profile, reached from Keras."""
from __future__ import annotations

import numpy as np
import pytest

import graphflow as gf
from graphflow.keras.callbacks import TerminateOnNaN
from graphflow.keras.layers import Dense, Lambda
from graphflow.keras.models import Sequential


def _model():
    model = Sequential([Dense(4, input_shape=(3,), activation="tanh"),
                        Lambda(lambda t: gf.log(t + 0.5)),      # NaN once tanh drops below -0.5
                        Dense(2, activation="softmax")])
    model.compile("sgd", "categorical_crossentropy")
    return model


def _data(bad=False):
    x = np.full((8, 3), -50.0 if bad else 0.1, np.float32)
    return x, np.eye(2, dtype=np.float32)[np.arange(8) % 2]


def test_fit_check_numerics_names_the_op_and_applies_no_step():
    model = _model()
    model.layers[0].set_weights([np.ones((3, 4), np.float32), np.zeros(4, np.float32)])
    before = model.get_weights()
    with pytest.raises(gf.NumericsError, match=r"log in scope `lambda_\d+`.*test_diagnostics.py"):
        model.fit(*_data(bad=True), epochs=1, verbose=0, check_numerics=True)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert model.step_options.check_numerics is False  # only for that fit
    model.fit(*_data(), epochs=1, verbose=0)  # the normal step again, unchecked


def test_terminate_on_nan_with_check_numerics_stops_and_says_where(capsys):
    model = _model()
    model.layers[0].set_weights([np.ones((3, 4), np.float32), np.zeros(4, np.float32)])
    history = model.fit(*_data(bad=True), epochs=3, verbose=0, callbacks=[TerminateOnNaN(check_numerics=True)])
    out = capsys.readouterr().out
    assert "Batch 0: check_numerics: log in scope" in out and "terminating training" in out
    assert history.epoch == [0] and model.stop_training


def test_fit_profile_prints_the_first_epochs_profile(capsys):
    model = _model()
    model.fit(*_data(), epochs=2, batch_size=4, verbose=0, profile=True)
    out = capsys.readouterr().out
    assert out.count("profile of train_function: 2 call(s)") == 1
    assert "matmul" in out and "top" in out


def test_a_custom_callback_asks_for_checked_steps_through_step_options(capsys):
    """The public channel: any callback may switch the checked step on; fit resets it."""
    from graphflow.keras.callbacks import Callback

    class FindTheNaN(Callback):
        def on_train_begin(self, logs=None):
            self.model.step_options.check_numerics = True
            self.model.step_options.stop_on_numerics_error = True

    model = _model()
    model.layers[0].set_weights([np.ones((3, 4), np.float32), np.zeros(4, np.float32)])
    history = model.fit(*_data(bad=True), epochs=2, verbose=0, callbacks=[FindTheNaN()])
    assert "check_numerics: log in scope" in capsys.readouterr().out and history.epoch == [0]
    assert model.step_options.check_numerics is False and model.step_options.stop_on_numerics_error is False
    assert not any(n.startswith("_check") or n.startswith("_terminate") for n in vars(model))
