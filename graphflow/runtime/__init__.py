"""The runtime: backends and compiled functions."""
from . import backend  # noqa: F401
from .backend import Backend, KernelSpec, KernelTable, available, get_backend, register_backend, set_default_backend  # noqa: F401
from .function import Function, function  # noqa: F401
from .numerics import NumericsError  # noqa: F401
from .profile import Profile  # noqa: F401
from .precision import conv_precision, set_conv_precision  # noqa: F401
