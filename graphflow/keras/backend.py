"""``graphflow.keras.backend`` (``K``): Keras 2's configuration and a few tensor helpers.

Configuration, read once at import (never written): ``~/.graphflow/keras.json`` when it
exists (keys ``image_data_format``, ``floatx``, ``epsilon``), else the
``image_data_format`` of ``~/.keras/keras.json`` when that exists, else the Keras 2
defaults (channels_last, float32, 1e-7).

    >>> from graphflow.keras import backend as K
    >>> K.image_data_format(), K.floatx(), K.epsilon()
    ('channels_last', 'float32', 1e-07)

Configuration lives in ``graphflow.keras.backend_config``; the rest of Keras 2's
backend API in modules re-exported here: graphs and
state (``K.function``, ``K.gradients``, ``K.placeholder``, ``K.variable``, ``K.eval``,
``K.learning_phase``...; ``graphflow.keras.backend_graph``) and the tensor math custom
layers and losses use (``K.mean(K.square(y_pred - y_true), axis=-1)``, ``K.conv2d``...;
``graphflow.keras.backend_math``), and volumes, unshared convolutions and batched dot
products (``K.conv3d``, ``K.pool3d``, ``K.local_conv2d``, ``K.batch_dot``...;
``graphflow.keras.backend_spatial``). They take and return graphflow tensors.
"""
from .backend_config import (  # noqa: A004 (Keras's names shadow builtins)
    reload_config, image_data_format, set_image_data_format, image_dim_ordering,
    set_image_dim_ordering, floatx, set_floatx, epsilon, set_epsilon,
    cast_to_floatx, backend, get_uid, reset_uids, clear_session,
)
from .backend_graph import (  # noqa: A004 (Keras's names shadow builtins)
    variable, constant, zeros, ones, eye, random_uniform_variable,
    random_normal_variable, placeholder, is_keras_tensor, get_value, batch_get_value,
    set_value, batch_set_value, eval, update, update_add, update_sub,
    moving_average_update, count_params, int_shape, ndim, dtype, learning_phase,
    set_learning_phase, Function, function, gradients, stop_gradient,
    in_train_phase, in_test_phase,
)
from .backend_math import (  # noqa: A004 (Keras's names shadow builtins)
    mean, sum, max, min, prod, std, var, argmax, argmin, cast, equal,
    not_equal, greater, less, clip, round, in_top_k, l2_normalize, dot,
    batch_flatten, flatten, reshape, transpose, permute_dimensions, expand_dims,
    squeeze, concatenate, softmax, categorical_crossentropy,
    sparse_categorical_crossentropy, binary_crossentropy, ones_like, zeros_like,
    identity, shape, logsumexp, gather, switch, tile, repeat,
    repeat_elements, resize_images, stack, one_hot, reverse, temporal_padding,
    spatial_2d_padding, relu, elu, softsign, hard_sigmoid, dropout, bias_add,
    conv2d, conv2d_transpose, pool2d, batch_normalization, print_tensor, abs, exp,
    log, sqrt, square, sign, tanh, sigmoid, softplus, maximum, minimum, pow,
    greater_equal, less_equal, where, log1p,
)

from .backend_spatial import (
    batch_dot, conv3d, conv3d_transpose, local_conv1d, local_conv2d, pool3d, resize_volumes, spatial_3d_padding,
)

from .backend_rnn import rnn

__all__ = [
    "reload_config", "image_data_format", "set_image_data_format", "image_dim_ordering",
    "set_image_dim_ordering", "floatx", "set_floatx", "epsilon", "set_epsilon",
    "cast_to_floatx", "backend", "get_uid", "reset_uids", "clear_session", "variable",
    "constant", "zeros", "ones", "eye", "random_uniform_variable", "random_normal_variable",
    "placeholder", "is_keras_tensor", "get_value", "batch_get_value", "set_value",
    "batch_set_value", "eval", "update", "update_add", "update_sub", "moving_average_update",
    "count_params", "int_shape", "ndim", "dtype", "learning_phase", "set_learning_phase",
    "Function", "function", "gradients", "stop_gradient", "in_train_phase", "in_test_phase",
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
    "rnn",
    "batch_dot", "conv3d", "conv3d_transpose", "local_conv1d", "local_conv2d", "pool3d", "resize_volumes", "spatial_3d_padding",
]
