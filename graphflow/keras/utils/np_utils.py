"""NumPy helpers of Keras 2's ``keras.utils.np_utils``: one-hot encoding of labels."""
import numpy as np


def to_categorical(y, num_classes=None):
    """One-hot encode integer class labels, as Keras 2 does.

    ``y`` is flattened first (``np.array(y, int).ravel()``), so labels of shape (n, 1)
    give an (n, C) matrix. ``C`` is ``num_classes`` or ``max(y) + 1``. The result is
    float64, with one 1.0 per row.

        >>> to_categorical([[0], [2]])
        array([[1., 0., 0.],
               [0., 0., 1.]])

    Unlike Keras 2 (an IndexError for labels >= C, silent wrap-around for negative
    ones), any label outside 0..C-1 raises an IndexError that names it.
    """
    y = np.array(y, dtype=int).ravel()
    if num_classes is None:
        if y.size == 0:
            raise ValueError("to_categorical: cannot infer num_classes from empty labels; pass it")
        num_classes = int(y.max()) + 1
    bad = (y < 0) | (y >= num_classes)
    if bad.any():
        raise IndexError(
            f"to_categorical: labels must be in 0..{num_classes - 1} (num_classes={num_classes}); "
            f"got {y[bad][0]} at flat position {int(np.flatnonzero(bad)[0])}")
    categorical = np.zeros((y.shape[0], num_classes))
    categorical[np.arange(y.shape[0]), y] = 1
    return categorical


def normalize(x, axis=-1, order=2):
    """Scale ``x`` to unit ``order``-norm along ``axis`` (zero vectors stay zero).

        >>> normalize(np.array([[3., 4.]]))
        array([[0.6, 0.8]])
    """
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)
