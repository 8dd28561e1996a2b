"""Keras 2's backend tensor math (re-exported by ``graphflow.keras.backend``): what custom
layers, losses and metrics call, on graphflow tensors.

    >>> from graphflow.keras import backend as K
    >>> def my_loss(y_true, y_pred):
    ...     return K.mean(K.square(y_pred - y_true), axis=-1)

Keras tensors (layer outputs) are accepted where a tensor is expected inside a Lambda's
function; the result is a graphflow tensor.
"""
import builtins

import numpy as np

import graphflow as gf

from . import backend_config as _config

__all__ = [
    "mean", "sum", "max", "min", "prod", "std", "var", "argmax", "argmin", "cast", "equal",
    "not_equal", "greater", "less", "clip", "round", "in_top_k", "l2_normalize", "dot",
    "batch_flatten", "flatten", "reshape", "transpose", "permute_dimensions", "expand_dims",
    "squeeze", "concatenate", "softmax", "categorical_crossentropy",
    "sparse_categorical_crossentropy", "binary_crossentropy", "ones_like", "zeros_like",
    "identity", "shape", "logsumexp", "gather", "switch", "tile", "repeat",
    "repeat_elements", "resize_images", "stack", "one_hot", "reverse", "temporal_padding",
    "spatial_2d_padding", "relu", "elu", "softsign", "hard_sigmoid", "dropout", "bias_add",
    "conv2d", "conv2d_transpose", "pool2d", "batch_normalization", "print_tensor", "abs", "exp",
    "log", "sqrt", "square", "sign", "tanh", "sigmoid", "softplus", "maximum", "minimum", "pow",
    "greater_equal", "less_equal", "where", "log1p",
]

# ---------------------------------------------------------------- tensor helpers

def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def mean(x, axis=None, keepdims=False):
    return gf.mean(x, _axis(axis), keepdims)


def sum(x, axis=None, keepdims=False):  # noqa: A001 (Keras's name)
    return gf.sum(x, _axis(axis), keepdims)


def max(x, axis=None, keepdims=False):  # noqa: A001
    return gf.max(x, _axis(axis), keepdims)


def min(x, axis=None, keepdims=False):  # noqa: A001
    return gf.min(x, _axis(axis), keepdims)


def prod(x, axis=None, keepdims=False):
    return gf.prod(x, _axis(axis), keepdims)


def std(x, axis=None, keepdims=False):
    return gf.std(x, _axis(axis), keepdims)


def var(x, axis=None, keepdims=False):
    return gf.var(x, _axis(axis), keepdims)


def argmax(x, axis=-1):
    return gf.argmax(x, axis)


def argmin(x, axis=-1):
    return gf.argmin(x, axis)


def cast(x, dtype):
    return gf.cast(x, dtype)


def equal(x, y):
    return gf.equal(x, y)


def not_equal(x, y):
    return gf.not_equal(x, y)


def greater(x, y):
    return gf.greater(x, y)


def less(x, y):
    return gf.less(x, y)


def clip(x, min_value, max_value):
    """Element-wise clip; ``None`` leaves that side open."""
    lo = -np.inf if min_value is None else float(min_value)
    hi = np.inf if max_value is None else float(max_value)
    return gf.clip(x, lo, builtins.max(lo, hi))


def round(x):  # noqa: A001
    """Round to the nearest integer, halves to even (as TensorFlow's round)."""
    r = gf.floordiv(x + 0.5, 1.0)
    tie_to_odd = gf.logical_and(gf.equal(r - x, 0.5), gf.equal(gf.mod(r, 2.0), 1.0))
    return gf.where(tie_to_odd, r - 1.0, r)


def in_top_k(predictions, targets, k):
    """Whether each row's target class is among its ``k`` largest predictions (ties count
    as in, as TensorFlow's in_top_k). ``targets`` holds integer class indices."""
    classes = predictions.shape[-1]
    target_score = gf.sum(predictions * gf.nn.one_hot(targets, classes, predictions.dtype), -1, keepdims=True)
    above = gf.sum(gf.cast(gf.greater(predictions, target_score), "int32"), -1)
    return gf.less(above, int(k))


def l2_normalize(x, axis=-1):
    return x / gf.sqrt(gf.maximum(gf.sum(gf.square(x), axis, keepdims=True), 1e-12))


def dot(x, y):
    return gf.dot(x, y)


def batch_flatten(x):
    return gf.flatten(x)


def flatten(x):
    return gf.reshape(x, (-1,))


def reshape(x, shape):
    return gf.reshape(x, shape)


def transpose(x):
    return gf.transpose(x)


def permute_dimensions(x, pattern):
    return gf.transpose(x, tuple(pattern))


def expand_dims(x, axis=-1):
    return gf.expand_dims(x, axis)


def squeeze(x, axis):
    return gf.squeeze(x, axis)


def concatenate(tensors, axis=-1):
    return gf.concatenate(list(tensors), axis)


def softmax(x):
    return gf.nn.softmax(x)


def categorical_crossentropy(target, output, from_logits=False):
    """Per-sample cross-entropy. NOTE: (target, output) order, as Keras >= 2.0.7; Keras
    2.0.6's backend took (output, target)."""
    return gf.nn.categorical_crossentropy(target, output, from_logits=from_logits, epsilon=_config.epsilon())


def sparse_categorical_crossentropy(target, output, from_logits=False):
    """(target, output) order, as Keras >= 2.0.7."""
    return gf.nn.sparse_categorical_crossentropy(target, output, from_logits=from_logits,
                                                 epsilon=_config.epsilon())


def binary_crossentropy(target, output, from_logits=False):
    """Element-wise; (target, output) order, as Keras >= 2.0.7."""
    return gf.nn.binary_crossentropy(target, output, from_logits=from_logits, epsilon=_config.epsilon())


def ones_like(x, dtype=None, name=None):
    """Ones of ``x``'s run-time shape; ``x``'s values are not read (NaN stays out)."""
    return gf.ones_like(x, dtype)


def zeros_like(x, dtype=None, name=None):
    return gf.zeros_like(x, dtype)


def identity(x):
    return x * 1


def shape(x):
    """The static shape (graphflow has no run-time shape tensors; ``None`` = unknown)."""
    return tuple(x.shape)


def logsumexp(x, axis=None, keepdims=False):
    return gf.logsumexp(x, _axis(axis), keepdims)


def gather(reference, indices):
    """Rows ``indices`` of ``reference`` (an embedding lookup)."""
    return gf.take(reference, indices, axis=0)


def switch(condition, then_expression, else_expression):
    """``then`` where ``condition`` holds, else ``else`` (element-wise; callables allowed)."""
    then = then_expression() if callable(then_expression) else then_expression
    other = else_expression() if callable(else_expression) else else_expression
    return gf.where(gf.cast(condition, "bool"), then, other)


def tile(x, n):
    return gf.tile(x, (n,) if isinstance(n, int) else tuple(n))


def repeat(x, n):
    """(batch, dim) -> (batch, n, dim)."""
    return gf.tile(gf.expand_dims(x, 1), (1, int(n), 1))


def repeat_elements(x, rep, axis):
    """Each slice along ``axis`` repeated ``rep`` times in place (as ``np.repeat``). The
    result is reshaped, so at most one dimension (the batch) may be unknown."""
    axis = axis % x.ndim
    reps = [1] * (x.ndim + 1)
    reps[axis + 1] = int(rep)
    tiled = gf.tile(gf.expand_dims(x, axis + 1), tuple(reps))
    target = [-1 if d is None else d for d in x.shape]
    if target[axis] == -1 or target.count(-1) > 1:
        raise ValueError(f"repeat_elements along axis {axis} needs that axis and all but one other known, "
                         f"got shape {x.shape}")
    target[axis] *= int(rep)
    return gf.reshape(tiled, tuple(target))


def resize_images(x, height_factor, width_factor, data_format):
    """Nearest-neighbour upsampling of the two spatial axes by integer factors."""
    rows, cols = (1, 2) if data_format == "channels_last" else (2, 3)
    return repeat_elements(repeat_elements(x, height_factor, rows), width_factor, cols)


def stack(x, axis=0):
    return gf.stack(list(x), axis)


def one_hot(indices, num_classes):
    return gf.nn.one_hot(indices, num_classes)


def reverse(x, axes):
    axes = [axes] if isinstance(axes, int) else list(axes)
    key = [slice(None)] * x.ndim
    for a in axes:
        key[a] = slice(None, None, -1)
    return x[tuple(key)]


def temporal_padding(x, padding=(1, 1)):
    """Zero-pad the middle axis of a 3-D tensor."""
    return gf.pad(x, ((0, 0), tuple(padding), (0, 0)))


def spatial_2d_padding(x, padding=((1, 1), (1, 1)), data_format=None):
    data_format = data_format or _config.image_data_format()
    rows, cols = (tuple(p) for p in padding)
    if data_format == "channels_last":
        return gf.pad(x, ((0, 0), rows, cols, (0, 0)))
    return gf.pad(x, ((0, 0), (0, 0), rows, cols))


def relu(x, alpha=0.0, max_value=None):
    """max(x, 0), with ``alpha * x`` below 0 and a cap at ``max_value`` when given."""
    y = gf.relu(x) if alpha == 0.0 else gf.nn.leaky_relu(x, alpha)
    return y if max_value is None else gf.minimum(y, float(max_value))


def elu(x, alpha=1.0):
    return gf.nn.elu(x, alpha)


def softsign(x):
    return gf.nn.softsign(x)


def hard_sigmoid(x):
    return gf.nn.hard_sigmoid(x)


def dropout(x, level, noise_shape=None, seed=None):
    """Inverted dropout at rate ``level`` (always on: wrap it in ``in_train_phase``)."""
    return gf.nn.dropout(x, level, seed=seed, noise_shape=noise_shape)


def bias_add(x, bias, data_format=None):
    return gf.nn.bias_add(x, bias, data_format or "channels_last")


def conv2d(x, kernel, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1)):
    return gf.nn.conv2d(x, kernel, strides, padding, data_format or _config.image_data_format(), dilation_rate)


def conv2d_transpose(x, kernel, output_shape=None, strides=(1, 1), padding="valid", data_format=None):
    """Transposed convolution; ``output_shape`` (Keras 2 passes it) is checked, not needed."""
    y = gf.nn.conv2d_transpose(x, kernel, strides, padding, data_format or _config.image_data_format())
    if output_shape is not None and any(a is not None and b is not None and int(a) != b
                                        for a, b in zip(output_shape[1:], y.shape[1:])):
        raise ValueError(f"conv2d_transpose: output_shape {tuple(output_shape)} does not match the shape "
                         f"{y.shape} these strides and padding give")
    return y


def pool2d(x, pool_size, strides=(1, 1), padding="valid", data_format=None, pool_mode="max"):
    pool = {"max": gf.nn.max_pool2d, "avg": gf.nn.avg_pool2d}.get(pool_mode)
    if pool is None:
        raise ValueError(f"Invalid pooling mode: {pool_mode!r}; expected 'max' or 'avg'")
    return pool(x, pool_size, strides, padding, data_format or _config.image_data_format())


def batch_normalization(x, mean, var, beta, gamma, epsilon=1e-3):
    return (x - mean) / gf.sqrt(var + epsilon) * gamma + beta


def print_tensor(x, message=""):
    """Returns ``x`` (graphflow has no print op: inspect values with ``K.function``)."""
    return x


for _name in ("abs", "exp", "log", "sqrt", "square", "sign", "tanh", "sigmoid", "softplus",
              "maximum", "minimum", "pow", "greater_equal", "less_equal", "where", "log1p"):
    globals()[_name] = getattr(gf, _name)
del _name
