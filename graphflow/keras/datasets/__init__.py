"""Small datasets in Keras 2's ``keras.datasets`` layout.

    >>> from graphflow.keras.datasets import mnist
    >>> (x_train, y_train), (x_test, y_test) = mnist.load_data()
"""
from . import mnist  # noqa: F401
