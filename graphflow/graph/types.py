"""TensorType: a dtype plus a static shape whose entries are ints or ``None`` (unknown)."""
from __future__ import annotations

from dataclasses import dataclass

from .dtypes import as_dtype

Shape = tuple  # tuple[int | None, ...]


@dataclass(frozen=True)
class TensorType:
    """The static type of a tensor: ``TensorType("float32", (None, 784))``."""

    dtype: str
    shape: Shape

    def __post_init__(self):
        object.__setattr__(self, "dtype", as_dtype(self.dtype))
        shape = tuple(None if d is None else int(d) for d in self.shape)
        for d in shape:
            if d is not None and not 0 <= d < 2**63:  # no array has a length beyond int64
                raise ValueError(f"shape entries must be in [0, 2**63) or None, got {shape}")
        object.__setattr__(self, "shape", shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self):
        """Number of elements, or ``None`` while a dim is unknown."""
        n = 1
        for d in self.shape:
            if d is None:
                return None
            n *= d
        return n

    def __str__(self):
        return f"{self.dtype}{format_shape(self.shape)}"

    def accepts(self, shape) -> bool:
        """Whether a concrete shape matches this (partially known) one."""
        return len(shape) == len(self.shape) and all(
            d is None or d == s for d, s in zip(self.shape, shape))


def format_shape(shape) -> str:
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def broadcast_shapes(*shapes: Shape) -> Shape:
    """NumPy broadcasting on static shapes; ``None`` broadcasts against anything but a
    known mismatch. Raises ``ValueError`` for shapes that can never broadcast."""
    ndim = max((len(s) for s in shapes), default=0)
    out = []
    for axis in range(ndim):
        dims = [s[axis - ndim + len(s)] for s in shapes if axis - ndim + len(s) >= 0]
        known = {d for d in dims if d is not None and d != 1}
        if len(known) > 1:
            raise ValueError(f"shapes {', '.join(format_shape(s) for s in shapes)} do not broadcast")
        if known:
            out.append(known.pop())
        elif any(d is None for d in dims):
            out.append(None)
        else:
            out.append(1)
    return tuple(out)
