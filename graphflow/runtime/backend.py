"""Backends: the small protocol every backend implements, kernel tables, and the registry.

Backends are found through the entry-point group ``graphflow.backends`` (a third party
ships a package; nothing here is edited). Choose one with ``backend=``,
``gf.set_default_backend(name)`` or the ``GRAPHFLOW_BACKEND`` variable (default ``numpy``).

    >>> gf.backends.available()
    [BackendInfo(name='numpy', available=True, reason='')]
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from importlib.metadata import entry_points

ENTRY_POINT_GROUP = "graphflow.backends"


class KernelTable:
    """Maps op types to kernel factories.

    A factory is ``factory(op, node, xp) -> run`` and is called once at compile time;
    ``run(*arrays, out=None)`` is called in the hot loop and returns the output array (a
    tuple for several outputs). A kernel that can write into ``out`` (a buffer of the
    output's shape and dtype planned by the compiler) does so and returns it; one that
    cannot ignores it. Kernels are written against the array namespace ``xp`` so the same
    table serves NumPy and CuPy.
    """

    def __init__(self):
        self._factories: dict = {}

    def register(self, *op_types):
        """Decorator: ``@KERNELS.register(ops.Add)`` on a factory."""
        def deco(factory):
            for t in op_types:
                self._factories[t] = factory
            return factory
        return deco

    def lookup(self, op_type):
        for t in op_type.__mro__:
            if t in self._factories:
                return self._factories[t]
        return None

    def __contains__(self, op_type):
        return self.lookup(op_type) is not None


class Backend:
    """What a backend provides. Subclass it and register the class under the
    ``graphflow.backends`` entry-point group.

    - ``name``; ``xp``, the array namespace its kernels use; ``kernels``, a KernelTable;
    - ``available()`` -> ``(ok, reason)``; ``to_device`` / ``to_host``; ``synchronize()``;
    - ``kernel(node)`` -> run function, from the table (a fused op's factory generates code).
    """

    name = "abstract"
    xp = None
    kernels: KernelTable = KernelTable()

    def available(self) -> tuple[bool, str]:
        return True, ""

    def to_device(self, host_array):
        return self.xp.asarray(host_array)

    def to_host(self, array):
        return array

    def empty(self, shape, dtype):
        return self.xp.empty(shape, dtype)

    def synchronize(self):
        pass

    def kernel(self, node):
        factory = self.kernels.lookup(type(node.op))
        if factory is None:
            raise NotImplementedError(f"backend `{self.name}` has no kernel for {type(node.op).__name__} "
                                      f"({node.where()})")
        return factory(node.op, node, self.xp)

    def __repr__(self):
        return f"<graphflow backend {self.name}>"


@dataclass(frozen=True)
class BackendInfo:
    name: str
    available: bool
    reason: str = ""


_classes: dict = {}      # name -> Backend subclass (or factory)
_instances: dict = {}
_default: list = [None]


def register_backend(name: str, factory) -> None:
    """Make a backend known without packaging it (tests, notebooks)."""
    _classes[name] = factory
    _instances.pop(name, None)


def _discover():
    if _classes.get("__discovered__"):
        return
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in _classes:
            _classes[ep.name] = ep
    _classes["__discovered__"] = True


def _names():
    _discover()
    return sorted(n for n in _classes if n != "__discovered__")


def available() -> list[BackendInfo]:
    """Every installed backend, whether it can run here, and if not, why."""
    infos = []
    for name in _names():
        try:
            ok, reason = _instance(name).available()
        except Exception as exc:  # a broken plugin must not hide the others
            ok, reason = False, f"failed to load: {exc}"
        infos.append(BackendInfo(name, bool(ok), reason))
    return infos


def _instance(name):
    if name not in _instances:
        factory = _classes[name]
        if hasattr(factory, "load"):  # an entry point
            factory = factory.load()
        _instances[name] = factory()
    return _instances[name]


def get_backend(name=None) -> Backend:
    """The backend called ``name``, or the default one; it must be available."""
    if isinstance(name, Backend):
        return name
    origin = ""
    if name is None:
        env = os.environ.get("GRAPHFLOW_BACKEND")
        name = _default[0] or env or "numpy"
        origin = " (from GRAPHFLOW_BACKEND)" if name == env and not _default[0] else ""
    if name not in _names():
        known = "; ".join(f"{i.name} ({'available' if i.available else 'unavailable: ' + i.reason})"
                          for i in available())
        raise ValueError(f"unknown backend {name!r}{origin}; installed backends: {known or 'none'}")
    backend = _instance(name)
    ok, reason = backend.available()
    if not ok:
        raise RuntimeError(f"backend {name!r} cannot run here: {reason}")
    return backend


def set_default_backend(name: str) -> None:
    """Use ``name`` when ``gf.function`` is given no ``backend=``."""
    get_backend(name)  # validate now, with the helpful message
    _default[0] = name


def default_backend_name() -> str:
    return get_backend().name
