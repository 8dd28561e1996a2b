"""A throwaway, cached venv with Keras 3 for the interoperability tests.

Keras 3 runs in a subprocess of that venv (``KERAS_BACKEND=jax``: jax trains; Keras 3's
numpy backend only predicts and imports jax anyway); graphflow's own venv never gets it.
The venv lives in ``$XDG_CACHE_HOME/graphflow-tests/keras3-<hash of the requirements>``
(``~/.cache`` without XDG_CACHE_HOME), is made once (a file lock keeps parallel test
workers from making it twice) and reused by later runs. When the package registry cannot
be reached, ``keras3_python()`` says why and the tests that need it are skipped.

    >>> python, reason = keras3_python()
    >>> run_keras3(python, "write", out_dir, "read", graphflow_dir)
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

REQUIREMENTS = ("keras>=3.0,<4", "jax", "scipy", "h5py")
INSTALL_TIMEOUT_S = 600
HERE = Path(__file__).resolve().parent


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    key = hashlib.sha256(" ".join(REQUIREMENTS).encode()).hexdigest()[:10]
    return Path(base) / "graphflow-tests" / f"keras3-{key}"


def keras3_python():
    """(path of the venv's python, None), or (None, why it is not available)."""
    root = cache_dir()
    python = root / "bin" / "python"
    ready = root / ".ready"
    if ready.exists():
        return str(python), None
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f"{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker may be installing: wait for it
        if ready.exists():
            return str(python), None
        failed = root.parent / f"{root.name}.failed"
        if failed.exists() and time.time() - failed.stat().st_mtime < 3600:  # don't retry every run
            return None, f"{failed.read_text()} (from an attempt within the hour; delete {failed} to retry now)"
        reason = _install(root, python)
        if reason:
            failed.write_text(reason)
            return None, reason
        ready.write_text(f"installed in {time.time():.0f}\n")
        return str(python), None


def _install(root: Path, python: Path):
    started = time.perf_counter()
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(root)], check=True, capture_output=True,
                       timeout=120)
        # --no-compile: byte-compiling all of jax and scipy triples the install time; Python
        # compiles what Keras 3 imports on first use
        done = subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                               "--no-compile", "--retries", "1", "--timeout", "30", *REQUIREMENTS],
                              capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
    except (subprocess.SubprocessError, OSError) as err:
        return f"could not make a Keras 3 venv in {root}: {err}"
    if done.returncode:
        tail = " ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        return f"could not install {', '.join(REQUIREMENTS)} (no package registry?): {tail}"
    (root / "install-seconds.txt").write_text(f"{time.perf_counter() - started:.1f}\n")
    return None


def run_keras3(python, *args, timeout=300):
    """Run ``keras3_side.py`` with ``args`` in the Keras 3 venv; returns its output.
    Keras writes its config under a temporary KERAS_HOME, never in the user's home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "KERAS"))}
    env.update(KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="3",
               KERAS_HOME=str(cache_dir() / "keras-home"),
               # most of a run is XLA compiling small eager ops; later runs take them from here
               JAX_COMPILATION_CACHE_DIR=str(cache_dir() / "jax-cache"),
               JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0", JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0")
    done = subprocess.run([python, str(HERE / "keras3_side.py"), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=env)
    if done.returncode:
        raise AssertionError(f"Keras 3 failed ({' '.join(map(str, args))}):\n{done.stdout}\n{done.stderr[-4000:]}")
    return done.stdout
