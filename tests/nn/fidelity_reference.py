"""A float64 NumPy reference of ``relu(conv(relu(conv(x, k1) + b1), k2) + b2)`` and its
gradients, for the fidelity tests: direct sums (no fast algorithm), 3x3 kernels, stride 1,
"valid" or "same" padding, channels-last.

The backward pass takes the ReLU decisions as given (``masks``), so a test can use the
float64 decision wherever it is clear and the float32 run's own where the float64 value
lies within float32 rounding of zero (there either side is the right answer)."""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def _pad(x, p):
    return np.pad(x, ((0, 0), (p, p), (p, p), (0, 0))) if p else x


def windows(x, p):
    """(n, oh, ow, c, 3, 3): the receptive field of every output of a 3x3 stride-1 conv."""
    return sliding_window_view(_pad(x, p), (3, 3), axis=(1, 2))


def conv(x, k, p):
    return np.einsum("nijcab,abco->nijo", windows(x, p), k, optimize=True)


def conv_input_grad(dz, k, p):
    """d<conv(x, k, p), dz>/dx: dz padded by 2 - p, correlated with the flipped kernel."""
    return conv(_pad(dz, 2 - p), np.ascontiguousarray(k[::-1, ::-1].transpose(0, 1, 3, 2)), 0)


def zero_windows(x, p):
    """(n, oh, ow): True where the whole receptive field (all channels, padding) is zero."""
    return ~windows(x, p).any(axis=(3, 4, 5))


def forward(x, k1, b1, k2, b2, p):
    """Pre-activations z1, z2 in float64."""
    x, k1, b1, k2, b2 = (np.asarray(a, np.float64) for a in (x, k1, b1, k2, b2))
    z1 = conv(x, k1, p) + b1
    z2 = conv(np.maximum(z1, 0), k2, p) + b2
    return z1, z2


def gradients(x, k1, b1, k2, b2, r, p, z1, masks):
    """d sum(relu(z2) * r) / (k1, b1, k2, b2) with the ReLU decisions ``masks`` (m1, m2)."""
    x, k2, r = (np.asarray(a, np.float64) for a in (x, k2, r))
    m1, m2 = masks
    h1 = np.where(m1, z1, 0.0)
    dz2 = r * m2
    dk2 = np.einsum("nijcab,nijo->abco", windows(h1, p), dz2, optimize=True)
    dz1 = conv_input_grad(dz2, k2, p) * m1
    dk1 = np.einsum("nijcab,nijo->abco", windows(x, p), dz1, optimize=True)
    return dk1, dz1.sum((0, 1, 2)), dk2, dz2.sum((0, 1, 2))
