"""Callbacks with Keras 2.0.6's hooks and behaviour.

``fit`` runs ``[BaseLogger] + your callbacks + [History] (+ [ProgbarLogger] if verbose)``.
Each callback sees ``self.model``, ``self.params`` (batch_size, epochs, samples, steps,
verbose, do_validation, metrics) and ``self.validation_data``; batch logs hold ``batch``
and ``size`` and the batch's loss and metrics; epoch logs hold the epoch averages (and
``val_*``). Setting ``model.stop_training = True`` stops after the current batch.

    >>> model.fit(x, y, callbacks=[EarlyStopping(patience=2), CSVLogger("log.csv")])
"""
import csv
import os
import warnings

import numpy as np

from . import backend as K
from ._utils import is_chief
from .engine.progbar import Progbar


class Callback:
    """Base class: override any of the ``on_*`` hooks."""

    def __init__(self):
        self.model = None
        self.params = {}
        self.validation_data = None

    def set_params(self, params):
        self.params = params

    def set_model(self, model):
        self.model = model

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_batch_begin(self, batch, logs=None):
        pass

    def on_batch_end(self, batch, logs=None):
        pass

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass


class CallbackList:
    """Calls each hook on every callback, in order."""

    def __init__(self, callbacks=None):
        self.callbacks = list(callbacks or [])

    def __iter__(self):
        return iter(self.callbacks)

    def set_params(self, params):
        for c in self.callbacks:
            c.set_params(params)

    def set_model(self, model):
        for c in self.callbacks:
            c.set_model(model)

    def _each(self, hook, *args):
        for c in self.callbacks:
            getattr(c, hook)(*args)

    def on_epoch_begin(self, epoch, logs=None):
        self._each("on_epoch_begin", epoch, logs if logs is not None else {})

    def on_epoch_end(self, epoch, logs=None):
        self._each("on_epoch_end", epoch, logs if logs is not None else {})

    def on_batch_begin(self, batch, logs=None):
        self._each("on_batch_begin", batch, logs if logs is not None else {})

    def on_batch_end(self, batch, logs=None):
        self._each("on_batch_end", batch, logs if logs is not None else {})

    def on_train_begin(self, logs=None):
        self._each("on_train_begin", logs if logs is not None else {})

    def on_train_end(self, logs=None):
        self._each("on_train_end", logs if logs is not None else {})


class BaseLogger(Callback):
    """Averages the batch values over the epoch, weighted by batch size, into the epoch logs."""

    def on_epoch_begin(self, epoch, logs=None):
        self.seen = 0
        self.totals = {}

    def on_batch_end(self, batch, logs=None):
        logs = logs or {}
        size = logs.get("size", 0)
        self.seen += size
        for k, v in logs.items():
            self.totals[k] = self.totals.get(k, 0.0) + v * size

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            for k in self.params.get("metrics", []):
                if k in self.totals and self.seen:
                    logs[k] = self.totals[k] / self.seen


class ProgbarLogger(Callback):
    """Prints 'Epoch i/n' and the progress bar (``count_mode`` 'samples' or 'steps')."""

    def __init__(self, count_mode="samples"):
        super().__init__()
        if count_mode not in ("samples", "steps"):
            raise ValueError("Unknown `count_mode`: " + str(count_mode))
        self.use_steps = count_mode == "steps"

    def on_train_begin(self, logs=None):
        self.verbose = self.params["verbose"] if is_chief() else 0
        self.epochs = self.params["epochs"]

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose:
            print("Epoch %d/%d" % (epoch + 1, self.epochs))
            self.target = self.params["steps"] if self.use_steps else self.params["samples"]
            self.progbar = Progbar(target=self.target, verbose=self.verbose)
        self.seen = 0
        self.log_values = []

    def on_batch_end(self, batch, logs=None):
        logs = logs or {}
        self.seen += 1 if self.use_steps else logs.get("size", 0)
        self.log_values = [(k, logs[k]) for k in self.params["metrics"] if k in logs]
        # the last batch is drawn by on_epoch_end, together with the val_* values
        if self.verbose and self.seen < self.target:
            self.progbar.update(self.seen, self.log_values)
            self.log_values = []

    def on_epoch_end(self, epoch, logs=None):
        if not self.verbose:
            return
        logs = logs or {}
        known = set(self.progbar.sum_values) | {k for k, _ in self.log_values}
        # Keras 2.0.6 also re-added the epoch averages of loss/acc here, skewing the shown
        # values; only keys new at epoch end (val_*) are added, so the line shows the averages
        extra = [(k, logs[k]) for k in self.params["metrics"] if k in logs and k not in known]
        self.progbar.update(self.seen, self.log_values + extra, force=True)
        if self.seen < self.target and self.verbose == 1:
            print()  # stopped early: end the unfinished bar's line


class History(Callback):
    """Records the epoch logs: ``history.history['loss']``, ``history.epoch``."""

    def on_train_begin(self, logs=None):
        self.epoch = []
        self.history = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)


def _monitor_op(mode, monitor, name):
    if mode not in ("auto", "min", "max"):
        warnings.warn(f"{name} mode {mode} is unknown, fallback to auto mode.", RuntimeWarning)
        mode = "auto"
    if mode == "min" or (mode == "auto" and "acc" not in monitor):
        return np.less
    return np.greater


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for more than ``patience``
    epochs (Keras 2.0.6 counts: patience=0 stops at the first epoch without progress)."""

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto"):
        super().__init__()
        self.monitor, self.patience, self.verbose = monitor, patience, verbose
        self.monitor_op = _monitor_op(mode, monitor, "EarlyStopping")
        self.min_delta = abs(min_delta) if self.monitor_op == np.greater else -abs(min_delta)
        self.wait = 0
        self.stopped_epoch = 0

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = np.inf if self.monitor_op == np.less else -np.inf

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(f"Early stopping requires {self.monitor} available!", RuntimeWarning)
            return
        if self.monitor_op(current - self.min_delta, self.best):
            self.best = current
            self.wait = 0
        else:
            if self.wait >= self.patience:
                self.stopped_epoch = epoch
                self.model.stop_training = True
            self.wait += 1

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print("Epoch %05d: early stopping" % self.stopped_epoch)


class ModelCheckpoint(Callback):
    """Save the model (or its weights) after every ``period`` epochs, or only when
    ``monitor`` improves. ``filepath`` may use ``{epoch}`` (0-based, as Keras 2.0.6)
    and log keys: 'weights.{epoch:02d}-{val_loss:.2f}.h5'."""

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", period=1):
        super().__init__()
        self.filepath, self.monitor, self.verbose = filepath, monitor, verbose
        self.save_best_only, self.save_weights_only, self.period = save_best_only, save_weights_only, period
        self.epochs_since_last_save = 0
        self.monitor_op = _monitor_op(mode, monitor, "ModelCheckpoint")
        self.best = np.inf if self.monitor_op == np.less else -np.inf

    def _save(self, filepath):
        (self.model.save_weights if self.save_weights_only else self.model.save)(filepath, overwrite=True)

    def on_epoch_end(self, epoch, logs=None):
        if not is_chief():  # in a data-parallel job only rank 0 writes
            return
        logs = logs or {}
        self.epochs_since_last_save += 1
        if self.epochs_since_last_save < self.period:
            return
        self.epochs_since_last_save = 0
        filepath = self.filepath.format(epoch=epoch, **logs)
        if not self.save_best_only:
            if self.verbose > 0:
                print("Epoch %05d: saving model to %s" % (epoch, filepath))
            self._save(filepath)
            return
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available, skipping.", RuntimeWarning)
        elif self.monitor_op(current, self.best):
            if self.verbose > 0:
                print("Epoch %05d: %s improved from %0.5f to %0.5f, saving model to %s"
                      % (epoch, self.monitor, self.best, current, filepath))
            self.best = current
            self._save(filepath)
        elif self.verbose > 0:
            print("Epoch %05d: %s did not improve" % (epoch, self.monitor))


class LearningRateScheduler(Callback):
    """Set the learning rate to ``schedule(epoch)`` (0-based) at the start of each epoch."""

    def __init__(self, schedule):
        super().__init__()
        self.schedule = schedule

    def on_epoch_begin(self, epoch, logs=None):
        if not hasattr(self.model.optimizer, "lr"):
            raise ValueError('Optimizer must have a "lr" attribute.')
        lr = self.schedule(epoch)
        if not isinstance(lr, (float, np.float32, np.float64)):
            raise ValueError('The output of the "schedule" function should be float.')
        K.set_value(self.model.optimizer.lr, lr)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` stalls for ``patience`` epochs."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto", epsilon=1e-4,
                 cooldown=0, min_lr=0):
        super().__init__()
        if factor >= 1.0:
            raise ValueError("ReduceLROnPlateau does not support a factor >= 1.0.")
        self.monitor, self.factor, self.patience, self.verbose = monitor, factor, patience, verbose
        self.epsilon, self.cooldown, self.min_lr = epsilon, cooldown, min_lr
        self.mode = mode if mode in ("auto", "min", "max") else "auto"
        self._reset()

    def _reset(self):
        if self.mode == "min" or (self.mode == "auto" and "acc" not in self.monitor):
            self.monitor_op = lambda a, b: np.less(a, b - self.epsilon)
            self.best = np.inf
        else:
            self.monitor_op = lambda a, b: np.greater(a, b + self.epsilon)
            self.best = -np.inf
        self.cooldown_counter = 0
        self.wait = 0
        self.lr_epsilon = self.min_lr * 1e-4

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        logs["lr"] = float(K.get_value(self.model.optimizer.lr))
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Learning Rate Plateau Reducing requires {self.monitor} available!", RuntimeWarning)
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self.monitor_op(current, self.best):
            self.best = current
            self.wait = 0
        elif self.cooldown_counter <= 0:
            if self.wait >= self.patience:
                old_lr = float(K.get_value(self.model.optimizer.lr))
                if old_lr > self.min_lr + self.lr_epsilon:
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    K.set_value(self.model.optimizer.lr, new_lr)
                    if self.verbose > 0:
                        print("\nEpoch %05d: reducing learning rate to %s." % (epoch, new_lr))
                    self.cooldown_counter = self.cooldown
                    self.wait = 0
            self.wait += 1


class CSVLogger(Callback):
    """Write one CSV row per epoch: ``epoch`` then the log keys, sorted."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename, self.sep, self.append = filename, separator, append
        self.keys = None
        self.csv_file = None

    def on_train_begin(self, logs=None):
        if not is_chief():  # in a data-parallel job only rank 0 writes
            return
        exists = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0
        self.append_header = not exists
        self.csv_file = open(self.filename, "a" if self.append else "w", newline="")
        self.writer = None

    def on_epoch_end(self, epoch, logs=None):
        if self.csv_file is None:
            return
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
        if self.writer is None:
            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys, delimiter=self.sep)
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((k, logs.get(k, "NA")) for k in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None:
            self.csv_file.close()
        self.writer = None


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch loss is NaN or infinite.

    ``check_numerics=True`` (graphflow) checks every op of the training step instead, and
    stops at the first one whose output is not finite, printing which op, in which layer,
    made at which line of your code (the step is then compiled without fusion, so it runs
    slower: use it to find a NaN, not in every run)."""

    def __init__(self, check_numerics=False):
        super().__init__()
        self.check_numerics = bool(check_numerics)

    def on_train_begin(self, logs=None):
        if self.check_numerics:
            self.model.step_options.check_numerics = True
            self.model.step_options.stop_on_numerics_error = True

    def on_train_end(self, logs=None):
        if self.check_numerics:
            self.model.step_options.reset()

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and (np.isnan(loss) or np.isinf(loss)):
            print("Batch %d: Invalid loss, terminating training" % batch)
            if not self.check_numerics:
                print("(TerminateOnNaN(check_numerics=True) or fit(..., check_numerics=True) names the op "
                      "that made it)")
            self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_batch_begin=None, on_batch_end=None,
                 on_train_begin=None, on_train_end=None, **kwargs):
        super().__init__()
        self.__dict__.update(kwargs)
        noop2, noop1 = (lambda a, b: None), (lambda a: None)
        self.on_epoch_begin = on_epoch_begin or noop2
        self.on_epoch_end = on_epoch_end or noop2
        self.on_batch_begin = on_batch_begin or noop2
        self.on_batch_end = on_batch_end or noop2
        self.on_train_begin = on_train_begin or noop1
        self.on_train_end = on_train_end or noop1
