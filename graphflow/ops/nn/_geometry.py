"""Window geometry shared by convolution and pooling (ops infer shapes with it, kernels
pad with it): Keras / TensorFlow output lengths and 'same' padding.

    >>> output_length(28, 3, stride=1, padding="valid")
    26
    >>> same_padding(5, 2, stride=2)     # the extra pixel goes after (bottom / right)
    (0, 1)
"""
from __future__ import annotations

PADDINGS = ("valid", "same")
DATA_FORMATS = ("channels_last", "channels_first")


def pair(value, what: str) -> tuple:
    """``3`` -> ``(3, 3)``; a pair of positive ints stays as it is."""
    if isinstance(value, bool):
        raise TypeError(f"{what} must be an int or a pair of ints, got {value!r}")
    if isinstance(value, int):
        value = (value, value)
    try:
        a, b = value
        out = (int(a), int(b))
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be an int or a pair of ints, got {value!r}") from None
    if out != tuple(value) or min(out) < 1:
        raise ValueError(f"{what} must be positive integers, got {value!r}")
    return out


def check_layout(padding: str, data_format: str) -> None:
    """Raise ValueError for an unknown padding or data format (called by ``infer``)."""
    if padding not in PADDINGS:
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    if data_format not in DATA_FORMATS:
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got {data_format!r}")


def spatial_axes(data_format: str) -> tuple:
    """Axes of (height, width) in a 4-D tensor."""
    return (1, 2) if data_format == "channels_last" else (2, 3)


def channel_axis(data_format: str) -> int:
    return 3 if data_format == "channels_last" else 1


def effective(k: int, dilation: int = 1) -> int:
    """The extent of a dilated window: ``(k - 1) * dilation + 1``."""
    return (k - 1) * dilation + 1


def output_length(n, k, stride, padding, dilation=1, what="input"):
    """Output length along one axis; ``None`` stays ``None``. 'valid' drops the remainder
    (``(n - k_eff) // stride + 1``), 'same' is ``ceil(n / stride)``."""
    if n is None:
        return None
    if padding == "same":
        return -(-n // stride)
    k_eff = effective(k, dilation)
    if n < k_eff:
        dil = f" (dilated from {k})" if dilation > 1 else ""
        raise ValueError(f"{what} length {n} is smaller than the window {k_eff}{dil} with "
                         f"padding='valid'; use padding='same' or a smaller window")
    return (n - k_eff) // stride + 1


def same_padding(n: int, k: int, stride: int, dilation: int = 1) -> tuple:
    """(before, after) zero padding TF uses for 'same': the total is
    ``max((out - 1) * stride + k_eff - n, 0)`` and the odd pixel goes after."""
    out = -(-n // stride)
    total = max((out - 1) * stride + effective(k, dilation) - n, 0)
    return total // 2, total - total // 2


def padding_of(n: int, k: int, stride: int, padding: str, dilation: int = 1) -> tuple:
    """(before, after) padding for either mode (valid pads nothing)."""
    return same_padding(n, k, stride, dilation) if padding == "same" else (0, 0)


def window_slice(start: int, count: int, stride: int) -> slice:
    """The slice that picks ``count`` positions ``start, start + stride, ...``."""
    return slice(start, start + (count - 1) * stride + 1, stride)
