"""The convolution precision setting: faithful by default, a faster algorithm that may
change ReLU and max-pool decisions only when asked for by name.

- ``"exact"`` (default): every convolution computes its sums to float32 rounding, and an
  output whose whole receptive field is zero is exactly 0, so a zero window gives exactly
  the bias and every ReLU / max-pool decision matches a float64 evaluation.
- ``"winograd-fast"``: the CPU backend's F(4x4, 3x3) Winograd convolutions skip restoring
  those exact zeros (they come out as about +-1e-6, and about half flip a ReLU), and carry
  the larger rounding of F(4x4)'s transforms (about 1e-5 of the largest output against
  3e-7). A few percent faster; the trade of oneDNN's opt-in Winograd or PyTorch's TF32.

Set it with ``gf.set_conv_precision(mode)`` or ``GRAPHFLOW_CONV_PRECISION=mode`` (the
function wins). A ``Function`` takes the setting in force when it is compiled and keeps
it: it is part of the compiled program (shown by ``f.report()``, and in the key
graphflow uses to notice a graph compiled again).

    >>> gf.set_conv_precision("winograd-fast")
    >>> f = gf.function([x], gf.relu(gf.nn.conv2d(x, k)))   # compiled in the fast mode
    >>> gf.set_conv_precision(None)                          # back to the environment / default
"""
from __future__ import annotations

import contextvars
import os
from contextlib import contextmanager

MODES = ("exact", "winograd-fast")
ENV = "GRAPHFLOW_CONV_PRECISION"

_chosen: list = [None]   # set_conv_precision's mode, or None: the environment decides
_compiling = contextvars.ContextVar("graphflow_conv_precision", default=None)


def _check(mode, where: str) -> str:
    m = str(mode).strip().lower()
    if m not in MODES:
        raise ValueError(f"{where} must be one of {', '.join(repr(x) for x in MODES)}, got {mode!r}")
    return m


def set_conv_precision(mode: str | None) -> None:
    """Choose how convolutions compiled from now on compute: ``"exact"`` (the default:
    float32 rounding, exact zeros kept) or ``"winograd-fast"`` (the CPU's F(4x4)
    Winograd without restoring exact zeros: a zero window may give +-1e-6, which can flip
    ReLU and max-pool decisions). ``None`` goes back to ``GRAPHFLOW_CONV_PRECISION`` (or
    the default). Functions already compiled keep their mode.

    >>> gf.set_conv_precision("winograd-fast")
    """
    _chosen[0] = None if mode is None else _check(mode, "set_conv_precision(mode)")


def conv_precision() -> str:
    """The mode convolutions compile with now: the one a compile in progress uses, else
    ``set_conv_precision``'s, else ``GRAPHFLOW_CONV_PRECISION``'s, else ``"exact"``."""
    during = _compiling.get()
    if during is not None:
        return during
    if _chosen[0] is not None:
        return _chosen[0]
    env = os.environ.get(ENV, "").strip()
    return _check(env, ENV) if env else "exact"


@contextmanager
def compiling(mode: str):
    """Inside the block (on this thread), ``conv_precision()`` is ``mode``: a Function's
    kernels are all made with the mode it took when its compile started."""
    token = _compiling.set(_check(mode, "conv precision"))
    try:
        yield
    finally:
        _compiling.reset(token)
