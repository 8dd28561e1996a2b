"""Careful HDF5 access for saving: every read is checked and every fault becomes a
``LoadError``; every array written carries its digest; every file is written atomically.

Reading never builds objects from a file: string attributes become ``str``, and a weight
is read only once ``guard.py`` has accepted it: reached by hard links, a plain numeric
dataset stored in this file, its size paid for by bytes the file holds.

    >>> with open_to_read("model.h5") as f:          # faults -> LoadError naming the file
    ...     names = text_list(f.attrs, "layer_names")
"""
import contextlib
import json
import os

import h5py
import numpy as np

from graphflow.utils import atomic_path

from .digest import ARRAY_ATTR, array_digest
from .errors import LoadError
from .guard import check_dataset, hard_child



@contextlib.contextmanager
def open_to_read(filepath):
    """Open ``filepath`` for reading; any fault inside the block (h5py's own errors
    included) leaves as a ``LoadError`` that names the file."""
    filepath = os.fspath(filepath)
    if not os.path.isfile(filepath):
        raise FileNotFoundError(f"no file at {filepath!r}")
    try:
        with h5py.File(filepath, "r") as f:
            yield f
    except LoadError as err:
        prefix = f"cannot load {filepath!r}"
        raise type(err)(str(err) if str(err).startswith(prefix) else f"{prefix}: {err}") from None
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except Exception as err:  # h5py raises OSError, RuntimeError, KeyError, ValueError, TypeError...
        raise LoadError(f"cannot load {filepath!r}: it is not a readable HDF5 file of Keras weights "
                        f"(truncated, damaged or of another layout): {type(err).__name__}: {err}") from None


@contextlib.contextmanager
def open_to_write(filepath, overwrite=True):
    """An ``h5py.File`` open for writing at a temporary path beside ``filepath``; on a
    clean exit it is made durable and renamed over ``filepath`` (readers and crashes see
    the old file or the new one, never half)."""
    with atomic_path(filepath, overwrite=overwrite) as tmp:
        # HDF5 1.8's format at least (every HDF5 since 2008 reads it): an attribute over
        # 64 KB (a big model's model_config) goes to dense storage instead of failing
        with h5py.File(tmp, "w", libver=("v108", "latest")) as f:
            yield f


# ------------------------------------------------------------------ attributes

def b(text):
    """A NumPy byte string, the attribute type Keras 2 wrote (Keras 3 reads it too)."""
    return np.bytes_(str(text).encode("utf8"))


def text(value, what="attribute"):
    """A string attribute as ``str`` (written as bytes by Keras 2, as str by Keras 3)."""
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, (bytes, np.bytes_)):
        try:
            return bytes(value).decode("utf8")
        except UnicodeDecodeError as err:
            raise LoadError(f"the {what} is not UTF-8 text ({err})") from None
    if isinstance(value, str):
        return value
    raise LoadError(f"the {what} should be text, found {type(value).__name__}")


def text_list(attrs, key, required=True):
    """A list-of-strings attribute, also in the chunked form (key0, key1, ...) that Keras
    2.1+ writes when a list is longer than one HDF5 attribute can hold."""
    if key in attrs:
        chunks = [attrs[key]]
    else:
        chunks, i = [], 0
        while f"{key}{i}" in attrs:
            chunks.append(attrs[f"{key}{i}"])
            i += 1
        if not chunks:
            if required:
                raise LoadError(f"the {key} attribute is missing")
            return []
    out = []
    for chunk in chunks:
        chunk = np.asarray(chunk)
        if chunk.size and chunk.dtype.kind not in "SUO":
            raise LoadError(f"the {key} attribute should list names, found {chunk.dtype} values")
        out.extend(text(n, f"{key} attribute") for n in chunk.reshape(-1))
    return out


# the largest attribute HDF5 keeps in an object header (Keras 2.1+ splits longer lists)
_ATTR_LIMIT = 64512


def write_text_list(attrs, key, names):
    """Write a list of names as ``attrs[key]``, or, when it is too long for one HDF5
    attribute, as ``key0``, ``key1``... (Keras 2.1+'s layout, which ``text_list`` and
    every Keras read)."""
    data = np.array([b(n) for n in names], dtype="S") if names else np.zeros((0,), "S1")
    chunks = 1
    while data.nbytes / chunks > _ATTR_LIMIT * 0.9:
        chunks += 1
    if chunks == 1:
        attrs[key] = data
        return
    for i, part in enumerate(np.array_split(data, chunks)):
        attrs[f"{key}{i}"] = part


def json_attr(attrs, key):
    """A JSON attribute (``model_config``, ``training_config``) as Python data."""
    raw = text(attrs[key], f"{key} attribute")
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, RecursionError) as err:
        raise LoadError(f"its {key} attribute is not valid JSON ({err})") from None


# ------------------------------------------------------------------ arrays

def read_array(group, name, budget, digests):
    """The numbers in dataset ``group[name]`` (``name`` may be a path, as Keras 2's
    ``dense_1/kernel:0``), after ``guard.check_dataset`` has accepted it, checked against
    its digest: required when ``digests`` is true (a graphflow file), checked when present
    otherwise."""
    where = f"{group.name.rstrip('/')}/{name}"
    node = hard_child(group, name, "weight")
    if not isinstance(node, h5py.Dataset):
        found = "nothing" if node is None else "a group"
        raise LoadError(f"the weight {where!r} is missing (found {found})")
    check_dataset(node, budget)
    value = np.asarray(node[()])
    saved = node.attrs.get(ARRAY_ATTR)
    if saved is None:
        if digests:
            raise LoadError(f"the weight {where!r} has lost its {ARRAY_ATTR} attribute")
        return value, None
    actual = array_digest(value)
    if text(saved, f"{ARRAY_ATTR} of {where!r}") != actual:
        from .errors import DigestMismatchError
        raise DigestMismatchError(f"the weight {where!r} does not match the digest saved with it: the "
                                  f"file was damaged after it was written")
    return value, actual


def write_array(group, name, value):
    """Write ``value`` as dataset ``group[name]`` with its digest; returns the digest."""
    value = np.asarray(value, order="C")
    ds = group.create_dataset(name, data=value)
    digest = array_digest(value)
    ds.attrs[ARRAY_ATTR] = b(digest)
    return digest
