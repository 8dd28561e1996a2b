"""Endless batch iterators behind ``ImageDataGenerator.flow`` and ``.flow_from_directory``.

Each yields ``(batch_x, batch_y)`` (or ``batch_x`` alone) forever: one epoch is
``len(iterator)`` batches, the last one partial when the sample count is not a multiple of
the batch size, and the order is reshuffled at the start of every epoch. Index bookkeeping
is done under a lock, so several threads may draw from one iterator.

    >>> import numpy as np
    >>> from graphflow.keras.preprocessing.image import ImageDataGenerator
    >>> it = ImageDataGenerator().flow(np.zeros((5, 2, 2, 1)), np.arange(5), batch_size=2)
    >>> len(it), [len(next(it)[0]) for _ in range(4)]
    (3, [2, 2, 1, 2])
"""
import math
import os
import threading
import warnings

import numpy as np

from .image_io import PICTURE_EXTENSIONS, _data_format, _floatx, array_to_img, img_to_array, load_img

_SEED_LIMIT = 2 ** 31 - 1


class Iterator:
    """Base class: ``n`` samples served in batches of ``batch_size`` forever.

    Subclasses implement ``_get_batch(index_array, start)``. With ``seed=None`` the
    shuffling and augmentation seed is drawn from NumPy's global generator, so
    ``np.random.seed(...)`` makes a run repeatable, as it did in Keras 2.
    """

    def __init__(self, n, batch_size, shuffle, seed):
        if batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}")
        self.n, self.batch_size, self.shuffle = int(n), int(batch_size), bool(shuffle)
        self.seed = int(np.random.randint(_SEED_LIMIT)) if seed is None else int(seed)
        self.batch_index = 0
        self.total_batches_seen = 0
        self.lock = threading.Lock()
        self._rng = np.random.RandomState(self.seed)
        self._index_array = np.arange(self.n)

    def reset(self):
        """Start a new epoch at the next batch."""
        self.batch_index = 0

    def __len__(self):
        """Batches per epoch."""
        return math.ceil(self.n / self.batch_size)

    def __iter__(self):
        return self

    def __next__(self):
        index_array, start, batch_seed = self._next_indices()
        return self._get_batch(index_array, start, np.random.RandomState(batch_seed))

    next = __next__  # Keras 2 spelling

    def _next_indices(self):
        if self.n == 0:
            raise ValueError(f"{type(self).__name__} has no samples to draw batches from")
        with self.lock:
            if self.batch_index == 0:
                self._index_array = (self._rng.permutation(self.n) if self.shuffle
                                     else np.arange(self.n))
            start = self.batch_index * self.batch_size
            stop = min(start + self.batch_size, self.n)
            self.batch_index = 0 if stop >= self.n else self.batch_index + 1
            self.total_batches_seen += 1
            # one seed per batch, drawn in batch order, keeps augmentation repeatable
            return self._index_array[start:stop], start, self._rng.randint(_SEED_LIMIT)

    def _augment(self, generator, x, rng):
        x = generator.random_transform(x, seed=int(rng.randint(_SEED_LIMIT)))
        return generator.standardize(x)

    def _save(self, batch_x, start, rng):
        for i, x in enumerate(batch_x):
            name = f"{self.save_prefix}_{start + i}_{rng.randint(10 ** 4)}.{self.save_format}"
            array_to_img(x, self.data_format, scale=True).save(os.path.join(self.save_to_dir, name))


class NumpyArrayIterator(Iterator):
    """Batches of augmented images from an in-memory rank-4 array ``x`` (and labels ``y``)."""

    def __init__(self, x, y, image_data_generator, batch_size=32, shuffle=False, seed=None,
                 data_format=None, save_to_dir=None, save_prefix="", save_format="png"):
        self.data_format = _data_format(data_format)
        self.x = np.asarray(x, dtype=_floatx())
        if self.x.ndim != 4:
            raise ValueError("Input data in NumpyArrayIterator should have rank 4 (samples, "
                             f"rows, cols, channels or channels-first); got shape {self.x.shape}")
        channel_axis = 3 if self.data_format == "channels_last" else 1
        if self.x.shape[channel_axis] not in (1, 3, 4):
            warnings.warn(f"NumpyArrayIterator is set to data_format={self.data_format!r} "
                          f"(channel axis {channel_axis}), but x of shape {self.x.shape} has "
                          f"{self.x.shape[channel_axis]} channels there, not 1, 3 or 4", stacklevel=3)
        self.y = None if y is None else np.asarray(y)
        if self.y is not None and len(self.y) != len(self.x):
            raise ValueError("x (images) and y (labels) should have the same length; got "
                             f"x.shape = {self.x.shape}, y.shape = {self.y.shape}")
        self.image_data_generator = image_data_generator
        self.save_to_dir, self.save_prefix, self.save_format = save_to_dir, save_prefix, save_format
        super().__init__(len(self.x), batch_size, shuffle, seed)

    def _get_batch(self, index_array, start, rng):
        batch_x = np.zeros((len(index_array),) + self.x.shape[1:], dtype=self.x.dtype)
        for i, j in enumerate(index_array):
            batch_x[i] = self._augment(self.image_data_generator, self.x[j], rng)
        if self.save_to_dir:
            self._save(batch_x, start, rng)
        return batch_x if self.y is None else (batch_x, self.y[index_array])


class DirectoryIterator(Iterator):
    """Batches of augmented images read from ``directory/<class name>/**/<image>``.

    Class names are the sub-folder names, sorted (or ``classes`` in the order given);
    ``class_indices`` maps them to label numbers. ``class_mode``: 'categorical' (one-hot),
    'binary' (float 0/1), 'sparse' (integer labels), 'input' (the images themselves) or
    None (images only).
    """

    def __init__(self, directory, image_data_generator, target_size=(256, 256),
                 color_mode="rgb", classes=None, class_mode="categorical", batch_size=32,
                 shuffle=True, seed=None, data_format=None, save_to_dir=None, save_prefix="",
                 save_format="png", follow_links=False):
        if color_mode not in ("rgb", "grayscale"):
            raise ValueError(f"color_mode must be 'rgb' or 'grayscale'; got {color_mode!r}")
        if class_mode not in CLASS_MODES:
            raise ValueError(f"class_mode must be one of {CLASS_MODES}; got {class_mode!r}")
        if not os.path.isdir(directory):
            raise FileNotFoundError(f"flow_from_directory: {directory!r} is not a directory")
        self.directory, self.image_data_generator = directory, image_data_generator
        self.data_format = _data_format(data_format)
        self.target_size, self.color_mode, self.class_mode = tuple(target_size), color_mode, class_mode
        channels = (3,) if color_mode == "rgb" else (1,)
        self.image_shape = (self.target_size + channels if self.data_format == "channels_last"
                            else channels + self.target_size)
        if classes is None:
            classes = sorted(d for d in os.listdir(directory)
                             if os.path.isdir(os.path.join(directory, d)))
        self.num_class = len(classes)
        self.class_indices = {name: i for i, name in enumerate(classes)}
        self.filenames, labels = [], []
        for name in classes:
            for path in _pictures(os.path.join(directory, name), follow_links):
                self.filenames.append(os.path.relpath(path, directory))
                labels.append(self.class_indices[name])
        self.classes = np.array(labels, dtype="int32")
        self.samples = len(self.filenames)
        print(f"Found {self.samples} images belonging to {self.num_class} classes.")
        self.save_to_dir, self.save_prefix, self.save_format = save_to_dir, save_prefix, save_format
        super().__init__(self.samples, batch_size, shuffle, seed)

    def _get_batch(self, index_array, start, rng):
        batch_x = np.zeros((len(index_array),) + self.image_shape, dtype=_floatx())
        for i, j in enumerate(index_array):
            img = load_img(os.path.join(self.directory, self.filenames[j]),
                           grayscale=self.color_mode == "grayscale", target_size=self.target_size)
            batch_x[i] = self._augment(self.image_data_generator,
                                       img_to_array(img, self.data_format), rng)
        if self.save_to_dir:
            self._save(batch_x, start, rng)
        if self.class_mode is None:
            return batch_x
        return batch_x, _TARGETS[self.class_mode](self, batch_x, self.classes[index_array])

def _one_hot(labels, num_class, dtype):
    out = np.zeros((len(labels), num_class), dtype=dtype)
    out[np.arange(len(labels)), labels] = 1
    return out


# class_mode -> batch_y, given (iterator, batch_x, integer labels of the batch)
_TARGETS = {
    "categorical": lambda it, batch_x, labels: _one_hot(labels, it.num_class, batch_x.dtype),
    "binary": lambda it, batch_x, labels: labels.astype(batch_x.dtype),
    "sparse": lambda it, batch_x, labels: labels,
    "input": lambda it, batch_x, labels: batch_x.copy(),
}
CLASS_MODES = (*_TARGETS, None)


def _pictures(folder, follow_links):
    """Image files under ``folder`` (recursively), in a stable sorted order."""
    found = []
    for root, dirs, files in os.walk(folder, followlinks=follow_links):
        dirs.sort()
        found.extend(os.path.join(root, f) for f in sorted(files)
                     if f.rsplit(".", 1)[-1].lower() in PICTURE_EXTENSIONS and "." in f)
    return found
