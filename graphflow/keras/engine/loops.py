"""The training, testing and prediction loops of Keras 2.0.6 (``_fit_loop`` & co).

Batches come in order from ``make_batches``, over an index array shuffled every epoch
(``shuffle=True``) or block-shuffled (``'batch'``). Epoch e's order is drawn from a
generator seeded with (s, e), where s is drawn from ``gf.draw_seed()`` when ``fit`` starts:
``gf.set_random_seed`` (or ``np.random.seed``) makes it repeatable, and a run resumed at
``initial_epoch=e`` sees the orders the uninterrupted run saw. Batch logs
hold the values computed *before* that batch's update; epoch logs are their means
weighted by batch size; ``val_*`` values are computed after the last batch, with the
inference graph (no dropout).
"""
import numpy as np

import graphflow as gf

from .. import callbacks as cbks
from .._utils import is_chief
from . import arrays
from .progbar import Progbar


def scalars(outs):
    """A function's outputs as Python floats (a single float for one output)."""
    values = [float(np.asarray(o)) for o in outs]
    return values[0] if len(values) == 1 else values


def is_generator(x):
    """True for generators, iterators and Keras-style Sequences (not arrays or lists)."""
    if x is None or isinstance(x, (np.ndarray, list, tuple, dict)) or hasattr(x, "__array__"):
        return False
    return hasattr(x, "__next__") or (hasattr(x, "__getitem__") and hasattr(x, "__len__"))


def _callback_list(model, callbacks, verbose, count_mode, params):
    model.history = cbks.History()
    items = [cbks.BaseLogger()] + list(callbacks or []) + [model.history]
    if verbose:
        items.append(cbks.ProgbarLogger(count_mode))
    cbl = cbks.CallbackList(items)
    cbl.set_model(model)
    cbl.set_params(params)
    return cbl


def _labelled(labels, outs, logs):
    for label, value in zip(labels, outs if isinstance(outs, list) else [outs]):
        logs[label] = value
    return logs


def fit_arrays(model, x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data,
               shuffle, class_weight, sample_weight, initial_epoch):
    """``Model.fit`` on arrays."""
    x, y, w = model._standardize_user_data(x, y, sample_weight, class_weight, batch_size=batch_size)
    val_ins = None
    if validation_data is not None:
        if len(validation_data) not in (2, 3):
            raise ValueError(f"When passing validation_data, it must contain 2 (x_val, y_val) or 3 (x_val, y_val, "
                             f"val_sample_weights) items, however it contains {len(validation_data)} items")
        vx, vy, vw = model._standardize_user_data(*validation_data[:2], validation_data[2] if
                                                  len(validation_data) == 3 else None, batch_size=batch_size)
        val_ins = vx + vy + vw
    elif validation_split and 0.0 < validation_split < 1.0:
        (train, val) = arrays.split_for_validation(x + y + w, validation_split)
        n_in, n_out = len(x), len(y)
        x, y, w = train[:n_in], train[n_in:n_in + n_out], train[n_in + n_out:]
        val_ins = val
    ins = x + y + w
    model._make_train_function()  # compile now, before the first epoch starts
    test_f = model._make_test_function() if val_ins is not None else None
    return _fit_loop(model, ins, batch_size, epochs, verbose, callbacks, test_f, val_ins, shuffle,
                     initial_epoch)


def _fit_loop(model, ins, batch_size, epochs, verbose, callbacks, val_f, val_ins, shuffle, initial_epoch):
    labels = list(model.metrics_names)
    do_validation = val_f is not None and val_ins is not None and len(val_ins[0]) > 0
    samples = len(ins[0])
    if do_validation and verbose and is_chief():
        print("Train on %d samples, validate on %d samples" % (samples, len(val_ins[0])))
    metrics = labels + (["val_" + n for n in labels] if do_validation else [])
    cbl = _callback_list(model, callbacks, verbose, "samples",
                         {"batch_size": batch_size, "epochs": epochs, "steps": None, "samples": samples,
                          "verbose": verbose, "do_validation": do_validation, "metrics": metrics})
    for c in cbl:
        c.validation_data = val_ins
    index_array = np.arange(samples)
    shuffle_seed = gf.draw_seed() if shuffle else None

    def run_epoch(epoch, epoch_logs):
        nonlocal index_array
        rng = np.random.default_rng([shuffle_seed, epoch]) if shuffle else None
        if shuffle == "batch":
            index_array = arrays.batch_shuffle(np.arange(samples), batch_size, rng)
        elif shuffle:
            index_array = rng.permutation(samples)
        batches = arrays.make_batches(samples, batch_size)
        for batch_index, (start, end) in enumerate(batches):
            ids = index_array[start:end]
            _run_batch(cbl, labels, batch_index, len(ids),
                       lambda ids=ids: model._train_step()(*arrays.slice_arrays(ins, ids)), model)
            if model.stop_training:
                return
        if do_validation:
            _labelled(["val_" + n for n in labels], test_loop(val_f, val_ins, batch_size, verbose=0), epoch_logs)
    return _run_epochs(model, cbl, initial_epoch, epochs, run_epoch)


def _run_batch(cbl, labels, index, size, step, model):
    """One training step between the batch hooks; its outputs go into the batch logs. A
    ``NumericsError`` stops training when ``model.step_options.stop_on_numerics_error``
    asks for that (``TerminateOnNaN(check_numerics=True)`` does) (the step was not applied); otherwise it propagates."""
    logs = {"batch": index, "size": size}
    cbl.on_batch_begin(index, logs)
    try:
        outs = step()
    except gf.NumericsError as exc:
        if not model.step_options.stop_on_numerics_error:
            raise
        print("Batch %d: %s; terminating training" % (index, exc))
        model.stop_training = True
        return
    _labelled(labels, scalars(outs), logs)
    cbl.on_batch_end(index, logs)


def _run_epochs(model, cbl, initial_epoch, epochs, run_epoch):
    """The epoch loop of fit and fit_generator; ``run_epoch(epoch, epoch_logs)`` trains."""
    model.stop_training = False
    cbl.on_train_begin()
    for epoch in range(initial_epoch, epochs):
        cbl.on_epoch_begin(epoch)
        epoch_logs = {}
        run_epoch(epoch, epoch_logs)
        cbl.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
    cbl.on_train_end()
    return model.history


def test_loop(f, ins, batch_size=32, verbose=0):
    """Sample-weighted means of ``f``'s outputs over the batches of ``ins``."""
    samples = len(ins[0])
    progbar = Progbar(target=samples) if verbose == 1 else None
    totals = None
    for start, end in arrays.make_batches(samples, batch_size):
        outs = [float(np.asarray(o)) for o in f(*[a[start:end] for a in ins])]
        totals = [o * (end - start) for o in outs] if totals is None else \
            [t + o * (end - start) for t, o in zip(totals, outs)]
        if progbar is not None:
            progbar.update(end)
    means = [t / samples for t in totals] if totals else []
    return means[0] if len(means) == 1 else means


def predict_loop(f, ins, batch_size=32, verbose=0):
    """``f``'s outputs over the batches of ``ins``, concatenated."""
    samples = len(ins[0])
    progbar = Progbar(target=samples) if verbose == 1 else None
    results = None
    for start, end in arrays.make_batches(samples, batch_size):
        outs = f(*[a[start:end] for a in ins])
        if results is None:
            results = [np.zeros((samples,) + o.shape[1:], dtype=o.dtype) for o in outs]
        for r, o in zip(results, outs):
            r[start:end] = o
        if progbar is not None:
            progbar.update(end)
    if results is None:
        raise ValueError("predict got no samples")
    return results[0] if len(results) == 1 else results


# ---------------------------------------------------------------- generators

def _next_batch(iterator, what):
    try:
        batch = next(iterator)
    except StopIteration:
        raise ValueError(f"the {what} generator ran out of batches: make it loop forever (as Keras "
                         f"expects) or lower steps_per_epoch / steps") from None
    if not isinstance(batch, tuple) or len(batch) not in (2, 3):
        raise ValueError(f"output of generator should be a tuple `(x, y, sample_weight)` or `(x, y)`. "
                         f"Found: {type(batch).__name__}")
    return batch


def _iterate(generator):
    """An endless iterator over a generator or a Sequence (reshuffled by its own means)."""
    if hasattr(generator, "__next__"):
        return generator

    def cycle():
        while True:
            for i in range(len(generator)):
                yield generator[i]
            if hasattr(generator, "on_epoch_end"):
                generator.on_epoch_end()
    return cycle()


def _steps(generator, steps, what):
    if steps is None:
        if hasattr(generator, "__len__"):
            return len(generator)
        raise ValueError(f"`{what}` is required when the data is a generator without len()")
    return int(steps)


def fit_generator(model, generator, steps_per_epoch, epochs, verbose, callbacks, validation_data,
                  validation_steps, class_weight, initial_epoch):
    steps_per_epoch = _steps(generator, steps_per_epoch, "steps_per_epoch")
    model._make_train_function()  # compile now, before the first epoch starts
    labels = list(model.metrics_names)
    do_validation = validation_data is not None
    val_gen = do_validation and is_generator(validation_data)
    if val_gen:
        validation_steps = _steps(validation_data, validation_steps, "validation_steps")
    metrics = labels + (["val_" + n for n in labels] if do_validation else [])
    cbl = _callback_list(model, callbacks, verbose, "steps",
                         {"epochs": epochs, "steps": steps_per_epoch, "verbose": verbose,
                          "do_validation": do_validation, "metrics": metrics})
    iterator, val_iterator = _iterate(generator), _iterate(validation_data) if val_gen else None
    if do_validation and not val_gen:  # arrays: callbacks see them, as with fit
        vx, vy, vw = model._standardize_user_data(*validation_data[:2], validation_data[2] if
                                                  len(validation_data) == 3 else None)
        for c in cbl:
            c.validation_data = vx + vy + vw

    def run_epoch(epoch, epoch_logs):
        batch_size = 32
        for step in range(steps_per_epoch):
            x, y, *sw = _next_batch(iterator, "training")
            x, y, w = model._standardize_user_data(x, y, sw[0] if sw else None, class_weight)
            batch_size = len(x[0])
            _run_batch(cbl, labels, step, batch_size, lambda feeds=x + y + w: model._train_step()(*feeds), model)
            if model.stop_training:
                return
        if do_validation:
            if val_gen:
                val_outs = _evaluate_iterator(model, val_iterator, validation_steps)
            else:
                val_outs = model.evaluate(*validation_data[:2], batch_size=batch_size, verbose=0,
                                          sample_weight=validation_data[2] if len(validation_data) == 3 else None)
            _labelled(["val_" + n for n in labels], val_outs, epoch_logs)
    return _run_epochs(model, cbl, initial_epoch, epochs, run_epoch)


def _evaluate_iterator(model, iterator, steps):
    f = model._make_test_function()
    totals, seen = None, 0
    for _ in range(steps):
        x, y, *sw = _next_batch(iterator, "evaluation")
        x, y, w = model._standardize_user_data(x, y, sw[0] if sw else None)
        n = len(x[0])
        outs = [float(np.asarray(o)) for o in f(*(x + y + w))]
        totals = [o * n for o in outs] if totals is None else [t + o * n for t, o in zip(totals, outs)]
        seen += n
    means = [t / seen for t in totals]
    return means[0] if len(means) == 1 else means


def evaluate_generator(model, generator, steps):
    return _evaluate_iterator(model, _iterate(generator), _steps(generator, steps, "steps"))


def predict_generator(model, generator, steps, verbose=0):
    steps = _steps(generator, steps, "steps")
    iterator, f = _iterate(generator), model._make_predict_function()
    progbar = Progbar(target=steps) if verbose == 1 else None
    chunks = None
    for step in range(steps):
        try:
            batch = next(iterator)
        except StopIteration:
            raise ValueError("the prediction generator ran out of batches before `steps`") from None
        x = batch[0] if isinstance(batch, tuple) and len(batch) in (2, 3) else batch
        x = arrays.standardize_input_data(x, model.input_names, [t.shape for t in model.inputs], False, "input",
                                         dtypes=[t.dtype for t in model.inputs])
        outs = f(*x)
        chunks = [[o] for o in outs] if chunks is None else [c + [o] for c, o in zip(chunks, outs)]
        if progbar is not None:
            progbar.update(step + 1)
    results = [np.concatenate(c) for c in chunks]
    return results[0] if len(results) == 1 else results
