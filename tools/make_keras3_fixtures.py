#!/usr/bin/env python3
"""Write the Keras-3 fixture files that graphflow's reading tests use offline.

    python tools/make_keras3_fixtures.py [OUT]     # default: tests/keras/fixtures/keras3

Keras 3 is installed into the tests' cached venv (tests/keras/keras3_env.py: needs the
package registry once) and runs tests/keras/keras3_side.py there, which trains two small
models a little with the jax backend, saves them with ``model.save("x.h5")`` and
``save_weights("x.weights.h5")``, trains on, and records predictions and the weights it
reaches in expected.npz. Rerun it when Keras 3 changes its files; commit what it writes.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "keras"))

from keras3_env import keras3_python, run_keras3  # noqa: E402


def main(argv):
    out = Path(argv[1]) if len(argv) > 1 else ROOT / "tests" / "keras" / "fixtures" / "keras3"
    python, reason = keras3_python()
    if python is None:
        raise SystemExit(f"no Keras 3 venv: {reason}")
    print(run_keras3(python, "write", out).strip())
    for path in sorted(out.iterdir()):
        print(f"  {path.name:24s} {path.stat().st_size:7d} bytes")


if __name__ == "__main__":
    main(sys.argv)
