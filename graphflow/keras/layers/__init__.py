"""Layers, as Keras 2's ``keras.layers``, and the registry that finds a layer class by
name (``deserialize({'class_name': 'Dense', 'config': {...}})``).

    >>> from graphflow.keras.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
"""
from ..engine.base_layer import Layer  # noqa: F401
from ..engine.input_layer import Input, InputLayer  # noqa: F401
from .advanced_activations import ELU, LeakyReLU, PReLU, ThresholdedReLU  # noqa: F401
from .convolutional_recurrent import ConvLSTM2D  # noqa: F401
from .convolutional import (Conv1D, Conv2D, Conv2DTranspose, Conv3D, Conv3DTranspose, Convolution1D,  # noqa: F401
                            Convolution2D, Convolution2DTranspose, Convolution3D, Deconv2D, Deconv3D,
                            Deconvolution2D, Deconvolution3D, SeparableConv2D, SeparableConvolution2D)
from .core import (Activation, ActivityRegularization, Dense, Dropout, Flatten, Lambda, Permute,  # noqa: F401
                   RepeatVector, Reshape, SpatialDropout1D, SpatialDropout2D, SpatialDropout3D)
from .embeddings import Embedding  # noqa: F401
from .local import LocallyConnected1D, LocallyConnected2D  # noqa: F401
from .masking import Masking  # noqa: F401
from .merge import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract, add,  # noqa: F401
                    average, concatenate, dot, maximum, minimum, multiply, subtract)
from .noise import AlphaDropout, GaussianDropout, GaussianNoise  # noqa: F401
from .normalization import BatchNormalization  # noqa: F401
from .pooling import (AveragePooling1D, AveragePooling2D, AveragePooling3D, AvgPool1D, AvgPool2D,  # noqa: F401
                      AvgPool3D, GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAveragePooling3D,
                      GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D, GlobalMaxPool1D, GlobalMaxPool2D,
                      GlobalMaxPool3D, GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D, MaxPool1D,
                      MaxPool2D, MaxPool3D, MaxPooling1D, MaxPooling2D, MaxPooling3D)
from .resizing import (Cropping1D, Cropping2D, Cropping3D, UpSampling1D, UpSampling2D, UpSampling3D,  # noqa: F401
                       ZeroPadding1D, ZeroPadding2D, ZeroPadding3D)
from .recurrent import GRU, LSTM, SimpleRNN  # noqa: F401
from .recurrent_base import Recurrent  # noqa: F401
from .wrappers import Bidirectional, TimeDistributed, Wrapper  # noqa: F401

_REGISTRY = {name: obj for name, obj in dict(globals()).items()
             if isinstance(obj, type) and issubclass(obj, Layer)}


def get_class(name, custom_objects=None):
    """The layer (or model) class called ``name``; ``custom_objects`` first."""
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if name in _REGISTRY:
        return _REGISTRY[name]
    from ..models import Model, Sequential
    models = {"Sequential": Sequential, "Model": Model}
    if name in models:
        return models[name]
    raise ValueError(f"Unknown layer: {name}. If it is your own layer, pass it in custom_objects={{{name!r}: "
                     f"{name}}}")


def serialize(layer):
    """``{class_name, config}`` of a layer or model."""
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize(config, custom_objects=None):
    """A layer (or model) from ``{class_name, config}``."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Improper config format for a layer: {config!r}")
    import inspect
    inner = config.get("config", {})
    try:
        cls = get_class(config["class_name"], custom_objects)
        if "custom_objects" in inspect.signature(cls.from_config).parameters:
            return cls.from_config(inner, custom_objects=custom_objects)
        return cls.from_config(inner)
    except (TypeError, ValueError, KeyError) as err:  # say which layer (loaders report the first note)
        name = inner.get("name") if isinstance(inner, dict) else None
        err.add_note(f"layer {name!r} ({config['class_name']})")
        raise
