"""Model: a Network that can be compiled and trained (Keras 2's ``engine.training``).

``compile()`` configures the loss and builds the test graph (so a loss that does not fit
fails at once); three functions are compiled with ``gf.function`` when first used, as
Keras 2 did (``model.train_function`` & co are lazily built properties):

* train: the training-phase graph (dropout on, batch statistics) -> [loss, metrics...],
  with the optimizer's updates (weights, slots, ``iterations``) and the layers' own
  updates (BatchNormalization's moving averages);
* test: the inference-phase graph -> [loss, metrics...], no updates;
* predict: the inference-phase graph -> outputs.

Loss = sum over outputs of ``loss_weight * mean(loss(y, y_pred) * w) / mean(w != 0)``
with per-sample weights ``w`` (ones by default), plus the regularisation penalties.
"""
import warnings

import graphflow as gf

from .. import backend as K
from .. import losses as losses_module
from .. import metrics as metrics_module
from .. import optimizers
from . import loops
from .network import Network
from .step_options import StepOptions


def _per_output(value, names, what, default=None):
    """A value given once, as a list or as a dict by output name -> one per output."""
    if isinstance(value, dict):
        unknown = set(value) - set(names)
        if unknown:
            raise ValueError(f"Unknown entries in {what} dictionary: {sorted(unknown)}. Only expected the "
                             f"following keys: {names}")
        return [value.get(n, default) for n in names]
    if isinstance(value, (list, tuple)) and what != "metrics":
        if len(value) != len(names):
            raise ValueError(f"When passing a list as {what}, it should have one entry per model output. The model "
                             f"has {len(names)} outputs, but you passed {what}={value!r}")
        return list(value)
    return [value] * len(names)


class Model(Network):
    """A trainable graph of layers: ``Model(inputs=a, outputs=b)`` (Keras 1's
    ``input=``/``output=`` still work, with a warning).

    >>> x = Input(shape=(784,)); y = Dense(10, activation="softmax")(Dense(64)(x))
    >>> model = Model(inputs=x, outputs=y)
    >>> model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    """

    def __init__(self, inputs=None, outputs=None, name=None, **kwargs):
        if "input" in kwargs or "output" in kwargs:
            warnings.warn("Update your `Model` call to the Keras 2 API: `Model(inputs=..., outputs=...)` instead "
                          "of `input=` / `output=`", stacklevel=2)
            inputs = kwargs.pop("input", inputs)
            outputs = kwargs.pop("output", outputs)
        super().__init__(inputs, outputs, name=name, **kwargs)
        self.optimizer = None
        self.stop_training = False
        self.step_options = StepOptions()  # what callbacks ask of the training step
        self._functions = {}

    @property
    def input_names(self):
        return [layer.name for layer in self.input_layers]

    @property
    def output_names(self):
        return [layer.name for layer in self.output_layers]

    # ------------------------------------------------------------ compile
    def compile(self, optimizer, loss, metrics=None, loss_weights=None, sample_weight_mode=None, **kwargs):
        """Configure training: ``optimizer`` (name or instance), ``loss`` (name or function,
        or a list/dict with one per output), ``metrics`` (e.g. ['accuracy']). The train,
        test and predict functions are compiled when first used (``fit``, ``evaluate``,
        ``predict``; or ``model.train_function``...), so a model only used to predict
        never compiles the other two."""
        if kwargs:
            raise TypeError(f"Invalid keyword argument(s) for compile(): {sorted(kwargs)}")
        if not hasattr(self, "outputs"):
            raise RuntimeError(f"model {self.name} has no layers yet: add layers before compiling it")
        self.optimizer = optimizers.get(optimizer)
        self.loss, self.metrics = loss, list(metrics or [])
        self.loss_weights, self.sample_weight_mode = loss_weights, sample_weight_mode
        names = self.output_names
        self.loss_functions = [losses_module.get(fn) for fn in _per_output(loss, names, "loss")]
        if any(fn is None for fn in self.loss_functions):
            raise ValueError("every model output needs a loss")
        self._loss_weight_list = [1.0 if w is None else float(w)
                                  for w in _per_output(loss_weights, names, "loss_weights", 1.0)]
        self._sample_weight_modes = _per_output(sample_weight_mode, names, "sample_weight_mode")
        self._metric_lists = self._resolve_metrics(metrics, names)
        self._targets, self._sample_weights = [], []
        for name, out, fn, mode in zip(names, self.outputs, self.loss_functions, self._sample_weight_modes):
            shape = out.shape
            if fn is losses_module.sparse_categorical_crossentropy:
                shape = shape[:-1] + (1,)
            self._targets.append(gf.placeholder(shape, K.floatx(), name=gf.derived_name(name, "_target")))
            weight_shape = (None, None) if mode == "temporal" else (None,)
            self._sample_weights.append(gf.placeholder(weight_shape, K.floatx(),
                                                       name=gf.derived_name(name, "_sample_weights")))
        self.metrics_names = ["loss"]
        if len(names) > 1:
            self.metrics_names += [f"{n}_loss" for n in names]
        for i, metric_list in enumerate(self._metric_lists):
            prefix = f"{names[i]}_" if len(names) > 1 else ""
            self.metrics_names += [prefix + label for label, _ in metric_list]
        self._functions = {}
        # the test graph now, so a loss that does not fit the outputs fails here; compiling
        # it (and the train and predict functions) waits for first use, as in Keras 2
        self._test_graph = self._phase_function(training=False)

    def _resolve_metrics(self, metrics, names):
        per_output = metrics if isinstance(metrics, dict) else {n: metrics or [] for n in names}
        resolved = []
        for i, name in enumerate(names):
            items = per_output.get(name) or []
            items = [items] if isinstance(items, str) or callable(items) else list(items)
            out = []
            for m in items:
                if m in ("accuracy", "acc"):
                    out.append(("acc", metrics_module.accuracy_for(self.loss_functions[i], self.outputs[i].shape)))
                else:
                    fn = metrics_module.get(m)
                    out.append((fn.__name__, fn))
            resolved.append(out)
        return resolved

    def _loss_and_metrics(self, outputs):
        """(total loss, [per-output losses], [metric tensors]) for a phase's outputs."""
        total, output_losses, metric_values = None, [], []
        for y_pred, y_true, weights, fn, lw in zip(outputs, self._targets, self._sample_weights,
                                                  self.loss_functions, self._loss_weight_list):
            with gf.name_scope("loss"):
                score = fn(y_true, y_pred)
                if score.ndim > weights.ndim:
                    score = gf.mean(score, tuple(range(weights.ndim, score.ndim)))
                score = score * weights
                score = score / gf.mean(gf.cast(gf.not_equal(weights, 0), K.floatx()))
                out_loss = gf.mean(score)
                weighted = out_loss if lw == 1.0 else lw * out_loss
                total = weighted if total is None else total + weighted
            output_losses.append(out_loss)
        for y_pred, y_true, metric_list in zip(outputs, self._targets, self._metric_lists):
            for label, fn in metric_list:
                with gf.name_scope(label):
                    metric_values.append(gf.mean(fn(y_true, y_pred)))
        return total, output_losses, metric_values

    def _phase_function(self, training):
        outputs, updates, activity_losses = self.build_phase(training)
        total, output_losses, metric_values = self._loss_and_metrics(outputs)
        with gf.name_scope("regularization"):
            # weight penalties once, activity penalties as this phase's graph made them
            for penalty in self.get_losses_for(None) + activity_losses:
                total = total + penalty
        results = [total] + (output_losses if len(output_losses) > 1 else []) + metric_values
        return results, updates

    def _feeds(self):
        return [t.tensor for t in self.inputs] + self._targets + self._sample_weights

    def _state_updates(self, updates):
        """Of a test or predict graph's updates, those of stateful layers' states (a
        stateful RNN carries its state from batch to batch in predict too, as in Keras 2)."""
        states = {id(v) for layer in self.layers if getattr(layer, "stateful", False)
                  for v in getattr(layer, "states", None) or []}
        return [u for u in updates if id(u[0]) in states]

    def _make_train_function(self):
        """Build and compile the training step (idempotent)."""
        if "train" in self._functions:
            return self._functions["train"]
        if self.optimizer is None:
            raise RuntimeError("You must compile your model before using it.")
        results, layer_updates = self._phase_function(training=True)
        updates = self.optimizer.get_updates(results[0], self.trainable_weights, self.constraints)
        f = gf.function(self._feeds(), results, updates=updates + layer_updates, name="train_function")
        self._functions["train"] = f
        return f

    def _make_test_function(self):
        if "test" not in self._functions:
            if self.optimizer is None:
                raise RuntimeError("You must compile your model before using it.")
            results, updates = self.__dict__.pop("_test_graph", None) or self._phase_function(training=False)
            self._functions["test"] = gf.function(self._feeds(), results, updates=self._state_updates(updates),
                                                  name="test_function")
        return self._functions["test"]

    def _make_predict_function(self):
        if "predict" not in self._functions:
            outputs, updates, _ = self.build_phase(training=False)
            self._functions["predict"] = gf.function([t.tensor for t in self.inputs], outputs,
                                                     updates=self._state_updates(updates), name="predict_function")
        return self._functions["predict"]

    def _train_step(self):
        """The training function to call now: the compiled step, or its sibling that checks
        every op's output for NaN/Inf while ``model.step_options.check_numerics`` asks for
        it (``fit(check_numerics=True)``, ``TerminateOnNaN(check_numerics=True)``)."""
        f = self._make_train_function()
        return f.checked() if self.step_options.check_numerics else f

    @property
    def train_function(self):
        """The compiled training step (a ``gf.Function``; draw it with ``gf.viz``)."""
        return self._make_train_function()

    @property
    def test_function(self):
        return self._make_test_function()

    @property
    def predict_function(self):
        return self._make_predict_function()

    # ------------------------------------------------------------ data
    def _standardize_user_data(self, x, y, sample_weight=None, class_weight=None, check_batch_axis=False,
                               batch_size=None):
        from . import arrays
        if self.optimizer is None:
            raise RuntimeError("You must compile a model before training/testing. Use `model.compile(optimizer, "
                               "loss)`.")
        x = arrays.standardize_input_data(x, self.input_names, [t.shape for t in self.inputs],
                                          check_batch_axis, "input", [t.dtype for t in self.inputs])
        y = arrays.standardize_input_data(y, self.output_names, [None] * len(self._targets), check_batch_axis,
                                          "target")
        # the loss-specific advice first: it says more than a bare shape mismatch
        arrays.check_loss_and_target_compatibility(y, [fn.__name__ for fn in self.loss_functions],
                                                   [t.shape for t in self.outputs], self.output_names)
        y = arrays.standardize_input_data(y, self.output_names, [t.shape for t in self._targets],
                                          check_batch_axis, "target")
        modes = self._sample_weight_modes
        sws = _per_output(sample_weight, self.output_names, "sample_weight") if sample_weight is not None \
            else [None] * len(y)
        cws = _per_output(class_weight, self.output_names, "class_weight") \
            if isinstance(class_weight, dict) and set(class_weight) <= set(self.output_names) \
            else [class_weight] * len(y)
        weights = [arrays.standardize_sample_weights(t, w, c, m) for t, w, c, m in zip(y, sws, cws, modes)]
        arrays.check_array_lengths(x, y, weights)
        if batch_size and self.inputs[0].shape[0] is not None and len(x[0]) % batch_size:
            raise ValueError(f"In a model with a fixed batch size the number of samples must be a multiple of "
                             f"the batch size; got {len(x[0])} samples and batch_size {batch_size}")
        return x, y, weights

    # ------------------------------------------------------------ public training API
    def fit(self, x=None, y=None, batch_size=32, epochs=1, verbose=1, callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, check_numerics=False, profile=False, **kwargs):
        """Train for ``epochs`` epochs; returns a ``History``. ``x`` may also be a
        generator (or Sequence) of batches, as in Keras 3.

        graphflow's additions: ``check_numerics=True`` raises ``gf.NumericsError`` at the
        first op of a training step whose output holds NaN or Inf (naming the op, its
        layer and your line); ``profile=True`` prints where the training step's time went
        (``gf.Function.profile``) after the first epoch."""
        if "nb_epoch" in kwargs:
            warnings.warn("The `nb_epoch` argument in `fit` has been renamed `epochs`.", stacklevel=2)
            epochs = kwargs.pop("nb_epoch")
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments: {kwargs}")
        if check_numerics or profile:
            from ..diagnostics import Diagnostics
            callbacks = list(callbacks or []) + [Diagnostics(check_numerics, profile)]
        try:
            if loops.is_generator(x):
                return self.fit_generator(x, steps_per_epoch, epochs=epochs, verbose=verbose, callbacks=callbacks,
                                          validation_data=validation_data, validation_steps=validation_steps,
                                          class_weight=class_weight, initial_epoch=initial_epoch)
            return loops.fit_arrays(self, x, y, batch_size, epochs, verbose, callbacks, validation_split,
                                    validation_data, shuffle, class_weight, sample_weight, initial_epoch)
        finally:  # a fit that raised never reached on_train_end: the next one runs unchecked
            self.step_options.reset()

    def evaluate(self, x, y, batch_size=32, verbose=1, sample_weight=None):
        """The loss (a float), or ``[loss, metric...]`` when metrics were compiled."""
        x, y, w = self._standardize_user_data(x, y, sample_weight, batch_size=batch_size)
        return loops.test_loop(self._make_test_function(), x + y + w, batch_size, verbose)

    def predict(self, x, batch_size=32, verbose=0):
        """Outputs for ``x`` (an array; a list of arrays for several outputs)."""
        from . import arrays
        x = arrays.standardize_input_data(x, self.input_names, [t.shape for t in self.inputs], False, "input",
                                         dtypes=[t.dtype for t in self.inputs])
        return loops.predict_loop(self._make_predict_function(), x, batch_size, verbose)

    def train_on_batch(self, x, y, sample_weight=None, class_weight=None):
        """One update on one batch; returns the loss (and metrics) computed before it."""
        x, y, w = self._standardize_user_data(x, y, sample_weight, class_weight, check_batch_axis=True)
        return loops.scalars(self._make_train_function()(*(x + y + w)))

    def test_on_batch(self, x, y, sample_weight=None):
        x, y, w = self._standardize_user_data(x, y, sample_weight, check_batch_axis=True)
        return loops.scalars(self._make_test_function()(*(x + y + w)))

    def predict_on_batch(self, x):
        from . import arrays
        x = arrays.standardize_input_data(x, self.input_names, [t.shape for t in self.inputs], False, "input",
                                         dtypes=[t.dtype for t in self.inputs])
        outs = self._make_predict_function()(*x)
        return outs[0] if len(outs) == 1 else outs

    def fit_generator(self, generator, steps_per_epoch=None, epochs=1, verbose=1, callbacks=None,
                      validation_data=None, validation_steps=None, class_weight=None, max_queue_size=10,
                      workers=1, use_multiprocessing=False, initial_epoch=0, **kwargs):
        """Train on batches from ``generator`` (``(x, y)`` or ``(x, y, sample_weight)``);
        ``steps_per_epoch`` counts batches (optional for a Sequence with ``len``).
        Batches are drawn in this thread: ``workers`` etc. are accepted and ignored."""
        return loops.fit_generator(self, generator, steps_per_epoch, epochs, verbose, callbacks, validation_data,
                                   validation_steps, class_weight, initial_epoch)

    def evaluate_generator(self, generator, steps=None, max_queue_size=10, workers=1, use_multiprocessing=False):
        return loops.evaluate_generator(self, generator, steps)

    def predict_generator(self, generator, steps=None, max_queue_size=10, workers=1, use_multiprocessing=False,
                          verbose=0):
        return loops.predict_generator(self, generator, steps, verbose)
