"""The Keras 2.0.6 progress bar and training log, character for character."""
import io
import re

import numpy as np
import pytest

from graphflow.keras.engine.progbar import Progbar
from graphflow.keras.layers import Dense
from graphflow.keras.models import Sequential

FINAL = re.compile(r"^\s*(\d+)/\1 \[={30}\] - \d+s( - \w+: -?\d+\.\d{4}(e[+-]\d\d)?)*\s*$")


def frames(text):
    """The successive drawings of a bar (split on the carriage returns)."""
    return [f.replace("\b", "") for f in text.split("\r") if f.replace("\b", "")]


def test_running_and_final_lines():
    out = io.StringIO()
    bar = Progbar(target=100, file=out, interval=0)
    bar.update(32, [("loss", 2.3026)])
    bar.update(100, [("loss", 2.0)])
    first, last = frames(out.getvalue())
    assert re.fullmatch(r" 32/100 \[========>\.{21}\] - ETA: \d+s - loss: 2\.3026", first)
    assert len(first[first.index("["):first.index("]") + 1]) == 32  # a 30-character bar
    # the final value is the sample-weighted mean: (2.3026*32 + 2.0*68) / 100
    assert re.fullmatch(r"100/100 \[={30}\] - \d+s - loss: 2\.0968 *\n", last)
    assert FINAL.match(last)


def test_small_values_use_exponent_and_verbose_2():
    out = io.StringIO()
    bar = Progbar(target=10, file=out)
    bar.update(10, [("loss", 0.0005), ("acc", 0.5)])
    assert out.getvalue().rstrip().endswith("- loss: 5.0000e-04 - acc: 0.5000")
    out2 = io.StringIO()
    bar2 = Progbar(target=10, verbose=2, file=out2)
    bar2.update(5, [("loss", 1.0)])
    assert out2.getvalue() == ""
    bar2.update(10, [("loss", 2.0)])
    assert re.fullmatch(r"\d+s - loss: 1\.5000\n", out2.getvalue())


def test_throttled_redraw_but_final_always_drawn():
    out = io.StringIO()
    bar = Progbar(target=1000, file=out, interval=60)
    bar.update(10)
    bar.update(20)  # within the interval: not redrawn
    bar.update(1000)
    drawn = frames(out.getvalue())
    assert len(drawn) == 2 and drawn[-1].startswith("1000/1000 [")


def model():
    m = Sequential([Dense(3, input_dim=2, activation="softmax")])
    m.compile("sgd", "categorical_crossentropy", metrics=["accuracy"])
    return m


X = np.random.default_rng(1).normal(size=(100, 2)).astype("float32")
Y = np.eye(3, dtype="float32")[np.random.default_rng(2).integers(0, 3, 100)]


def test_fit_verbose_1_log(capsys):
    history = model().fit(X, Y, batch_size=32, epochs=2, verbose=1)
    out = capsys.readouterr().out
    lines = out.split("\n")
    assert lines[0] == "Epoch 1/2" and "Epoch 2/2" in lines
    finals = [frames(line)[-1] for line in lines if "[" in line]
    assert len(finals) == 2 and all(FINAL.match(f) for f in finals)
    m = re.search(r"100/100 \[={30}\] - \d+s - loss: (\d\.\d{4}) - acc: (\d\.\d{4})", finals[0])
    assert float(m.group(1)) == pytest.approx(history.history["loss"][0], abs=1e-4)
    assert float(m.group(2)) == pytest.approx(history.history["acc"][0], abs=1e-4)
    assert " 32/100 [" in out  # a running frame counting samples


def test_fit_verbose_2_and_0_and_validation_line(capsys):
    model().fit(X, Y, epochs=2, verbose=2, validation_data=(X[:10], Y[:10]))
    out = capsys.readouterr().out
    assert out.startswith("Train on 100 samples, validate on 10 samples\nEpoch 1/2\n")
    epoch_lines = [line for line in out.splitlines() if line.endswith(tuple("0123456789")) and " - " in line]
    assert len(epoch_lines) == 2
    assert all(re.fullmatch(r"\d+s - loss: \d\.\d{4} - acc: \d\.\d{4} - val_loss: \d\.\d{4} - val_acc: \d\.\d{4}",
                            line) for line in epoch_lines)
    model().fit(X, Y, epochs=2, verbose=0)
    assert capsys.readouterr().out == ""


def test_evaluate_bar_and_generator_counts_steps(capsys):
    m = model()
    m.evaluate(X[:20], Y[:20], batch_size=8)
    out = capsys.readouterr().out
    assert FINAL.match(frames(out)[-1]) and frames(out)[-1].startswith("20/20 [")

    def gen():
        while True:
            yield X[:10], Y[:10]
    m.fit_generator(gen(), steps_per_epoch=4, epochs=1)
    last = frames(capsys.readouterr().out)[-1]
    assert last.startswith("4/4 [") and FINAL.match(last)
