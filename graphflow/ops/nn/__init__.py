"""``gf.nn``: the neural-network ops — convolution and pooling (2-D, and 3-D built on them), softmax, cross-entropies,
dropout and activations.

    >>> h = gf.nn.conv2d(x, k, padding="same")
    >>> h = gf.nn.max_pool2d(gf.relu(gf.nn.bias_add(h, b)))
    >>> loss = gf.mean(gf.nn.categorical_crossentropy(y, gf.nn.softmax(logits)))
"""
from ..elementwise import relu, sigmoid, softplus, tanh
from .activations import (Elu, Gelu, HardSigmoid, LeakyRelu, Selu, Softsign, elu, gelu, hard_sigmoid,
                          leaky_relu, selu, softsign)
from .bias import bias_add
from .conv import Conv2D, Conv2DBackpropFilter, Conv2DBackpropInput, conv2d
from .conv_transpose import Conv2DTranspose, conv2d_transpose
from .losses import (OneHot, SoftmaxCrossEntropy, binary_crossentropy, categorical_crossentropy, one_hot,
                     softmax_cross_entropy, sparse_categorical_crossentropy)
from .noise import Dropout, dropout
from .recurrent_cells import LSTMCell, LSTMCellGrad, lstm_cell
from .pool import (AvgPool2D, AvgPool2DGrad, MaxPool2D, MaxPool2DGrad, MaxPool2DGradGrad, avg_pool2d,
                   max_pool2d)
from .seeding import draw_seed, set_random_seed
from .softmax_ops import LogSoftmax, Softmax, log_softmax, softmax
from .volumetric import avg_pool3d, conv3d, conv3d_transpose, max_pool3d

__all__ = [
    # functions
    "avg_pool2d", "avg_pool3d", "bias_add", "binary_crossentropy", "categorical_crossentropy", "conv2d", "conv2d_transpose", "conv3d", "conv3d_transpose", "draw_seed", "dropout", "elu",
    "gelu", "hard_sigmoid", "leaky_relu", "log_softmax", "lstm_cell", "max_pool2d", "max_pool3d", "one_hot", "relu", "selu",
    "set_random_seed", "sigmoid", "softmax", "softmax_cross_entropy", "softplus", "softsign",
    "sparse_categorical_crossentropy", "tanh",
    # ops
    "AvgPool2D", "AvgPool2DGrad", "Conv2D", "Conv2DBackpropFilter", "Conv2DBackpropInput", "Conv2DTranspose", "Dropout", "Elu",
    "Gelu", "HardSigmoid", "LeakyRelu", "LogSoftmax", "LSTMCell", "LSTMCellGrad", "MaxPool2D", "MaxPool2DGrad", "MaxPool2DGradGrad",
    "OneHot", "Selu", "Softmax", "SoftmaxCrossEntropy", "Softsign",
]
