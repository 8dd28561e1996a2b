"""CIFAR-10 (60,000 32×32 colour images in 10 classes), as Keras 2's
``keras.datasets.cifar10``: the same files in the same place, the same arrays back.

    >>> from graphflow.keras.datasets import cifar10
    >>> (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    >>> x_train.shape, y_train.shape, x_test.shape       # channels_last
    ((50000, 32, 32, 3), (50000, 1), (10000, 32, 32, 3))

Where the data comes from, in order (``~/.keras/datasets`` is Keras's own cache):

1. ``~/.keras/datasets/cifar-10-batches-py/``, the folder Keras 2 extracts: each batch
   file is checked against its published MD5;
2. ``~/.keras/datasets/cifar-10-python.tar.gz`` (the official name) or
   ``cifar-10-batches-py.tar.gz`` (the name Keras 2 downloads to): the archive is checked
   against its published MD5 and SHA-256 and read in place (nothing is extracted);
3. otherwise it is downloaded from the official site to
   ``~/.keras/datasets/cifar-10-python.tar.gz`` (163 MB), checked before it is kept.
   Offline, a ``FileNotFoundError`` says which file to put where.

Batches are pickles; they are read with ``safe_pickle.loads``, a reader of plain data and
numeric arrays only (no unpickler: nothing a file names runs, time linear and memory
bounded by the file's size). A file that fails its checksum or is not a CIFAR batch raises ``LoadError``.
"""
import hashlib
import io
import os
import sys
import tarfile
import urllib.request
from pathlib import Path

import numpy as np

from graphflow.utils import atomic_path

from .. import backend as K
from ..saving.errors import LoadError
from .cifar import load_batch

ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
ARCHIVE = "cifar-10-python.tar.gz"
KERAS2_ARCHIVE = "cifar-10-batches-py.tar.gz"
FOLDER = "cifar-10-batches-py"
# Published checksums: the archive's MD5 on https://www.cs.toronto.edu/~kriz/cifar.html,
# its SHA-256 as later Keras versions check it, the batch files' MD5 as torchvision checks them.
ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"
ARCHIVE_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
BATCH_MD5 = {"data_batch_1": "c99cafc152244af753f735de768cd75f", "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
             "data_batch_3": "54ebc095f3ab1f0389bbae665268c751", "data_batch_4": "634d18415352ddfa80567beed471001a",
             "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb", "test_batch": "40351d587109b95175f43aff81a1287e"}
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
DOWNLOAD_TIMEOUT_S = 30


def datasets_dir() -> Path:
    """Keras's data set cache: ``~/.keras/datasets``."""
    return Path.home() / ".keras" / "datasets"


def load_data():
    """``(x_train, y_train), (x_test, y_test)``, as Keras 2.0.6 returns them.

    ``x``: uint8 images, ``(50000, 32, 32, 3)`` and ``(10000, 32, 32, 3)`` with
    ``K.image_data_format() == 'channels_last'`` (the stored channels-first arrays,
    transposed), ``(n, 3, 32, 32)`` with 'channels_first'. ``y``: labels 0..9 of shape
    ``(n, 1)``; ``y_train`` is uint8 and ``y_test`` int64, as in Keras 2 (which made
    the one from a uint8 buffer and the other from a list).
    """
    batches = _batches()
    train = [_read(batches, name) for name in TRAIN_BATCHES]
    x_train = np.concatenate([data for data, _ in train])
    y_train = np.concatenate([np.asarray(labels, np.uint8) for _, labels in train]).reshape(-1, 1)
    x_test, test_labels = _read(batches, "test_batch")
    y_test = np.reshape(np.asarray(test_labels, np.int64), (len(test_labels), 1))
    if K.image_data_format() == "channels_last":
        x_train, x_test = x_train.transpose(0, 2, 3, 1), x_test.transpose(0, 2, 3, 1)
    return (x_train, y_train), (x_test, y_test)


def _read(batches, name):
    try:
        data, labels = load_batch(batches[name], "labels")
    except LoadError as err:
        raise LoadError(f"cifar10.load_data: {name}: {err}") from None
    if labels and not 0 <= min(labels) <= max(labels) <= 9:
        raise LoadError(f"cifar10.load_data: the labels of {name} run from {min(labels)} to {max(labels)}; "
                        f"expected classes 0..9")
    return data, labels


def _batches() -> dict:
    """The bytes of the six batch files, each checked against its MD5."""
    folder = datasets_dir() / FOLDER
    if folder.is_dir():
        found = {name: (folder / name).read_bytes() for name in BATCH_MD5 if (folder / name).is_file()}
        return _checked(found, f"the folder {str(folder)!r}")
    archive = next((p for p in (datasets_dir() / ARCHIVE, datasets_dir() / KERAS2_ARCHIVE) if p.is_file()), None)
    if archive is None:
        archive = _download(datasets_dir() / ARCHIVE)
    return _checked(_read_archive(archive), f"the archive {str(archive)!r}")


def _checked(found, where):
    missing = [name for name in BATCH_MD5 if name not in found]
    if missing:
        raise LoadError(f"cifar10.load_data: {where} lacks {', '.join(missing)}; expected the CIFAR-10 python "
                        f"batches {', '.join(BATCH_MD5)}. Delete it to download the data again")
    for name, data in found.items():
        digest = hashlib.md5(data).hexdigest()
        if digest != BATCH_MD5[name]:
            raise LoadError(f"cifar10.load_data: {name} in {where} has MD5 {digest}, but the published CIFAR-10 "
                            f"file has {BATCH_MD5[name]}: it is damaged or not CIFAR-10. Delete it to download "
                            f"the data again")
    return found


def _read_archive(path: Path) -> dict:
    data = path.read_bytes()
    _verify_archive(data, f"{str(path)!r}")
    found = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar.getmembers():
                name = member.name.split("/")[-1]
                if member.isfile() and member.name == f"{FOLDER}/{name}" and name in BATCH_MD5:
                    found[name] = tar.extractfile(member).read()
    except (tarfile.TarError, OSError, EOFError) as err:
        raise LoadError(f"cifar10.load_data: {str(path)!r} is not a readable tar.gz archive ({err})") from None
    return found


def _verify_archive(data: bytes, where: str):
    md5, sha256 = hashlib.md5(data).hexdigest(), hashlib.sha256(data).hexdigest()
    if (md5, sha256) != (ARCHIVE_MD5, ARCHIVE_SHA256):
        raise LoadError(f"cifar10.load_data: {where} has MD5 {md5} and SHA-256 {sha256}, but the published "
                        f"{ARCHIVE} has MD5 {ARCHIVE_MD5} and SHA-256 {ARCHIVE_SHA256}: it is truncated, damaged "
                        f"or another file. Delete it to download it again")


def _download(target: Path) -> Path:
    """Fetch the archive to ``target``, keeping it only if its checksums match."""
    print(f"Downloading data from {ORIGIN}", file=sys.stderr)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with urllib.request.urlopen(ORIGIN, timeout=DOWNLOAD_TIMEOUT_S) as response:
            data = response.read()
    except OSError as err:  # URLError, timeouts, refused connections, an unwritable home
        raise FileNotFoundError(
            f"cifar10.load_data: CIFAR-10 is not in {str(datasets_dir())!r} and could not be downloaded from "
            f"{ORIGIN} ({err}). On a machine with network access, download that file ({ARCHIVE}, 163 MB, "
            f"MD5 {ARCHIVE_MD5}) and copy it to {str(target)!r}; Keras 2's extracted folder {FOLDER}/ "
            f"works there too") from None
    _verify_archive(data, f"the download from {ORIGIN}")
    with atomic_path(target) as tmp:
        Path(tmp).write_bytes(data)
    return target
