"""CUDA source text: the helper header, the hand-written kernel files, C types and literals.

Nothing here needs CuPy or a GPU: the test suite builds every source the backend would
compile and checks it with nvcc (and runs the per-element functions on the CPU).

    >>> ctype("float32"), literal(0.3, "float32")
    ('float', '((float)(0.3))')
    >>> [k.name for k in static_kernels("conv.cu")]
    ['gf_im2col', 'gf_col2im']
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

CSRC = Path(__file__).resolve().parent / "csrc"
STATIC_FILES = ("conv.cu", "pool.cu", "softmax.cu", "random.cu", "segment.cu")

C_TYPES = {
    "bool": "bool", "int8": "signed char", "int16": "short", "int32": "int", "int64": "long long",
    "uint8": "unsigned char", "uint16": "unsigned short", "uint32": "unsigned int",
    "uint64": "unsigned long long", "float32": "float", "float64": "double",
}
INDEX_TYPES = {"int32": "int", "int64": "long long"}   # kernel index types by NumPy name
KERNEL_DTYPES = {"float32": "float", "float64": "double"}   # what the hand-written kernels take

#: NVRTC options for every kernel (CuPy adds the architecture and -ftz=true): no FMA
#: contraction, so ``a * b + c`` rounds twice, as NumPy's separate operations do. The
#: kernels are memory-bound; the fused multiply-add would buy nothing measurable.
NVRTC_OPTIONS = ("--fmad=false",)


class Unsupported(TypeError):
    """A dtype or op the CUDA code generator does not handle (the caller falls back)."""


def ctype(dtype) -> str:
    """The C type holding one element of ``dtype`` (float16 and complex are not handled)."""
    name = np.dtype(dtype).name
    if name not in C_TYPES:
        raise Unsupported(f"no CUDA code generation for dtype {name}")
    return C_TYPES[name]


def literal(value, dtype) -> str:
    """A C expression of type ``ctype(dtype)`` for a Python number: rounded the way NumPy
    converts a Python scalar to that dtype (through the nearest double)."""
    c = ctype(dtype)
    if isinstance(value, (bool, np.bool_)) or c == "bool":
        return "true" if value else "false"
    if np.dtype(dtype).kind in "iu" and float(value).is_integer():
        return f"(({c})({int(value)}LL))"
    v = float(value)
    if math.isnan(v):
        text = "gf_nan()"
    elif math.isinf(v):
        text = "gf_inf()" if v > 0 else "(-gf_inf())"
    else:
        text = repr(v)
    return f"(({c})({text}))"


@lru_cache(maxsize=None)
def read(name: str) -> str:
    return (CSRC / name).read_text(encoding="utf8")


def common() -> str:
    """The helper header every kernel source starts with."""
    return read("gf_common.cuh")


@dataclass(frozen=True)
class StaticKernel:
    """A hand-written template kernel of one of the csrc files (``GF_EACH`` or ``GF_ROWS``)."""
    name: str
    file: str
    rows: bool          # one warp per row (GF_ROWS) rather than one thread per element

    def instance(self, dtype, index) -> str:
        """The name CuPy's RawModule looks the instantiation up by, e.g. ``gf_im2col<float, int>``."""
        return f"{self.name}<{KERNEL_DTYPES[np.dtype(dtype).name]}, {INDEX_TYPES[np.dtype(index).name]}>"


_FAMILY = re.compile(r"^GF_(EACH|ROWS)\((\w+),", re.M)


@lru_cache(maxsize=None)
def static_kernels(file: str) -> tuple:
    """The kernel families a csrc file declares, in file order."""
    return tuple(StaticKernel(m.group(2), file, m.group(1) == "ROWS") for m in _FAMILY.finditer(read(file)))


def static_source(file: str) -> str:
    """The complete translation unit for one csrc file (header + file)."""
    return common() + "\n" + read(file)


def instantiations(kernels, dtypes=KERNEL_DTYPES, indexes=INDEX_TYPES) -> str:
    """C++ that instantiates every (dtype, index) variant of ``kernels`` (for nvcc, which,
    unlike NVRTC with name expressions, instantiates only what the source names)."""
    refs = [f"(void*)&{k.instance(d, i)}" for k in kernels for d in dtypes for i in indexes]
    return "#if defined(__CUDACC__)\nstatic void* gf_instances[] = {\n    " + ",\n    ".join(refs) + "\n};\n#endif\n"


def static_kernel(file: str, name: str) -> StaticKernel:
    """The kernel family ``name`` of ``file`` (a KeyError names what the file declares)."""
    for k in static_kernels(file):
        if k.name == name:
            return k
    raise KeyError(f"{file} declares no kernel {name!r} (it has {[k.name for k in static_kernels(file)]})")
