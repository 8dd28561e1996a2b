"""Utilities in Keras 2's ``keras.utils`` layout (``np_utils`` and ``vis_utils`` too).

    >>> from graphflow.keras.utils import to_categorical
    >>> to_categorical([1, 0], num_classes=3).tolist()
    [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
"""
from . import generic_utils, np_utils, vis_utils  # noqa: F401
from .np_utils import normalize, to_categorical  # noqa: F401
from .vis_utils import model_to_dot, plot_model  # noqa: F401
