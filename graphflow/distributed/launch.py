"""Starting a job: the ``mpirun`` command line and environment for a script.

``mpirun -n 2 python train.py`` is all a job needs; this module adds what this kind of
machine asks for, so tests, benchmarks and ``python -m graphflow.distributed.launch``
start jobs alike:

- the ``mpirun`` beside the running Python first (the one ``pip install
  'graphflow[mpi]'`` puts in the virtual environment), else the one on ``PATH``;
- Open MPI's consent to run as root, only when asked for (``allow_root=True``,
  ``--allow-run-as-root`` or ``GRAPHFLOW_MPI_ALLOW_ROOT=1``), and said on stderr when
  given: running every rank as root is a choice the user makes, not one made for them;
- ``--oversubscribe``, so a job may have more ranks than the machine has cores;
- one BLAS/OpenMP thread per rank unless the environment says otherwise (ranks that
  each start a thread per core fight over the cores);
- with ``loopback=True`` (tests): MPI's TCP traffic only on the loopback interface
  (Open MPI 5.0's launcher, PRRTE, cannot be confined to loopback; a job on one
  machine starts no remote daemons, so it sends nothing to other hosts).

    $ python -m graphflow.distributed.launch -n 2 examples/vgg_cnn.py --distributed
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def find_mpirun() -> str:
    """The path of ``mpirun`` (beside this Python first); FileNotFoundError if none."""
    here = os.path.join(os.path.dirname(sys.executable), "mpirun")
    if os.access(here, os.X_OK):
        return here
    found = shutil.which("mpirun") or shutil.which("mpiexec")
    if found is None:
        from .errors import INSTALL_HINT
        raise FileNotFoundError(f"no mpirun found beside {sys.executable} or on PATH: {INSTALL_HINT}")
    return found


ALLOW_ROOT_VARIABLE = "GRAPHFLOW_MPI_ALLOW_ROOT"


def command(n: int, argv, python=None, loopback=False, btl=None, env=None,
            allow_root=None) -> tuple[list, dict]:
    """``(argv, env)`` that run ``python *argv`` as ``n`` ranks under mpirun; ``btl``
    picks Open MPI's transports (``"self,sm"`` shared memory, ``"self,tcp"`` TCP).

    As root, Open MPI's ``mpirun`` refuses to start unless told it may; ``allow_root=True``
    (default: ``GRAPHFLOW_MPI_ALLOW_ROOT=1`` in the environment) tells it so and says so
    on stderr. Without it, a root user gets a ``PermissionError`` saying how to ask."""
    env = dict(os.environ if env is None else env)
    if allow_root is None:
        allow_root = env.get(ALLOW_ROOT_VARIABLE, "") not in ("", "0")
    mpirun = find_mpirun()
    open_mpi = _is_open_mpi(mpirun)
    if hasattr(os, "geteuid") and os.geteuid() == 0 and open_mpi and \
            env.get("OMPI_ALLOW_RUN_AS_ROOT") != "1":  # not already the user's own setting
        if not allow_root:
            raise PermissionError(f"this process runs as root, and Open MPI's mpirun refuses to start ranks as "
                                  f"root unless told it may. If you mean to, pass allow_root=True (command line: "
                                  f"--allow-run-as-root) or set {ALLOW_ROOT_VARIABLE}=1; better, run as a "
                                  f"user of your own")
        env["OMPI_ALLOW_RUN_AS_ROOT"] = env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        print("graphflow.distributed.launch: running the MPI ranks as root (OMPI_ALLOW_RUN_AS_ROOT=1, "
              "as asked)", file=sys.stderr)
    for name in THREAD_VARIABLES:
        env.setdefault(name, "1")
    if loopback:  # MPI's own TCP traffic on lo (ranks on one machine use shared memory anyway)
        env["OMPI_MCA_btl_tcp_if_include"] = "lo"
        env["OMPI_MCA_oob_tcp_if_include"] = "lo"
    if btl:
        env["OMPI_MCA_btl"] = btl
    args = [mpirun, "-n", str(int(n))]
    if open_mpi:  # MPICH oversubscribes by itself
        args.append("--oversubscribe")
    return args + [python or sys.executable] + [str(a) for a in argv], env


def _is_open_mpi(mpirun: str) -> bool:
    return os.path.exists(os.path.join(os.path.dirname(os.path.realpath(mpirun)), "ompi_info"))


def run(n: int, argv, timeout=None, loopback=False, btl=None, allow_root=None,
        **kwargs) -> subprocess.CompletedProcess:
    """Run ``python *argv`` as ``n`` ranks; output captured as text."""
    args, env = command(n, argv, loopback=loopback, btl=btl, allow_root=allow_root)
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout, **kwargs)


def main(argv=None) -> int:
    import argparse
    parser = argparse.ArgumentParser(prog="python -m graphflow.distributed.launch",
                                     description="run a Python script as an MPI job on this machine")
    parser.add_argument("-n", "--np", type=int, default=2, help="number of ranks (processes)")
    parser.add_argument("--loopback", action="store_true", help="MPI's TCP traffic on the loopback interface only")
    parser.add_argument("--btl", default=None, help="Open MPI transports, e.g. self,sm or self,tcp")
    parser.add_argument("--allow-run-as-root", action="store_true",
                        help=f"let Open MPI start the ranks as root (or set {ALLOW_ROOT_VARIABLE}=1)")
    parser.add_argument("script", help="the script, then its arguments")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    ns = parser.parse_args(argv)
    try:
        args, env = command(ns.np, [ns.script] + ns.args, loopback=ns.loopback, btl=ns.btl,
                            allow_root=ns.allow_run_as_root or None)
    except (PermissionError, FileNotFoundError) as err:
        parser.exit(2, f"{parser.prog}: {err}\n")
    return subprocess.call(args, env=env)


if __name__ == "__main__":
    sys.exit(main())
