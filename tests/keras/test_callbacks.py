"""Callbacks: the hook sequence and params fit gives them, and each built-in's Keras 2.0.6
behaviour (EarlyStopping counting, checkpoints, schedules, CSV, NaN)."""
import csv

import numpy as np
import pytest

from graphflow.keras import backend as K
from graphflow.keras import callbacks as cbks
from graphflow.keras.layers import Dense
from graphflow.keras.models import Sequential
from graphflow.keras.optimizers import SGD


def small_model(lr=0.05):
    model = Sequential([Dense(1, input_dim=2)])
    model.compile(SGD(lr=lr), "mse")
    return model


X = np.random.default_rng(0).normal(size=(20, 2)).astype("float32")
Y = (X @ np.array([[1.0], [-2.0]], "float32")) + 0.5


class Recorder(cbks.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append(("train_begin", dict(self.params)))

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(("epoch_begin", epoch))

    def on_batch_begin(self, batch, logs=None):
        self.calls.append(("batch_begin", batch, dict(logs)))

    def on_batch_end(self, batch, logs=None):
        self.calls.append(("batch_end", batch, dict(logs)))

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("epoch_end", epoch, dict(logs)))

    def on_train_end(self, logs=None):
        self.calls.append(("train_end",))


def test_hooks_params_and_logs():
    rec = Recorder()
    model = small_model()
    model.fit(X, Y, batch_size=8, epochs=2, verbose=0, callbacks=[rec], validation_data=(X[:4], Y[:4]),
              shuffle=False)
    kinds = [c[0] for c in rec.calls]
    assert kinds == ["train_begin"] + (["epoch_begin"] + ["batch_begin", "batch_end"] * 3 + ["epoch_end"]) * 2 + \
        ["train_end"]
    params = rec.calls[0][1]
    assert params == {"batch_size": 8, "epochs": 2, "steps": None, "samples": 20, "verbose": 0,
                      "do_validation": True, "metrics": ["loss", "val_loss"]}
    batch_ends = [c for c in rec.calls if c[0] == "batch_end"][:3]
    assert [c[2]["size"] for c in batch_ends] == [8, 8, 4] and [c[2]["batch"] for c in batch_ends] == [0, 1, 2]
    epoch_logs = [c for c in rec.calls if c[0] == "epoch_end"][0][2]
    weighted = sum(c[2]["loss"] * c[2]["size"] for c in batch_ends) / 20
    assert epoch_logs["loss"] == pytest.approx(weighted) and "val_loss" in epoch_logs
    assert rec.validation_data[0].shape == (4, 2) and rec.model is model


def test_validation_split_takes_the_last_part_unshuffled():
    rec = Recorder()
    small_model().fit(X, Y, epochs=1, verbose=0, validation_split=0.25, callbacks=[rec])
    np.testing.assert_array_equal(rec.validation_data[0], X[15:])
    assert rec.calls[0][1]["samples"] == 15


def test_stop_training_inside_an_epoch():
    model = small_model()
    stopper = cbks.LambdaCallback(on_batch_end=lambda batch, logs: setattr(model, "stop_training", batch == 1))
    history = model.fit(X, Y, batch_size=4, epochs=5, verbose=0, callbacks=[stopper])
    assert history.epoch == [0]


def test_early_stopping_counts_as_keras_206():
    model = small_model(lr=0.0)  # no progress at all
    stop = cbks.EarlyStopping(monitor="loss", patience=2)
    history = model.fit(X, Y, epochs=10, verbose=0, callbacks=[stop], shuffle=False)
    # epoch 0 sets the best; epochs 1, 2 wait; epoch 3 (wait == patience) stops
    assert history.epoch == [0, 1, 2, 3] and stop.stopped_epoch == 3
    assert cbks.EarlyStopping(monitor="val_acc").monitor_op is np.greater
    with pytest.warns(RuntimeWarning, match="requires val_loss"):
        small_model().fit(X, Y, epochs=1, verbose=0, callbacks=[cbks.EarlyStopping()])


def test_model_checkpoint_files(tmp_path):
    pattern = str(tmp_path / "w.{epoch:02d}-{loss:.2f}.h5")
    model = small_model()
    model.fit(X, Y, epochs=2, verbose=0, callbacks=[cbks.ModelCheckpoint(pattern, save_weights_only=True)])
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 2 and names[0].startswith("w.00-") and names[1].startswith("w.01-")
    best = str(tmp_path / "best.h5")
    ckpt = cbks.ModelCheckpoint(best, monitor="loss", save_best_only=True, verbose=1)
    model.fit(X, Y, epochs=2, verbose=0, callbacks=[ckpt])
    from graphflow.keras.models import load_model
    np.testing.assert_allclose(load_model(best).predict(X), model.predict(X), rtol=1e-5)
    assert ckpt.best < np.inf


def test_learning_rate_scheduler_and_reduce_on_plateau():
    model = small_model()
    seen = []
    sched = cbks.LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))
    spy = cbks.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(float(K.get_value(model.optimizer.lr))))
    model.fit(X, Y, epochs=3, verbose=0, callbacks=[sched, spy])
    assert seen == pytest.approx([0.1, 0.05, 0.1 / 3])
    with pytest.raises(ValueError, match="should be float"):
        model.fit(X, Y, epochs=1, verbose=0, callbacks=[cbks.LearningRateScheduler(lambda e: "fast")])
    frozen = small_model(lr=0.0)
    K.set_value(frozen.optimizer.lr, 1.0)
    plateau = cbks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, min_lr=0.2)
    stalled = cbks.LambdaCallback(on_epoch_end=lambda e, logs: logs.update(val_loss=1.0))  # never improves
    lrs = []
    after = cbks.LambdaCallback(on_epoch_end=lambda e, logs: lrs.append(float(K.get_value(frozen.optimizer.lr))))
    frozen.fit(X, Y, epochs=6, verbose=0, callbacks=[stalled, plateau, after])
    assert lrs == pytest.approx([1.0, 1.0, 0.5, 0.25, 0.2, 0.2])  # reduced every 2nd stalled epoch, floored


def test_csv_logger_and_terminate_on_nan(tmp_path, capsys):
    path = tmp_path / "log.csv"
    small_model().fit(X, Y, epochs=3, verbose=0, validation_data=(X, Y), callbacks=[cbks.CSVLogger(str(path))])
    rows = list(csv.DictReader(path.read_text().splitlines()))
    assert [r["epoch"] for r in rows] == ["0", "1", "2"] and list(rows[0]) == ["epoch", "loss", "val_loss"]
    small_model().fit(X, Y, epochs=1, verbose=0, callbacks=[cbks.CSVLogger(str(path), append=True)])
    assert len(list(csv.DictReader(path.read_text().splitlines()))) == 4
    blowup = small_model(lr=1e30)
    with np.errstate(all="ignore"):  # the overflow is the point
        history = blowup.fit(X * 1e10, Y, batch_size=4, epochs=3, verbose=0, callbacks=[cbks.TerminateOnNaN()])
    assert "Invalid loss, terminating training" in capsys.readouterr().out
    assert len(history.epoch) == 1
