"""Cross-entropies as Keras 2 (TensorFlow backend) computes them, plus the fused
``SoftmaxCrossEntropy`` op they rest on.

Arguments come in Keras >= 2.0.7 order, ``(target, output)``; Keras 2.0.6's backend took
``(output, target)``. With ``from_logits=False`` the output is a probability: it is
clipped to ``[epsilon, 1 - epsilon]`` (epsilon = 1e-7, Keras's ``K.epsilon()``), so the
gradient is zero where the clip bites, exactly as in Keras.

    >>> loss = gf.nn.categorical_crossentropy(y_true, gf.nn.softmax(logits))   # per sample
"""
from __future__ import annotations

from dataclasses import dataclass

from ...graph import Op, Tensor, TensorType, format_shape
from ...graph.dtypes import as_dtype, is_float, is_integer
from .._util import as_bool, as_float, as_int, operands, user_errors
from ..elementwise import cast, clip, exp, greater_equal, log, log1p, where
from ..reductions import sum as reduce_sum
from ..shape import expand_dims, squeeze
from .softmax_ops import log_softmax, softmax

EPSILON = 1e-7


@dataclass(frozen=True)
class SoftmaxCrossEntropy(Op):
    """loss = -sum(target * log_softmax(logits), axis=-1), computed stably in one pass.

    d loss/d logits = softmax(logits) * sum(target) - target (softmax - target for
    one-hot or probability targets), d loss/d target = -log_softmax(logits), each times
    the incoming gradient. The compiler rewrites ``categorical_crossentropy(t, softmax(x))``
    into this op."""

    def flops(self, in_types, out_types):  # log-softmax, then a product and a sum
        return 4 * (in_types[0].size or 0)

    views = ()  # kernels return fresh arrays

    def infer(self, logits, target):
        if not (is_float(logits.dtype) and logits.dtype == target.dtype):
            raise TypeError(f"logits and target must share one float dtype, got {logits.dtype} and "
                            f"{target.dtype}")
        if logits.ndim < 1 or logits.ndim != target.ndim or any(
                a is not None and b is not None and a != b for a, b in zip(logits.shape, target.shape)):
            raise ValueError(f"logits {format_shape(logits.shape)} and target {format_shape(target.shape)} "
                             f"must have the same shape, classes last")
        if logits.shape[-1] == 0:
            raise ValueError("the class axis is empty")
        return TensorType(logits.dtype, logits.shape[:-1])

    def grad(self, inputs, outputs, gys):
        logits, target = inputs
        g = expand_dims(gys[0], -1)
        g_logits = (softmax(logits) * reduce_sum(target, -1, keepdims=True) - target) * g
        return [g_logits, -log_softmax(logits) * g]


@dataclass(frozen=True)
class OneHot(Op):
    """y[..., k] = 1 where indices[...] == k, else 0; k in [0, depth). An index outside
    that range is an error at run time (a silent all-zero row would hide a label bug)."""
    views = ()  # kernels return fresh arrays

    depth: int
    dtype: str = "float32"

    def infer(self, indices):
        if not is_integer(indices.dtype):
            raise TypeError(f"one_hot needs integer indices, got {indices.dtype}")
        if self.depth < 1:
            raise ValueError(f"one_hot depth must be >= 1, got {self.depth}")
        return TensorType(self.dtype, indices.shape + (self.depth,))

    def grad(self, inputs, outputs, gys):
        return [None]


@user_errors
def one_hot(indices, depth, dtype="float32") -> Tensor:
    """Integer labels to one-hot rows: ``one_hot([2, 0], 3)`` -> ``[[0, 0, 1], [1, 0, 0]]``."""
    (indices,) = operands(indices)
    return OneHot(as_int(depth, "depth"), as_dtype(dtype))(indices)


@user_errors
def softmax_cross_entropy(logits, target) -> Tensor:
    """The fused, stable ``-sum(target * log_softmax(logits), -1)``."""
    logits, target = operands(logits, target)
    return SoftmaxCrossEntropy()(logits, target)


def _operands(target, output, epsilon):
    """``(target, output)`` as tensors; the output holds predictions, which are floats
    (as TensorFlow's cross-entropies require: integer logits would be computed in
    integer arithmetic)."""
    as_float(epsilon, "epsilon")
    target, output = operands(target, output)
    if not is_float(output.dtype):
        raise TypeError(f"the output (predictions) must be a float tensor, got {output.dtype}")
    return target, output


def _probabilities(output, epsilon):
    epsilon = as_float(epsilon, "epsilon")
    return clip(output, epsilon, 1 - epsilon)


@user_errors
def categorical_crossentropy(target, output, from_logits=False, epsilon=EPSILON) -> Tensor:
    """Per-sample cross-entropy over the last axis, as Keras 2 / TensorFlow:
    ``output /= sum(output, -1)``, clip to ``[epsilon, 1 - epsilon]``,
    ``-sum(target * log(output), -1)``; with ``from_logits=True`` the output holds logits
    and the stable ``SoftmaxCrossEntropy`` is used.

    >>> gf.nn.categorical_crossentropy(y_true, probs)      # shape (batch,)
    """
    target, output = _operands(target, output, epsilon)
    if as_bool(from_logits, "from_logits"):
        return SoftmaxCrossEntropy()(output, cast(target, output.dtype))
    output = output / reduce_sum(output, -1, keepdims=True)
    return -reduce_sum(target * log(_probabilities(output, epsilon)), -1)


@user_errors
def sparse_categorical_crossentropy(target, output, from_logits=False, epsilon=EPSILON) -> Tensor:
    """Cross-entropy with integer class labels (Keras 2 / TensorFlow): ``target`` holds
    class indices shaped like ``output`` without its class axis (a trailing axis of length
    1 is allowed; float labels are cast to int64). Probabilities are clipped, logged and
    put through a softmax cross-entropy, so they need not sum to 1.

    >>> gf.nn.sparse_categorical_crossentropy(labels, probs)   # labels (batch,) ints
    """
    target, output = _operands(target, output, epsilon)
    classes = output.shape[-1] if output.ndim else None
    if classes is None:
        raise ValueError(f"the class axis of the output "
                         f"{format_shape(output.shape)} must be known")
    if target.ndim == output.ndim and target.shape[-1] in (1, None):
        target = squeeze(target, -1)
    if target.ndim != output.ndim - 1:
        raise ValueError(f"labels {format_shape(target.shape)} do not fit "
                         f"the output {format_shape(output.shape)}")
    if not is_integer(target.dtype):
        target = cast(target, "int64")
    logits = output if as_bool(from_logits, "from_logits") else log(_probabilities(output, epsilon))
    return SoftmaxCrossEntropy()(logits, one_hot(target, classes, logits.dtype))


@user_errors
def binary_crossentropy(target, output, from_logits=False, epsilon=EPSILON) -> Tensor:
    """Element-wise binary cross-entropy (no mean: Keras's ``losses.binary_crossentropy``
    averages this over the last axis). As Keras 2 / TensorFlow: unless ``from_logits``,
    clip ``output`` to ``[epsilon, 1 - epsilon]`` and take the logit
    ``x = log(p / (1 - p))``; then TensorFlow's stable sigmoid cross-entropy
    ``max(x, 0) - x * target + log(1 + exp(-|x|))``, whose branches split at ``x >= 0``
    so the gradient at x = 0 (p = 0.5) is the true ``0.5 - target``.

    >>> gf.nn.binary_crossentropy(y_true, gf.sigmoid(z))
    """
    target, output = _operands(target, output, epsilon)
    if not as_bool(from_logits, "from_logits"):
        p = _probabilities(output, epsilon)
        output = log(p / (1 - p))
    positive = greater_equal(output, 0)
    return where(positive, output, 0) - output * target + log1p(exp(where(positive, -output, output)))
