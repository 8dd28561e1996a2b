"""Helpers kernel modules share: delivering a result into a planned buffer, and the
dtype conversion of float-valued ops on integer inputs."""
from __future__ import annotations


def deliver(result, out):
    """``result`` written into the planned buffer ``out`` when there is one (and ``out``
    returned), else ``result`` itself."""
    if out is None:
        return result
    out[...] = result
    return out


def to_declared_float(node):
    """``x -> x`` in the node's declared float output dtype: integer inputs of
    float-valued ops (exp, sigmoid, activations) are converted first, so the result has
    exactly the declared dtype (NumPy's: int8 -> float16, int32 -> float64)."""
    dtype = node.outputs[0].dtype
    return lambda x: x if x.dtype == dtype else x.astype(dtype)
