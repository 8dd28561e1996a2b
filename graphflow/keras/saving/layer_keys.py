"""Which configuration keys of later Keras generations map to what in graphflow, layer by
layer, declared as tables (``configs.py`` applies them).

A key that graphflow's layer lacks is accepted only with the value that means "as
graphflow does it" (``Default``), renamed (``Rename``), or left for the layer to refuse:
an unknown key reaches the layer's constructor, which raises, and the loader reports the
layer and the key. Nothing is dropped silently.
"""


class Default:
    """A key graphflow's layer lacks, accepted (and dropped) only with this value; any
    other value is refused. ``also`` names keys that mean nothing with that value
    (``renorm_momentum`` when ``renorm`` is false)."""

    def __init__(self, value, also=()):
        self.value, self.also = value, tuple(also)


class Rename:
    """A key that graphflow's layer spells differently (Keras 3's ``negative_slope`` is
    Keras 2's ``alpha``)."""

    def __init__(self, to):
        self.to = to


_LORA = {"lora_rank": Default(None), "lora_alpha": Default(None), "quantization_config": Default(None)}
_CONV = {"groups": Default(1), **_LORA}
_GLOBAL_POOL = {"keepdims": Default(False)}
_RNN = {"seed": Default(None)}

# keys of Keras 2.2+, tf.keras 2.x and Keras 3 layer configs, by class name
LAYER_KEYS = {
    "InputLayer": {"batch_shape": Rename("batch_input_shape"), "sparse": Default(False),
                   "ragged": Default(False), "optional": Default(False)},
    "Dense": dict(_LORA),
    "EinsumDense": dict(_LORA),
    "Embedding": {"sparse": Default(False), **_LORA},
    "Conv1D": dict(_CONV), "Conv2D": dict(_CONV), "Conv3D": dict(_CONV),
    "Conv1DTranspose": dict(_CONV), "Conv2DTranspose": {**_CONV, "output_padding": Default(None)},
    "Conv3DTranspose": {**_CONV, "output_padding": Default(None)},
    "SeparableConv1D": dict(_CONV), "SeparableConv2D": dict(_CONV), "DepthwiseConv2D": dict(_CONV),
    "BatchNormalization": {"synchronized": Default(False),
                           "renorm": Default(False, also=("renorm_clipping", "renorm_momentum")),
                           "fused": Default(None), "virtual_batch_size": Default(None),
                           "adjustment": Default(None)},
    "GlobalAveragePooling1D": dict(_GLOBAL_POOL), "GlobalMaxPooling1D": dict(_GLOBAL_POOL),
    "GlobalAveragePooling2D": dict(_GLOBAL_POOL), "GlobalMaxPooling2D": dict(_GLOBAL_POOL),
    "GlobalAveragePooling3D": dict(_GLOBAL_POOL), "GlobalMaxPooling3D": dict(_GLOBAL_POOL),
    "UpSampling2D": {"interpolation": Default("nearest")},
    "LeakyReLU": {"negative_slope": Rename("alpha")},
    "Dropout": {}, "Flatten": {}, "Activation": {}, "Reshape": {}, "Permute": {},
    **{name: dict(_RNN) for name in ("SimpleRNN", "GRU", "LSTM", "ConvLSTM2D")},
}

# Keras 2.2+/3 class names that are graphflow's under another name
CLASS_ALIASES = {"Functional": "Model", "Convolution2D": "Conv2D", "MaxPool2D": "MaxPooling2D",
                 "AvgPool2D": "AveragePooling2D"}

# activations whose meaning changed in Keras 3 (graphflow computes Keras 2's)
KERAS3_ACTIVATIONS = {
    "hard_sigmoid": "Keras 3's hard_sigmoid is relu6(x + 3) / 6; graphflow's (Keras 2's) is "
                    "clip(0.2 x + 0.5, 0, 1)",
    "gelu": "Keras 3's gelu is the exact (erf) GELU; graphflow's is the tanh approximation",
}

# Keras 3 / tf.keras 2 initializers that Keras 2.0.6 spelled as VarianceScaling
VARIANCE_SCALING = {
    "GlorotUniform": (1.0, "fan_avg", "uniform"), "GlorotNormal": (1.0, "fan_avg", "normal"),
    "HeUniform": (2.0, "fan_in", "uniform"), "HeNormal": (2.0, "fan_in", "normal"),
    "LecunUniform": (1.0, "fan_in", "uniform"), "LecunNormal": (1.0, "fan_in", "normal"),
}
# keys of initializer / regularizer / constraint configs graphflow's lack
OBJECT_KEYS = {"input_axes": Default(None), "output_axes": Default(None)}
OBJECT_ALIASES = {"L1": ("L1L2", {"l1": "l1"}), "L2": ("L1L2", {"l2": "l2"}),
                  "IdentityInitializer": ("Identity", {})}
