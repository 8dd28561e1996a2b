"""Data-parallel Keras training over MPI, the way Horovod does it for Keras.

Every process (rank) runs the same script on its own shard of the data; inside the
compiled training step the gradients are averaged over the ranks, so every rank applies
the same update and the weights stay identical::

    import graphflow.distributed as dist
    from graphflow.keras import distributed as kd
    dist.init()
    x_train, y_train = kd.shard((x_train, y_train))            # this rank's samples
    opt = kd.DistributedOptimizer(SGD(lr=0.01 * dist.size()))  # Horovod's lr scaling
    model.compile(loss="categorical_crossentropy", optimizer=opt, metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=32, epochs=8,
              callbacks=[kd.BroadcastGlobalVariablesCallback(0), kd.MetricAverageCallback()])

Run it with ``mpirun -n 2 python train.py``. Only rank 0 prints the progress bar and
writes checkpoints and saved models. See docs/distributed.md.
"""
import functools
import itertools
import os

import numpy as np

import graphflow as gf
from graphflow import distributed as dist

from . import optimizers
from .callbacks import Callback

FUSION_THRESHOLD = 64 * 2 ** 20  # bytes per fused all-reduce (Horovod: 64 MiB before v0.21, 128 MiB since)


def _default_threshold() -> int:
    value = os.environ.get("GRAPHFLOW_FUSION_THRESHOLD")
    if value is None:
        return FUSION_THRESHOLD
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"GRAPHFLOW_FUSION_THRESHOLD must be a number of bytes, got {value!r}") from None


# ---------------------------------------------------------------- gradients
def fusion_buckets(tensors, threshold) -> list:
    """Indices of ``tensors`` grouped for fused all-reduces: one dtype per group, groups
    filled in reverse order (the last layers' gradients are ready first in the backward
    pass) up to ``threshold`` bytes; a tensor larger than that goes alone; 0 = one each."""
    buckets, open_ = [], {}  # dtype -> (indices, bytes) of the bucket being filled
    for i in reversed(range(len(tensors))):
        t = tensors[i]
        nbytes = int(np.prod(t.shape)) * np.dtype(t.dtype).itemsize
        indices, size = open_.get(t.dtype, ([], 0))
        if indices and size + nbytes > threshold:
            buckets.append(indices)
            indices, size = [], 0
        open_[t.dtype] = (indices + [i], size + nbytes)
    buckets.extend(indices for indices, _ in open_.values())
    return buckets


def allreduce_gradients(grads, op="mean", threshold=None) -> list:
    """``grads`` reduced over the ranks in few fused all-reduces (see ``fusion_buckets``)."""
    threshold = _default_threshold() if threshold is None else int(threshold)
    out = list(grads)
    for bucket in fusion_buckets(grads, threshold):
        for i, g in zip(bucket, dist.allreduce([grads[i] for i in bucket], op=op, name="allreduce_grads")):
            out[i] = g
    return out


class _Distributed:
    """Mixed in before an optimizer class: its gradients are averaged over the ranks."""

    def get_gradients(self, loss, params):
        grads = gf.grad(loss, list(params))
        with gf.name_scope("DistributedOptimizer"):
            grads = allreduce_gradients(grads, self.distributed_op, self.fusion_threshold)
        return self._clipped(grads)


def DistributedOptimizer(optimizer, fusion_threshold=None, op="mean"):
    """``optimizer`` (a name, config or instance) whose training step averages (``op=
    "mean"``) or sums (``"sum"``) the gradients over all ranks before applying them,
    in fused all-reduces of at most ``fusion_threshold`` bytes each (default 64 MiB, or
    ``GRAPHFLOW_FUSION_THRESHOLD``). Gradient clipping applies to the averaged
    gradients. The result is of the optimizer's own class name, so saved models record
    e.g. ``SGD``.

    >>> opt = DistributedOptimizer(SGD(lr=0.01 * dist.size(), momentum=0.9, nesterov=True))
    """
    base = optimizers.get(optimizer)
    if isinstance(base, _Distributed):
        raise ValueError("this optimizer is already a DistributedOptimizer")
    if op not in ("mean", "sum"):
        raise ValueError(f"op must be 'mean' or 'sum', got {op!r}")
    cls = type(type(base).__name__, (_Distributed, type(base)), {"__module__": type(base).__module__})
    wrapped = cls.from_config(base.get_config())
    wrapped.fusion_threshold = _default_threshold() if fusion_threshold is None else int(fusion_threshold)
    wrapped.distributed_op = op
    return wrapped


# ---------------------------------------------------------------- callbacks
def _state(model) -> list:
    """The model's weights and its optimizer's state, each once, in a fixed order."""
    found, seen = [], set()
    optimizer_weights = getattr(model.optimizer, "weights", []) if model.optimizer is not None else []
    for v in list(model.weights) + list(optimizer_weights):
        if id(v) not in seen:
            seen.add(id(v))
            found.append(v)
    return found


class BroadcastGlobalVariablesCallback(Callback):
    """At the start of training, give every rank rank ``root_rank``'s weights and
    optimizer state (iterations, momenta...), so all ranks start identical. (Horovod
    waits for the first batch's end, when TensorFlow has made the optimizer's slots;
    here they exist once the model is compiled.)"""

    def __init__(self, root_rank=0):
        super().__init__()
        self.root_rank = int(root_rank)

    def on_train_begin(self, logs=None):
        dist.broadcast_variables(_state(self.model), root=self.root_rank)


class MetricAverageCallback(Callback):
    """At the end of every epoch, replace each value in the epoch logs (loss, metrics,
    ``val_*``) by its average over the ranks, so early stopping, learning-rate schedules
    and checkpoints decide alike everywhere. Put it before the callbacks that read them."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        keys = sorted(k for k, v in logs.items() if isinstance(v, (int, float, np.number)) and not isinstance(v, bool))
        if keys:
            logs.update(zip(keys, average([logs[k] for k in keys])))


_averagers: dict = {}  # number of values -> compiled all-reduce


def average(values):
    """The mean over the ranks of a number, or of each number in a list (every rank
    must pass as many); one all-reduce in float64.

    >>> loss, acc = average(model.evaluate(*shard((x_test, y_test)), verbose=0))
    """
    single = not isinstance(values, (list, tuple, np.ndarray))
    flat = np.atleast_1d(np.asarray(values, np.float64))
    n = flat.size
    if n not in _averagers:
        ph = gf.placeholder((n,), "float64", name="values")
        _averagers[n] = gf.function([ph], dist.allreduce(ph, op="mean", name="average"), name="average")
    out = [float(v) for v in _averagers[n](flat)]
    return out[0] if single else out


# ---------------------------------------------------------------- data
def _where(rank, size):
    if rank is None:
        rank = dist.rank() if dist.is_initialized() else 0
    if size is None:
        size = dist.size() if dist.is_initialized() else 1
    if not 0 <= rank < size:
        raise ValueError(f"rank {rank} is not in a job of {size}")
    return rank, size


def shard(data, rank=None, size=None, drop_remainder=True):
    """This rank's share of ``data``: the samples ``rank, rank + size, ...``.

    - an array (or a list/tuple/dict of arrays, sharded alike): every ``size``-th
      sample; with ``drop_remainder`` every rank gets the same number (the last
      ``len % size`` samples are left out), so all ranks run the same number of steps;
    - an ``ImageDataGenerator`` flow: a flow over this rank's samples, with the same
      batch size and its own shuffling and augmentation seed (``seed + rank``);
    - a Sequence (``len`` and ``[i]``): every ``size``-th batch, ``len // size`` of them;
    - a generator: every ``size``-th batch it yields (every rank must draw the same
      stream, e.g. by seeding it alike; each rank makes all batches, keeps its own).

    With two ranks, unshuffled, rank 0's k-th batch of ``B`` and rank 1's together are
    exactly the k-th batch of ``2 B`` of the whole data.

    >>> x_train, y_train = shard((x_train, y_train))
    """
    rank, size = _where(rank, size)
    if isinstance(data, dict):
        return {k: shard(v, rank, size, drop_remainder) for k, v in data.items()}
    if isinstance(data, (list, tuple)) and data and all(_is_array(d) for d in data):
        return type(data)(shard(d, rank, size, drop_remainder) for d in data)
    if _is_array(data) or isinstance(data, (list, tuple)):
        data = np.asarray(data)
        n = len(data) - len(data) % size if drop_remainder else len(data)
        return data[rank:n:size]
    iterator_class = _iterator_class()
    if isinstance(data, iterator_class):
        return _sharded_iterator_class()(data, rank, size)
    if hasattr(data, "__getitem__") and hasattr(data, "__len__"):
        return ShardedSequence(data, rank, size)
    if hasattr(data, "__next__") or hasattr(data, "__iter__"):
        return itertools.islice(iter(data), rank, None, size)
    raise TypeError(f"shard: cannot split a {type(data).__name__}; give arrays, a flow, a Sequence or a generator")


def _is_array(x) -> bool:
    return isinstance(x, np.ndarray) or (hasattr(x, "__array__") and hasattr(x, "shape"))


def _iterator_class():
    from .preprocessing.iterators import Iterator  # loaded on use: it brings the image stack
    return Iterator


@functools.lru_cache(maxsize=None)
def _sharded_iterator_class():
    Iterator = _iterator_class()

    class ShardedIterator(Iterator):
        """A flow's batches drawn from one rank's samples only."""

        def __init__(self, base, rank, size):
            self.base = base
            self.ids = np.arange(rank, base.n - base.n % size, size)
            super().__init__(len(self.ids), base.batch_size, base.shuffle, base.seed + rank)

        def _get_batch(self, index_array, start, rng):
            return self.base._get_batch(self.ids[index_array], start, rng)

    return ShardedIterator


class ShardedSequence:
    """Every ``size``-th batch of a Sequence, starting at ``rank``."""

    def __init__(self, sequence, rank, size):
        self.sequence, self.rank, self.size = sequence, rank, size

    def __len__(self):
        return len(self.sequence) // self.size

    def __getitem__(self, i):
        if not 0 <= i < len(self):
            raise IndexError(f"batch {i} of a shard of {len(self)}")
        return self.sequence[i * self.size + self.rank]

    def on_epoch_end(self):
        if hasattr(self.sequence, "on_epoch_end"):
            self.sequence.on_epoch_end()
