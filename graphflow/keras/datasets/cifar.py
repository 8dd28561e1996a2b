"""Parsing one batch file of the CIFAR data sets (Python version), as Keras 2's
``keras.datasets.cifar.load_batch``, but without an unpickler: ``safe_pickle`` reads
the file with a machine of its own (plain data and numeric arrays only, time linear and
memory a small multiple of the file's size), and this module then checks that it is
the one structure a CIFAR batch has — a dict of a few string keys holding a uint8
``(n, 3072)`` array, a list of n int labels (``labels``, or CIFAR-100's
``fine_labels``/``coarse_labels``), a ``batch_label`` string and a list of n
``filenames``.

    >>> data, labels = load_batch("cifar-10-batches-py/data_batch_1")
    >>> data.shape, data.dtype, len(labels)
    ((10000, 3, 32, 32), dtype('uint8'), 10000)
"""
import os

import numpy as np

from ..saving.errors import LoadError
from .safe_pickle import PickleRefused, loads

PIXELS = 3 * 32 * 32
#: a batch is mostly image bytes: about 5 opcodes (labels, a file name, its memo slot) per
#: 3,072-byte image, so a file may hold one opcode per OPCODE_BYTES bytes, plus a few
MAX_OPCODES_BASE, OPCODE_BYTES = 1000, 128
#: every key a CIFAR-10 or CIFAR-100 batch holds
KEYS = ("data", "labels", "fine_labels", "coarse_labels", "batch_label", "filenames")


def load_batch(fpath, label_key="labels"):
    """``(data, labels)`` of a batch file: ``data`` uint8 ``(n, 3, 32, 32)`` (channels
    first, as stored), ``labels`` a list of n ints. ``fpath`` is a path or the file's bytes.
    A file that is not a CIFAR batch raises ``LoadError`` (a ``ValueError``) saying why."""
    where = f"CIFAR batch {os.fspath(fpath)!r}" if not isinstance(fpath, (bytes, bytearray)) else "CIFAR batch"
    if not isinstance(fpath, (bytes, bytearray)):
        with open(fpath, "rb") as f:
            fpath = f.read()
    try:
        batch = loads(bytes(fpath), max_opcodes=MAX_OPCODES_BASE + len(fpath) // OPCODE_BYTES)
    except PickleRefused as err:
        raise LoadError(f"{where} cannot be read: {err}") from None
    batch = _checked(batch, where, label_key)
    return batch["data"].reshape(len(batch["data"]), 3, 32, 32), batch[label_key]


def _checked(batch, where, label_key):
    """``batch`` with text keys, once it is known to have a CIFAR batch's structure."""
    if not isinstance(batch, dict):
        raise LoadError(f"{where} holds a {type(batch).__name__}, expected a dict with 'data' and {label_key!r}")
    batch = {k.decode("utf8", "replace") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    unknown = [k for k in batch if k not in KEYS]
    if unknown:
        raise LoadError(f"{where} has the key(s) {', '.join(map(repr, unknown[:5]))}; a CIFAR batch holds only "
                        f"{', '.join(KEYS)}")
    data = batch.get("data")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != PIXELS:
        found = f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise LoadError(f"{where}: 'data' should be a uint8 array of shape (n, {PIXELS}), found {found}")
    n = len(data)
    if label_key not in batch:
        raise LoadError(f"{where} has no {label_key!r}; it holds {', '.join(batch)}")
    for key in ("labels", "fine_labels", "coarse_labels", "filenames"):
        if key in batch:
            kinds = (bytes, str) if key == "filenames" else int
            _list_of(batch[key], n, kinds, f"{where}: {key!r}")
    if not isinstance(batch.get("batch_label", b""), (bytes, str)):
        raise LoadError(f"{where}: 'batch_label' should be a string, found {type(batch['batch_label']).__name__}")
    return batch


def _list_of(value, n, kinds, where):
    if isinstance(value, list) and len(value) == n and \
            all(isinstance(v, kinds) and not isinstance(v, bool) for v in value):
        return
    length = len(value) if isinstance(value, (list, tuple, dict)) else "?"
    bad = next((type(v).__name__ for v in value if not isinstance(v, kinds) or isinstance(v, bool)), None) \
        if isinstance(value, list) else None
    what = "strings" if kinds != int else "ints"
    raise LoadError(f"{where} should be a list of {n} {what}, found {type(value).__name__} of length {length}"
                    + (f" holding a {bad}" if bad else ""))
