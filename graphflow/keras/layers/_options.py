"""The weight options layers share (``kernel_initializer``, ``bias_regularizer``,
``gamma_constraint``...): resolved from names or configs by their suffix, and written
back as Keras 2 configs."""
from .. import constraints, initializers, regularizers
from .._utils import serialize_object

KERNEL_AND_BIAS = ("kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer",
                   "activity_regularizer", "kernel_constraint", "bias_constraint")
_MODULES = {"initializer": initializers, "regularizer": regularizers, "constraint": constraints}


def set_options(layer, **options):
    """``layer.<name> = <module>.get(value)`` with the module picked by the name's suffix."""
    for name, value in options.items():
        setattr(layer, name, _MODULES[name.rsplit("_", 1)[1]].get(value))


def options_config(layer, names):
    return {name: serialize_object(getattr(layer, name)) for name in names}
