#!/usr/bin/env python3
"""Write the Keras-3 recurrent-model fixtures (tests/keras/fixtures/keras3_rnn) that
tests/keras/test_recurrent_keras3.py reads offline.

    python tools/make_keras3_rnn_fixtures.py [OUT]

Keras 3 runs from the tests' cached venv (tests/keras/keras3_env.py) with the jax
backend, running tests/keras/keras3_rnn_side.py. Commit what it writes.
"""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "keras"))

from keras3_env import cache_dir, keras3_python  # noqa: E402


def main(argv):
    out = Path(argv[1]) if len(argv) > 1 else ROOT / "tests" / "keras" / "fixtures" / "keras3_rnn"
    python, reason = keras3_python()
    if python is None:
        raise SystemExit(f"no Keras 3 venv: {reason}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "KERAS"))}
    env.update(KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", KERAS_HOME=str(cache_dir() / "keras-home"))
    done = subprocess.run([python, str(ROOT / "tests" / "keras" / "keras3_rnn_side.py"), str(out)],
                          capture_output=True, text=True, timeout=600, env=env)
    if done.returncode:
        raise SystemExit(f"Keras 3 failed:\n{done.stdout}\n{done.stderr[-4000:]}")
    print(done.stdout.strip())
    for path in sorted(out.iterdir()):
        print(f"  {path.name:24s} {path.stat().st_size:7d} bytes")


if __name__ == "__main__":
    main(sys.argv)
