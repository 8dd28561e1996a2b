"""Pickles for the CIFAR reader's tests: a batch written as Python 2's cPickle wrote the
originals (protocol 2, strings as SHORT_BINSTRING/BINSTRING, NumPy 1's global names), a
tiny opcode assembler for hostile ones, and ``run_cases``, which feeds cases to
``pickle_worker.py`` in a memory-limited subprocess and returns one result per case."""
import io
import os
import pickle
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

WORKER = Path(__file__).with_name("pickle_worker.py")


class Py2Pickler(pickle._Pickler):
    """Writes str and bytes as Python 2 strings (SHORT_BINSTRING / BINSTRING), as Python
    2's cPickle wrote the CIFAR batches."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_py2_string(self, obj):
        data = obj.encode("latin1") if isinstance(obj, str) else obj
        head = pickle.SHORT_BINSTRING + bytes([len(data)]) if len(data) < 256 else \
            pickle.BINSTRING + struct.pack("<i", len(data))
        self.write(head + data)
        self.memoize(obj)

    dispatch[str] = dispatch[bytes] = save_py2_string


def py2_pickle(obj) -> bytes:
    out = io.BytesIO()
    Py2Pickler(out, protocol=2).dump(obj)
    # NumPy 1 (which wrote the real files) named the reconstructor numpy.core.multiarray
    return out.getvalue().replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")


def batch(n=2, seed=0):
    """``(pickle bytes, images (n, 3072), labels)`` of a well-formed CIFAR-10 batch."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    labels = [int(v) for v in rng.integers(0, 10, n)]
    data = py2_pickle({b"batch_label": b"training batch 1 of 5", b"labels": labels, b"data": images,
                       b"filenames": [f"img_{i}.png".encode() for i in range(n)]})
    return data, images, labels


# ------------------------------------------------------------------ assembling by hand
def s(text) -> bytes:
    """A Python 2 string (SHORT_BINSTRING)."""
    raw = text.encode("latin1") if isinstance(text, str) else text
    return pickle.SHORT_BINSTRING + bytes([len(raw)]) + raw


def i(v) -> bytes:
    return pickle.BININT + struct.pack("<i", v)


def dtype_u1(state) -> bytes:
    """``numpy.dtype('u1', 0, 1)`` then BUILD with ``state`` (already assembled)."""
    return b"cnumpy\ndtype\n" + s("u1") + b"K\x00K\x01\x87R" + state + b"b"


PLAIN_U1_STATE = b"(K\x03" + s("|") + b"NNN" + i(-1) + i(-1) + b"K\x00t"


def array(shape_ops, dtype_ops, raw) -> bytes:
    """``_reconstruct(ndarray, (0,), 'b')`` then BUILD ``(1, shape, dtype, False, raw)``."""
    return (b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85" + s("b") + b"\x87R"
            + b"(K\x01" + shape_ops + dtype_ops + b"\x89" + pickle.BINSTRING + struct.pack("<i", len(raw)) + raw
            + b"tb")


def in_batch(data_ops, n_labels=0) -> bytes:
    """A protocol-2 batch dict whose 'data' value is ``data_ops`` and labels are n zeros."""
    labels = b"](" + b"K\x00" * n_labels + b"e" if n_labels else b"]"
    return b"\x80\x02}(" + s("data") + data_ops + s("labels") + labels + b"u."


def run_cases(cases, limit_mb=256, timeout=120):
    """Each case through ``load_batch`` in one memory-limited subprocess: a list of
    ``(seconds, kind, text)`` with kind 'ok', 'refused' or 'ERROR'; a crash raises
    AssertionError naming the case that crashed it."""
    with tempfile.NamedTemporaryFile(suffix=".cases", delete=False) as f:
        for case in cases:
            f.write(struct.pack("<Q", len(case)) + case)
    try:
        here = Path(__file__).resolve().parents[2]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(here), str(here / "backends"),
                                                           os.environ.get("PYTHONPATH", "")]))
        res = subprocess.run([sys.executable, str(WORKER), f.name, str(limit_mb)], capture_output=True,
                             text=True, timeout=timeout, env=env)
    finally:
        os.unlink(f.name)
    lines = [line.split(" ", 3) for line in res.stdout.splitlines()]
    results = [(float(sec), kind, rest[0] if rest else "") for _, sec, kind, *rest in lines]
    if res.returncode != 0 or len(results) != len(cases):
        k = len(results)
        raise AssertionError(f"the reader died (exit {res.returncode}) on case {k} of {len(cases)}: "
                             f"{cases[k][:200].hex() if k < len(cases) else ''}\n{res.stderr[-2000:]}")
    return results
