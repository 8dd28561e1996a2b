"""Backends: the small protocol every backend implements, kernel tables, and the registry.

Backends are found through the entry-point group ``graphflow.backends`` (a third party
ships a package; nothing here is edited). Choose one with ``backend=``,
``gf.set_default_backend(name)`` or the ``GRAPHFLOW_BACKEND`` variable (default ``numpy``).

    >>> gf.backends.available()
    [BackendInfo(name='numpy', available=True, reason='')]
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from importlib.metadata import entry_points

ENTRY_POINT_GROUP = "graphflow.backends"


def _never(op, position) -> bool:
    return False


def _always(op, position) -> bool:
    return True


@dataclass(frozen=True)
class KernelSpec:
    """A registered kernel and the facts about it that only its backend knows.

    - ``factory(op, node, xp) -> run``: called once at compile time; ``run(*arrays,
      out=None)`` runs in the hot loop.
    - ``writes_out``: ``run`` computes straight into a planned ``out=`` buffer and returns
      it (so the memory plan may give its value a buffer). A kernel that would only copy a
      finished result into ``out`` says False: planning it would add a pass, not save one.
    - ``inplace(op, position) -> bool``: ``out`` may be the very array of input
      ``position`` (same shape and dtype) and the result is still right.
    - ``takes_epilogue``: ``run`` also accepts ``epilogue=fn``, and calls ``fn(y, index)``
      on each block ``y[index]`` of its result as soon as that block is written (so a
      fused element-wise tail runs while the block is in cache: conv2d's bias + ReLU).
    - ``scratch_bytes(op, input_shapes, itemsize, xp) -> int``: the work memory one call holds
      beyond its inputs and outputs (column matrices, Winograd tiles), which the memory
      estimate of ``f.report()`` adds at its largest; None: nothing worth counting.
    """
    factory: object
    writes_out: bool = False
    inplace: object = _never
    takes_epilogue: bool = False
    scratch_bytes: object = None


class KernelTable:
    """Maps op types to kernels (``KernelSpec``); inherits what it lacks from ``parent``.

    A backend that differs from another only in a few kernels makes
    ``KernelTable(parent=other.kernels)`` and registers just those. Lookup walks the op
    type's MRO; for each class the table itself is asked first, then its parent chain, so
    the most specific op class wins and, for the same class, the child's kernel wins.

    >>> TABLE = KernelTable(parent=NumpyBackend.kernels)
    >>> @TABLE.register(ops.Tanh, writes_out=True, inplace=True)
    ... def tanh(op, node, xp):
    ...     return lambda x, out=None: xp.tanh(x, out=out)
    """

    def __init__(self, parent: "KernelTable | None" = None, name: str = ""):
        self.parent, self.name = parent, name
        self._specs: dict = {}

    def register(self, *op_types, writes_out: bool = False, inplace=False, takes_epilogue: bool = False,
                 scratch_bytes=None):
        """Decorator on a factory: ``@KERNELS.register(ops.Add, writes_out=True, inplace=True)``.
        ``inplace`` is a bool or ``fn(op, position) -> bool``; the facts are ``KernelSpec``'s."""
        if not op_types:
            raise TypeError("register() needs at least one op type")
        rule = inplace if callable(inplace) else (_always if inplace else _never)

        def deco(factory):
            for t in op_types:
                self._specs[t] = KernelSpec(factory, bool(writes_out), rule, bool(takes_epilogue), scratch_bytes)
            return factory
        return deco

    def _own(self, cls):
        table = self
        while table is not None:
            spec = table._specs.get(cls)
            if spec is not None:
                return spec
            table = table.parent
        return None

    def spec(self, op_type) -> KernelSpec | None:
        """The kernel registered for ``op_type`` (or an ancestor class), or None."""
        for cls in op_type.__mro__:
            found = self._own(cls)
            if found is not None:
                return found
        return None

    def lookup(self, op_type):
        """The factory for ``op_type``, or None."""
        spec = self.spec(op_type)
        return None if spec is None else spec.factory

    def __contains__(self, op_type):
        return self.spec(op_type) is not None


class Backend:
    """What a backend provides. Subclass it and register the class under the
    ``graphflow.backends`` entry-point group.

    A subclass must give ``name``, ``xp`` (the array namespace its kernels use),
    ``kernels`` (its own ``KernelTable``, usually with a parent) and the two transfers
    ``to_device``/``to_host``: every crossing between the host and the backend goes through
    them, so there is no default that could hand a device array to NumPy by mistake.
    It may override ``available()``, ``empty``, ``synchronize`` and ``compile_fused``.
    """

    name = "abstract"
    xp = None
    kernels: KernelTable | None = None

    def available(self) -> tuple[bool, str]:
        return True, ""

    def to_device(self, host_array):
        """A backend array holding ``host_array`` (a NumPy array)."""
        raise NotImplementedError(f"backend `{self.name}` must implement to_device(host_array)")

    def to_host(self, array):
        """A NumPy array holding ``array`` (a backend array); waits for it to be ready."""
        raise NotImplementedError(f"backend `{self.name}` must implement to_host(array)")

    def empty(self, shape, dtype):
        return self.xp.empty(shape, dtype)

    def synchronize(self):
        """Wait until all queued work is done (a GPU stream); nothing to wait for on a CPU."""

    def loop_scope(self):
        """A context the runtime runs a loop's iterations in (many small kernel calls):
        a backend whose kernels are tuned for big calls (a BLAS thread pool) may retune
        them for the duration. Nothing by default."""
        return contextlib.nullcontext()

    def jit_stats(self) -> dict:
        """What the backend's compiled loops cost on first use: ``{name: {"seconds": s,
        "cache": "hit" | "miss"}}`` (shown by ``f.profile()``)."""
        return {}

    # ------------------------------------------------------------ kernels
    def kernel_spec(self, op) -> KernelSpec | None:
        """The kernel facts for ``op`` (None if it cannot be lowered here)."""
        from ..ops.fused import Fused, FusedEpilogue
        if isinstance(op, (Fused, FusedEpilogue)):
            return self.fused_spec(op) if self.fuses else None
        return self.kernels.spec(type(op)) if self.kernels is not None else None

    def can_run(self, op_type) -> bool:
        """Whether a node of ``op_type`` can be lowered (a kernel or the fused-op hook)."""
        return self.kernels is not None and op_type in self.kernels

    def kernel(self, node):
        """The run function for ``node``: the fused-op hook for compiler-made fused ops,
        else the registered kernel's factory."""
        from ..ops.fused import Fused, FusedEpilogue
        if isinstance(node.op, (Fused, FusedEpilogue)):
            return self.compile_fused(node)
        spec = self.kernel_spec(node.op)
        if spec is None:
            raise NotImplementedError(f"backend `{self.name}` has no kernel for {type(node.op).__name__} "
                                      f"({node.where()})")
        return spec.factory(node.op, node, self.xp)

    def compile_fused(self, node):
        """Lower a ``Fused`` / ``FusedEpilogue`` node (an element-wise group, or a conv /
        matmul with its element-wise tail) to one run function. A backend that fuses
        overrides this (NumPy: a generated Python function over its kernels; CuPy: one
        generated CUDA kernel) and says so with ``fuses = True``."""
        raise NotImplementedError(f"backend `{self.name}` does not compile fused ops ({node.where()})")

    def fused_spec(self, op) -> KernelSpec:
        """What ``compile_fused``'s kernel for ``op`` can do with ``out=`` (the memory
        planner's question); by default nothing is planned for fused ops."""
        return KernelSpec(None)

    #: whether ``compile_fused`` is implemented; the compiler fuses only for such backends
    fuses = False

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


def set_default_backend(name) -> None:
    """Use ``name`` when ``gf.function`` is given no ``backend=`` (``None``: back to
    ``GRAPHFLOW_BACKEND`` or ``numpy``)."""
    if name is not None:
        get_backend(name)  # validate now, with the helpful message
    _default[0] = name
