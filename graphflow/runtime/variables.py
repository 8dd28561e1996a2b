"""Where variables live while compiled functions use them: one cell per variable, on one
backend at a time.

A variable starts in the graph layer's ``HostCell`` (a NumPy array). The first function
that runs on a backend moves it into a ``DeviceCell`` of that backend; it moves again only
when a function on another backend uses it. Reading a snapshot of the state at the start
of a call and committing a step's updates both hold ``STATE_LOCK``, so updates apply all
together and no call (or ``get_value``) sees half of a step; calls that update variables
also hold ``STEP_LOCK`` throughout, so concurrent training steps never lose an update.
"""
from __future__ import annotations

import contextlib
import signal
import threading

import numpy as np

from ..graph.sources import STATE_LOCK

#: held for the whole of a call that updates variables: such calls (training steps) run
#: one after another, each seeing the previous one's updates, so no update is lost when
#: threads share a model; calls without updates (inference) never wait for it
STEP_LOCK = threading.RLock()


class DeviceCell:
    """A variable's value as an array of ``backend``."""

    __slots__ = ("backend", "array")

    def __init__(self, backend, array):
        self.backend, self.array = backend, array

    def get_value(self) -> np.ndarray:
        with STATE_LOCK:
            array = self.array
        return np.array(self.backend.to_host(array), copy=True)

    def set_value(self, host: np.ndarray) -> None:
        device = self.backend.to_device(host)
        with STATE_LOCK:
            self.array = device


def _bind(var, backend):
    """``var``'s array on ``backend``, moving it there first if it lives elsewhere."""
    cell = var._cell
    if isinstance(cell, DeviceCell) and cell.backend is backend:
        return cell.array
    var._cell = DeviceCell(backend, backend.to_device(cell.get_value()))
    return var._cell.array


def snapshot(variables, backend) -> list:
    """The current arrays of ``variables`` on ``backend``, all from one moment."""
    with STATE_LOCK:
        return [_bind(v, backend) for v in variables]


@contextlib.contextmanager
def _no_interrupt():
    """Hold Ctrl-C (SIGINT) back for the few bytecodes of a commit: a KeyboardInterrupt
    then arrives right after it, never between two variables of one step (POSIX main
    thread; elsewhere signals are not delivered to this thread anyway)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def commit(variables, arrays, backend) -> None:
    """Give each variable its new array, all at once: the assignments are prepared first,
    then made by one C-level ``map`` that no signal handler can interrupt half-way."""
    with _no_interrupt(), STATE_LOCK:
        targets, names, values = [], [], []
        for var, array in zip(variables, arrays):
            cell = var._cell
            if isinstance(cell, DeviceCell) and cell.backend is backend:
                targets.append(cell), names.append("array"), values.append(array)
            else:
                targets.append(var), names.append("_cell"), values.append(DeviceCell(backend, array))
        list(map(setattr, targets, names, values))
