"""Runs the CIFAR batch reader on hostile inputs in a process of its own, under a memory
limit, so a crash or a runaway allocation ends this process and not pytest's.

    python pickle_worker.py CASES_FILE LIMIT_MB

``CASES_FILE`` holds the cases, each an 8-byte little-endian length and the bytes. For
each case one line goes to stdout, flushed before the next case starts (so a crash
names its case): ``<index> <seconds> ok <n images>`` or ``<index> <seconds> refused
<message>`` for a ``LoadError``, or ``<index> <seconds> ERROR <type>: <message>`` for
anything else. The memory limit is this process's address space after imports plus
``LIMIT_MB``.
"""
import resource
import struct
import sys
import time

from graphflow.keras.datasets.cifar import load_batch
from graphflow.keras.saving import LoadError


def _address_space() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))


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
            outcome = f"ok {len(data)}"
        except LoadError as err:
            outcome = "refused " + " ".join(str(err).split())
        except BaseException as err:  # noqa: BLE001 - every other outcome is what the test reports
            outcome = f"ERROR {type(err).__name__}: " + " ".join(str(err).split())[:300]
        print(f"{i} {time.perf_counter() - t0:.4f} {outcome}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
