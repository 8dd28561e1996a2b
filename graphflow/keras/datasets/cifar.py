"""Parsing one batch file of the CIFAR data sets (Python version), as Keras 2's
``keras.datasets.cifar.load_batch``, but with ``safe_pickle``'s reader: a batch is a
pickled dict of plain data and one uint8 array, and nothing else is accepted.

    >>> data, labels = load_batch("cifar-10-batches-py/data_batch_1")
    >>> data.shape, data.dtype, len(labels)
    ((10000, 3, 32, 32), dtype('uint8'), 10000)
"""
import os
import pickle

import numpy as np

from ..saving.errors import LoadError
from .safe_pickle import loads


def load_batch(fpath, label_key="labels"):
    """``(data, labels)`` of a batch file: ``data`` uint8 ``(n, 3, 32, 32)`` (channels
    first, as stored), ``labels`` a list of n ints. ``fpath`` is a path or the file's bytes.
    A file that is not a CIFAR batch raises ``LoadError`` (a ``ValueError``) saying why."""
    where = f"CIFAR batch {os.fspath(fpath)!r}" if not isinstance(fpath, (bytes, bytearray)) else "CIFAR batch"
    if not isinstance(fpath, (bytes, bytearray)):
        with open(fpath, "rb") as f:
            fpath = f.read()
    try:
        batch = loads(bytes(fpath))
    except pickle.UnpicklingError as err:
        raise LoadError(f"{where} cannot be read: {err}") from None
    if not isinstance(batch, dict):
        raise LoadError(f"{where} holds a {type(batch).__name__}, expected a dict with 'data' and {label_key!r}")
    batch = {k.decode("utf8", "replace") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    data, labels = batch.get("data"), batch.get(label_key)
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        found = f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise LoadError(f"{where}: 'data' should be a uint8 array of shape (n, 3072), found {found}")
    if not isinstance(labels, list) or len(labels) != len(data) or \
            not all(isinstance(v, int) and not isinstance(v, bool) for v in labels):
        raise LoadError(f"{where}: {label_key!r} should be a list of {len(data)} ints, found "
                        f"{type(labels).__name__} of length {len(labels) if hasattr(labels, '__len__') else '?'}")
    return data.reshape(len(data), 3, 32, 32), labels
