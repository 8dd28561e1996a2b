"""Data sets in Keras 2's ``keras.datasets`` layout: MNIST (a bundled 5,000-digit
sample, or your full ``mnist.npz``) and CIFAR-10 (Keras's cache, or downloaded).

    >>> from graphflow.keras.datasets import cifar10, mnist
    >>> (x_train, y_train), (x_test, y_test) = mnist.load_data()
"""
from . import cifar, cifar10, mnist  # noqa: F401
