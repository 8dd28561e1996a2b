"""Keras 2's ``keras.utils.generic_utils``: argument checks, (de)serialising objects by
name, and the progress bar.

    >>> has_arg(Dense.__init__, "units")
    True
"""
import inspect

from .._utils import deserialize_object as _deserialize_object
from .._utils import serialize_object as serialize_keras_object  # noqa: F401
from ..engine.progbar import Progbar  # noqa: F401


def has_arg(fn, name, accept_all=False):
    """Whether ``fn`` can be called with the keyword argument ``name``; with
    ``accept_all``, a ``**kwargs`` parameter counts as accepting any name."""
    params = inspect.signature(fn).parameters
    param = params.get(name)
    if param is not None:
        return param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY)
    return accept_all and any(p.kind is p.VAR_KEYWORD for p in params.values())


def deserialize_keras_object(identifier, module_objects=None, custom_objects=None,
                             printable_module_name="object"):
    """An object from ``{class_name, config}`` or a name, looked up in ``custom_objects``
    then ``module_objects`` (a dict of name -> class or function)."""
    return _deserialize_object(identifier, module_objects or {}, custom_objects, printable_module_name)
