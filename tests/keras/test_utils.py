"""graphflow.keras.utils: to_categorical and plot_model / model_to_dot."""
import shutil

import numpy as np
import pytest

from graphflow.keras import utils
from graphflow.keras.utils import np_utils, to_categorical, vis_utils


# ---------------------------------------------------------------- to_categorical

def test_to_categorical_matches_keras2():
    labels = np.random.default_rng(0).integers(0, 10, size=(20, 1))
    onehot = to_categorical(labels, num_classes=10)
    assert onehot.shape == (20, 10) and onehot.dtype == np.float64
    np.testing.assert_array_equal(onehot.argmax(1), labels.ravel())
    np.testing.assert_array_equal(onehot.sum(1), 1)
    assert to_categorical([2, 0]).tolist() == [[0, 0, 1], [1, 0, 0]]   # C = max + 1
    assert to_categorical(np.array([[1, 2], [0, 1]])).shape == (4, 3)  # flattened, as Keras 2
    assert np_utils.to_categorical is utils.to_categorical


def test_to_categorical_refuses_labels_out_of_range():
    with pytest.raises(IndexError, match="3"):
        to_categorical([0, 3], num_classes=3)
    with pytest.raises(IndexError, match="-1"):
        to_categorical([0, -1], num_classes=3)
    with pytest.raises(ValueError, match="num_classes"):
        to_categorical([])
    assert to_categorical([], num_classes=2).shape == (0, 2)


def test_normalize_gives_unit_rows():
    x = np.random.default_rng(1).normal(size=(5, 3))
    np.testing.assert_allclose(np.linalg.norm(np_utils.normalize(x), axis=1), 1)
