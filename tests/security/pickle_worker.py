"""Runs the CIFAR batch reader on hostile inputs in a process of its own, under a memory
limit, so a crash or a runaway allocation ends this process and not pytest's.

    python pickle_worker.py CASES_FILE LIMIT_MB

``CASES_FILE`` holds the cases, each an 8-byte little-endian length and the bytes. For
each case one line goes to stdout, flushed before the next case starts (so a crash
names its case): ``<index> <seconds> ok <n images>`` (followed by ``MISMATCH ...`` when
the stock unpickler, restricted to NumPy's array globals, reads other values from it) or ``<index> <seconds> refused
<message>`` for a ``LoadError``, or ``<index> <seconds> ERROR <type>: <message>`` for
anything else. The memory limit is this process's address space after imports plus
``LIMIT_MB``.
"""
import io
import pickle
import resource
import struct
import sys
import time

import numpy as np

from graphflow.keras.datasets.cifar import load_batch
from graphflow.keras.saving import LoadError


def _address_space() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))


class _Reference(pickle.Unpickler):
    """The stock unpickler with NumPy's array globals only: run on what our reader
    accepted, it says what the pickle means."""

    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name}")


_ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}


def _compare(case, data, labels) -> str:
    """'' when the stock unpickler reads the same images and labels, else why not."""
    try:
        ref = _Reference(io.BytesIO(case), encoding="bytes").load()
        ref = {k.decode() if isinstance(k, bytes) else k: v for k, v in ref.items()}
        same = np.array_equal(ref["data"], data.reshape(len(data), -1)) and ref["data"].dtype == data.dtype \
            and ref["labels"] == labels
    except MemoryError:  # the stock unpickler's own weakness (a memo index of 2^31 sizes its memo): no verdict
        return ""
    except Exception as err:  # noqa: BLE001 - reported
        return f" MISMATCH the stock unpickler fails: {type(err).__name__}: {err}"
    return "" if same else " MISMATCH the stock unpickler reads other values"


def main(path, limit_mb):
    with open(path, "rb") as f:
        blob = f.read()
    cases, pos = [], 0
    while pos < len(blob):
        (n,) = struct.unpack_from("<Q", blob, pos)
        cases.append(blob[pos + 8:pos + 8 + n])
        pos += 8 + n
    limit = _address_space() + int(limit_mb) * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    for i, case in enumerate(cases):
        t0 = time.perf_counter()
        try:
            data, labels = load_batch(case)
            outcome = f"ok {len(data)}" + _compare(case, data, labels)
        except LoadError as err:
            outcome = "refused " + " ".join(str(err).split())
        except BaseException as err:  # noqa: BLE001 - every other outcome is what the test reports
            outcome = f"ERROR {type(err).__name__}: " + " ".join(str(err).split())[:300]
        print(f"{i} {time.perf_counter() - t0:.4f} {outcome}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
