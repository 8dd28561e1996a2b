"""MNIST handwritten digits, as Keras 2's ``keras.datasets.mnist``.

``load_data()`` reads a Keras-format ``mnist.npz`` when you have one (the full 70,000
digits), else a real 5,000-digit MNIST sample that ships inside graphflow. Nothing is
ever downloaded. It says once per process which of the two it used.

    >>> from graphflow.keras.datasets import mnist
    >>> (x_train, y_train), (x_test, y_test) = mnist.load_data()
    >>> x_train.shape, x_train.dtype, y_train.dtype          # with the bundled sample
    ((4000, 28, 28), dtype('uint8'), dtype('uint8'))

To use the full data set, put Keras's ``mnist.npz`` (keys ``x_train, y_train, x_test,
y_test``) at ``~/.graphflow/datasets/mnist.npz`` or pass its path. A truncated, damaged
or foreign file raises ``graphflow.keras.saving.LoadError`` (a ``ValueError``) saying so;
nothing is unpickled.
"""
import sys
from pathlib import Path

import numpy as np

from ..saving.errors import LoadError

BUNDLED = Path(__file__).resolve().parent / "data" / "mnist_5k.npz"
FILE_NAME = "mnist.npz"
KEYS = ("x_train", "y_train", "x_test", "y_test")

_announced: set = set()


def user_dir() -> Path:
    """Where a user's own copies of data sets are looked for: ``~/.graphflow/datasets``."""
    return Path.home() / ".graphflow" / "datasets"


def load_data(path=None):
    """Return ``(x_train, y_train), (x_test, y_test)`` as NumPy arrays.

    Args:
        path: a Keras-format ``mnist.npz``. A relative name that does not exist as given
            is also looked up in ``~/.graphflow/datasets``. ``None`` uses
            ``~/.graphflow/datasets/mnist.npz`` if present, else the bundled sample:
            5,000 real MNIST digits (500 per class) split 4,000 / 1,000, stratified.

    Images are uint8 arrays of shape (n, 28, 28) on the 0..255 scale; labels are uint8
    digits 0..9.

        >>> (x, y), _ = load_data()
        >>> int(x.max()), sorted(set(y.tolist())) == list(range(10))
        (255, True)
    """
    source, description = _locate(path)
    arrays = _read_npz(source)
    if source not in _announced:
        _announced.add(source)
        print(f"graphflow.keras.datasets.mnist: using {description} ({source})", file=sys.stderr)
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def _locate(path):
    """Pick the file to read and say in words what it is."""
    if path is None:
        candidate = user_dir() / FILE_NAME
        if candidate.is_file():
            return candidate, "your MNIST file"
        return BUNDLED, "the bundled 5,000-digit MNIST sample (4,000 train / 1,000 test)"
    given = Path(path).expanduser()
    for candidate in (given, user_dir() / given):
        if candidate.is_file():
            return candidate, "your MNIST file"
    raise FileNotFoundError(
        f"mnist.load_data: no file at {str(given)!r} (also looked in {str(user_dir())!r}). "
        "graphflow downloads nothing: pass the path of a Keras-format mnist.npz, or call "
        "load_data() with no argument to use the bundled 5,000-digit sample.")


def _read_npz(source: Path) -> dict:
    """Read the four arrays, refusing pickled objects, damaged archives (every member's
    CRC is checked as it is read) and files of another layout with ``LoadError``."""
    where = f"mnist.load_data: {str(source)!r}"
    try:
        with np.load(source, allow_pickle=False) as npz:
            missing = [k for k in KEYS if k not in npz.files]
            if missing:
                raise LoadError(f"{where} has keys {sorted(npz.files)} but lacks {missing}")
            arrays = {k: npz[k] for k in KEYS}
    except LoadError:
        raise
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except Exception as err:  # zipfile, zlib, the .npy header parser and numpy raise many kinds
        raise LoadError(f"{where} is not a Keras-format mnist.npz, or is truncated or damaged (expected an "
                        f".npz with uint8 arrays {', '.join(KEYS)}): "
                        f"{type(err).__name__}: {err}") from None
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise LoadError(f"{where} has x_{split} of shape {x.shape} and y_{split} of shape {y.shape}; "
                            f"expected (n, rows, cols) images and n labels")
        if x.dtype != np.uint8 or y.dtype.kind not in "iu":
            raise LoadError(f"{where} has x_{split} of dtype {x.dtype} and y_{split} of dtype {y.dtype}; "
                            "expected uint8 images and integer labels")
        if y.size and (y.min() < 0 or y.max() > 9):
            raise LoadError(f"{where} has y_{split} labels from {y.min()} to {y.max()}; expected digits 0..9")
    return arrays
