"""Data preprocessing in Keras 2's ``keras.preprocessing`` layout.

    >>> from graphflow.keras.preprocessing.image import ImageDataGenerator
"""
from . import image  # noqa: F401
