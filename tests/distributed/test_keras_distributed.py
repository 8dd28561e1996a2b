"""graphflow.keras.distributed without starting MPI: sharding, gradient fusion, the
optimizer wrapper and the rank-0 rules in a job of one. Training across ranks is checked
in real MPI jobs (test_mpi_jobs.py)."""
from __future__ import annotations

import numpy as np
import pytest

import graphflow as gf
import graphflow.distributed as dist
from graphflow.keras import distributed as kd
from graphflow.keras._utils import is_chief
from graphflow.keras.layers import Conv2D, Dense, Flatten
from graphflow.keras.models import Sequential
from graphflow.keras.optimizers import SGD, Adam
from graphflow.keras.preprocessing.image import ImageDataGenerator


def test_array_shards_are_disjoint_equal_and_cover_whole_batches():
    x = np.arange(22)
    shards = [kd.shard(x, rank=r, size=2) for r in range(2)]
    assert [len(s) for s in shards] == [11, 11]
    assert sorted(np.concatenate(shards)) == list(range(22))
    for k in range(2):  # unshuffled: batch k of 4 on each rank = batch k of 8 of the whole
        assert sorted(np.concatenate([s[4 * k:4 * k + 4] for s in shards])) == list(range(8 * k, 8 * k + 8))
    three = [kd.shard(x, rank=r, size=3) for r in range(3)]
    assert [len(s) for s in three] == [7, 7, 7]  # 22 % 3 = 1 sample left out so steps agree
    assert len(kd.shard(x, rank=0, size=3, drop_remainder=False)) == 8


def test_structures_shard_alike_and_a_job_of_one_keeps_everything():
    x, y = np.arange(10) * 10, np.arange(10)
    xs, ys = kd.shard((x, y), rank=1, size=2)
    np.testing.assert_array_equal(xs, ys * 10)
    assert kd.shard({"a": x}, rank=1, size=2)["a"].tolist() == [10, 30, 50, 70, 90]
    assert not dist.is_initialized()
    np.testing.assert_array_equal(kd.shard(x), x)
    with pytest.raises(ValueError, match="rank 2 is not in a job of 2"):
        kd.shard(x, rank=2, size=2)


def test_flows_sequences_and_generators_shard_by_rank():
    x = np.zeros((12, 2, 2, 1), np.float32)
    ids = np.arange(12)
    flow = ImageDataGenerator().flow(x, ids, batch_size=3, shuffle=True, seed=5)
    seen = []
    for r in range(2):
        mine = kd.shard(flow, rank=r, size=2)
        assert len(mine) == 2
        seen.append(np.concatenate([next(mine)[1] for _ in range(len(mine))]))
    assert sorted(np.concatenate(seen)) == list(range(12)) and not set(seen[0]) & set(seen[1])
    assert set(seen[0]) == set(range(0, 12, 2))

    class Batches:
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return i

    assert [kd.shard(Batches(), rank=1, size=2)[i] for i in range(2)] == [1, 3]
    assert list(kd.shard(iter(range(7)), rank=0, size=3)) == [0, 3, 6]


def test_gradients_fuse_by_dtype_and_threshold():
    ts = [gf.placeholder(s, dt) for s, dt in [((100,), "float32"), ((10,), "float32"), ((300,), "float32"),
                                              ((5,), "float64")]]
    assert sorted(map(sorted, kd.fusion_buckets(ts, 1 << 30))) == [[0, 1, 2], [3]]
    assert sorted(map(sorted, kd.fusion_buckets(ts, 0))) == [[0], [1], [2], [3]]
    # 1600 bytes: the last tensors first (they are ready first in the backward pass)
    assert kd.fusion_buckets(ts, 1600) == [[2, 1], [3], [0]]


def _model():
    np.random.seed(0)
    return Sequential([Conv2D(2, (3, 3), input_shape=(6, 6, 1), activation="relu"), Flatten(), Dense(3)])


def test_distributed_optimizer_keeps_its_class_and_fuses_gradients():
    opt = kd.DistributedOptimizer(SGD(lr=0.05, momentum=0.9, nesterov=True, clipnorm=1.0))
    assert type(opt).__name__ == "SGD" and isinstance(opt, SGD)
    assert opt.get_config() == SGD(lr=0.05, momentum=0.9, nesterov=True, clipnorm=1.0).get_config()
    model = _model()
    model.compile(loss="mse", optimizer=opt)
    kernels = model.train_function.program.report.kernels
    assert kernels["allreduce"] == 1  # four gradients, one exchange
    (node,) = [n for n in model.train_function.program.schedule if isinstance(n.op, gf.ops.collective.Allreduce)]
    assert len(node.inputs) == 4 and node.scope.startswith("DistributedOptimizer")
    small = _model()
    small.compile(loss="mse", optimizer=kd.DistributedOptimizer(Adam(), fusion_threshold=0))
    assert small.train_function.program.report.kernels["allreduce"] == 4
    assert "allreduce" not in model.test_function.program.report.kernels
    with pytest.raises(ValueError, match="already a DistributedOptimizer"):
        kd.DistributedOptimizer(opt)
    with pytest.raises(ValueError, match="op must be 'mean' or 'sum'"):
        kd.DistributedOptimizer("sgd", op="max")


def test_fusion_threshold_from_the_environment(monkeypatch):
    monkeypatch.setenv("GRAPHFLOW_FUSION_THRESHOLD", "0")
    assert kd.DistributedOptimizer("sgd").fusion_threshold == 0
    monkeypatch.setenv("GRAPHFLOW_FUSION_THRESHOLD", "lots")
    with pytest.raises(ValueError, match="GRAPHFLOW_FUSION_THRESHOLD must be a number of bytes"):
        kd.DistributedOptimizer("sgd")


def test_training_without_init_fails_clearly_and_a_job_of_one_is_chief():
    assert is_chief()
    model = _model()
    model.compile(loss="mse", optimizer=kd.DistributedOptimizer("sgd"))
    with pytest.raises(dist.NotInitializedError, match="init"):
        model.fit(np.zeros((4, 6, 6, 1)), np.zeros((4, 3)), verbose=0)
