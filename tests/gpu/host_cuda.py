"""``cupy.cuda`` of the cupy-on-host stand-in (host_cupy.py): a stream that never has
work queued (host loops run as they are launched), events timed by the host clock, one
device, the runtime's and NVRTC's versions, a cuBLAS handle (for the availability probe),
and ``nccl``: the NCCL stand-in of host_nccl.py."""
from __future__ import annotations

import time
import types

from host_nccl import NCCL


class Stream:
    """CuPy's current stream: nothing is ever queued on it."""
    ptr = 0

    def synchronize(self):
        """Nothing is queued: host loops run as they are launched."""


class Event:
    """A CUDA event: the host clock when recorded (every launch has finished by then)."""

    def __init__(self, *args, **kwargs):
        self.t = None

    def record(self, stream=None):
        self.t = time.perf_counter()

    def synchronize(self):
        pass


def get_elapsed_time(start, end):
    """Milliseconds between two recorded events."""
    return 1e3 * (end.t - start.t)


class Device:
    """Device 0 with one "SM" (the host loops ignore grids)."""
    attributes = {"MultiProcessorCount": 1}

    def __init__(self, index=0):
        self.id = index

    def use(self):
        pass

    def synchronize(self):
        pass


DEVICE = Device()
_STREAM = Stream()


def cuda_namespace():
    """The stand-in's ``cupy.cuda``."""
    runtime = types.SimpleNamespace(getDeviceCount=lambda: 1, runtimeGetVersion=lambda: 13000,
                                    driverGetVersion=lambda: 13000,
                                    getDeviceProperties=lambda i: {"name": b"cupy-on-host stand-in"})
    return types.SimpleNamespace(
        Stream=Stream, Event=Event, Device=Device, get_elapsed_time=get_elapsed_time, runtime=runtime,
        get_current_stream=lambda: _STREAM, nvrtc=types.SimpleNamespace(getVersion=lambda: (13, 0)),
        device=types.SimpleNamespace(get_cublas_handle=lambda: 1), nccl=NCCL)
