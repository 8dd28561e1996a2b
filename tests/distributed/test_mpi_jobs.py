"""Real MPI jobs: each test starts ``mpirun -n 2`` (or a job of one) on a worker script in
tests/distributed/workers/ and checks its output and exit status. MPI traffic stays on
this machine: shared memory, or TCP on the loopback interface.

They need the ``mpi`` extra (``pip install 'graphflow[mpi]'``; ``make test`` installs
it) and are skipped with that advice without it.
"""
from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from graphflow.distributed import launch

WORKERS = Path(__file__).resolve().parent / "workers"


def _mpi_missing() -> str:
    if importlib.util.find_spec("mpi4py") is None:
        return "mpi4py is not installed (pip install 'graphflow[mpi]')"
    try:
        launch.find_mpirun()
    except FileNotFoundError as exc:
        return str(exc)
    return ""


MISSING = _mpi_missing()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(bool(MISSING), reason=MISSING)]


def job(script, *args, n=2, timeout=180, btl="self,sm", env=None):
    start = time.monotonic()
    argv, environ = launch.command(n, [WORKERS / script, *args], loopback=True, btl=btl,
                                   allow_root=True)  # test machines run as root
    environ.update(env or {})
    proc = subprocess.run(argv, env=environ, capture_output=True, text=True, timeout=timeout)
    proc.seconds = time.monotonic() - start
    proc.output = (proc.stdout + proc.stderr).replace("\x00", "")
    return proc


def assert_ok(proc, n=2):
    assert proc.returncode == 0, proc.output[-6000:]
    for r in range(n):
        assert f"rank {r} ok" in proc.stdout, proc.output[-6000:]


def test_collectives_match_numpy_and_finite_differences_over_shared_memory():
    """Values of every collective vs NumPy, and their gradients vs central differences of
    the job's loss; started as the docs say, with ``python -m graphflow.distributed.launch``."""
    proc = subprocess.run([sys.executable, "-m", "graphflow.distributed.launch", "-n", "2", "--loopback",
                           "--allow-run-as-root", "--btl", "self,sm", str(WORKERS / "collectives.py")],
                          capture_output=True, text=True, timeout=180)
    proc.output = proc.stdout + proc.stderr
    assert_ok(proc)


def test_collectives_over_tcp_on_loopback():
    """The same over TCP (on the loopback interface): the transport between machines."""
    assert_ok(job("collectives.py", btl="self,tcp"))


def test_device_collectives_over_the_nccl_stand_in():
    """graphflow.distributed's GPU path (DeviceCollectives: packing, NCCL calls on raw
    device pointers, padded all-gathers) on the stand-in's device arrays, its NCCL an MPI
    stand-in that refuses pointers outside device arrays (tests/gpu/host_nccl.py)."""
    proc = job("collectives.py", env={"GRAPHFLOW_TEST_DEVICE": "portable-on-host"})
    assert_ok(proc)
    assert "NCCL calls on portable-on-host" in proc.stdout, proc.output[-6000:]


def test_collectives_in_a_job_of_one():
    """Without mpirun (a job of one), collectives compute their local results."""
    proc = subprocess.run([sys.executable, str(WORKERS / "collectives.py")], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and "rank 0 ok" in proc.stdout, proc.stdout + proc.stderr


def test_data_parallel_training_equals_one_process():
    """2 ranks on half batches end where 1 process on whole batches does (SGD-Nesterov,
    Adam); weights agree on all ranks after the broadcast and after every step."""
    proc = job("equivalence.py")
    assert_ok(proc)
    for label in ("SGD-Nesterov", "Adam"):
        assert len(re.findall(rf"rank \d {label}: 8 steps, weights agree on all ranks after every step", proc.stdout)) == 2


def test_only_rank_0_prints_and_writes(tmp_path):
    proc = job("chief.py", str(tmp_path))
    assert proc.returncode == 0, proc.output[-6000:]
    assert proc.stdout.count("Epoch 1/2") == 1 and proc.stdout.count("Epoch 2/2") == 1, proc.stdout
    assert proc.stdout.count("saving model to") == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.h5", "log_rank0.csv", "model_rank0.h5",
                                                          "weights_rank0.h5"]


FAULT_ENV = {"GRAPHFLOW_FAILURE_GRACE": "1"}


def test_a_rank_that_raises_stops_the_others():
    proc = job("faults.py", "raise", "60", env=FAULT_ENV, timeout=120)
    assert proc.returncode != 0
    assert "RuntimeError: injected failure on rank 1" in proc.output
    assert re.search(r"PeerFailedError: rank 1 failed with RuntimeError: injected failure on rank 1 .*"
                     r"rank 0 of 2 .* stops too \(it was waiting at allreduce\(mean\)", proc.output), proc.output[-4000:]
    assert "finished training" not in proc.stdout
    assert proc.seconds < 60  # the collectives' own timeout (60 s) was not what ended it


def test_a_rank_that_hangs_times_the_others_out():
    proc = job("faults.py", "hang", "2", env=FAULT_ENV, timeout=120)
    assert proc.returncode != 0
    assert re.search(r"CollectiveTimeoutError: allreduce\(mean\) `DistributedOptimizer/\S+` \(made at .*faults\.py:\d+\)"
                     r" on rank 0 of 2 .*not every rank reached it within 2 s", proc.output), proc.output[-4000:]
    assert proc.seconds < 60  # rank 1 sleeps 600 s: MPI_Abort ended it


@pytest.mark.parametrize("mode", ["shape", "count"])
def test_mismatched_graphs_are_reported_before_they_deadlock(mode):
    """Other gradient shapes, or another number of all-reduces (other fusion), on rank 1."""
    proc = job("faults.py", mode, "60", env=FAULT_ENV, timeout=120)
    assert proc.returncode != 0
    errors = re.findall(r"CollectiveMismatchError: allreduce\(mean\) `DistributedOptimizer/\S+` \(made at "
                        r".*faults\.py:\d+\) on rank (\d) of 2 .*: the ranks disagree on this collective "
                        r"\(rank 1 differs from rank 0\)", proc.output)
    assert errors, proc.output[-4000:]
    assert re.search(r"rank 0: allreduce\(op=mean\) of float32 \[.*\]", proc.output)
    assert re.search(r"rank 1: allreduce\(op=mean\) of float32 \[.*\]", proc.output)
    assert proc.seconds < 60


def test_the_demo_trains_data_parallel(tmp_path):
    """`mpirun -n 2 python examples/vgg_cnn.py --distributed`, at small size."""
    example = Path(__file__).resolve().parents[2] / "examples" / "vgg_cnn.py"
    argv, environ = launch.command(2, [example, "--distributed", "--epochs", "1", "--limit", "96",
                                       "--out", str(tmp_path)], loopback=True, btl="self,sm", allow_root=True)
    proc = subprocess.run(argv, env=environ, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    assert proc.stdout.count("data-parallel over 2 processes: 16 of every batch of 32 on each") == 1
    assert proc.stdout.count("Epoch 1/1") == 1  # rank 0 alone prints
    assert re.search(r"test loss [\d.]+, test accuracy [\d.]+ on 1000 digits \([\d.]+ s per epoch, 2 processes\)",
                     proc.stdout), proc.stdout
