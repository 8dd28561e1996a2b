"""graphflow.distributed: data-parallel jobs on MPI, the way Horovod runs Keras.

Start the same script once per process with ``mpirun -n 2 python train.py``; in it,
``init()`` joins the job, ``rank()``/``size()`` say where this process stands, and the
collective ops — ``allreduce``, ``broadcast``, ``allgather`` — are graph ops like any
other: they appear in SVGs and ``f.report()``, and run (with mpi4py, on host buffers)
when the compiled function runs. mpi4py is imported by ``init()`` only: without it
graphflow runs single-process and ``init()`` says what to install.

    >>> import graphflow as gf, graphflow.distributed as dist
    >>> dist.init()
    >>> x = gf.placeholder((3,), name="x")
    >>> f = gf.function([x], dist.allreduce(x, op="sum"))
    >>> f(np.ones(3, np.float32))        # with 2 ranks: array([2., 2., 2.], dtype=float32)

See docs/distributed.md; ``graphflow.keras.distributed`` has the Keras side
(``DistributedOptimizer``, the broadcast and metric-average callbacks, ``shard``).
"""
from ..ops.collective import allgather, allreduce, broadcast  # noqa: F401
from .context import (init, is_initialized, local_rank, local_size, rank, reset_stats, shutdown,  # noqa: F401
                      size, stats)
from .errors import (CollectiveMismatchError, CollectiveTimeoutError, DistributedError,  # noqa: F401
                     MPIUnavailableError, NotInitializedError, PeerFailedError)
from .variables import broadcast_variables  # noqa: F401
