"""LSTM(recurrent_activation='sigmoid') against torch.nn.LSTM: 10 SGD steps from the same
weights give losses and weight updates within 1e-4 (relative). torch is not a dependency:
it runs in its own Python (``$GRAPHFLOW_PEER_VENV``, default the benchmarks' peer venv
``<tmp>/graphflow-peer-torch``), and the test is skipped, saying so, where there is none.
test_recurrent.py checks the same training against a float64 NumPy BPTT without torch."""
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from graphflow.keras.layers import LSTM, Dense
from graphflow.keras.models import Sequential
from graphflow.keras.optimizers import SGD

VENV = Path(os.environ.get("GRAPHFLOW_PEER_VENV") or Path(tempfile.gettempdir()) / "graphflow-peer-torch")
NAMES = ("kernel", "rec", "bias", "dense_w", "dense_b")


def _torch_python():
    python = VENV / "bin" / "python"
    if not python.exists():
        pytest.skip(f"no Python with torch at {python} (set GRAPHFLOW_PEER_VENV)")
    if subprocess.run([str(python), "-c", "import torch"], capture_output=True).returncode:
        pytest.skip(f"{python} cannot import torch")
    return str(python)


def test_lstm_training_matches_torch(tmp_path):
    python = _torch_python()
    rng = np.random.default_rng(0)
    n, steps, feat, units, classes, lr = 16, 12, 8, 16, 5, 0.5
    x = rng.standard_normal((n, steps, feat)).astype(np.float32)
    y = rng.integers(0, classes, n)
    model = Sequential([LSTM(units, recurrent_activation="sigmoid", input_shape=(steps, feat)),
                        Dense(classes, activation="softmax")])
    model.layers[0].set_weights([model.layers[0].get_weights()[0], model.layers[0].get_weights()[1],
                                 rng.standard_normal(4 * units).astype(np.float32) * 0.1])
    start = model.get_weights()
    np.savez(tmp_path / "in.npz", x=x, y=y, lr=lr, steps=10, **dict(zip(NAMES, start)))
    done = subprocess.run([python, str(Path(__file__).with_name("torch_lstm_side.py")), str(tmp_path / "in.npz"),
                           str(tmp_path / "out.npz")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    theirs = np.load(tmp_path / "out.npz")
    model.compile(SGD(lr=lr), "sparse_categorical_crossentropy")
    losses = [model.train_on_batch(x, y[:, None]) for _ in range(10)]
    np.testing.assert_allclose(losses, theirs["losses"], rtol=1e-4)
    assert losses[-1] < losses[0]
    for name, w0, w in zip(NAMES, start, model.get_weights()):
        ours, torch_update = w - w0, theirs[name] - w0
        scale = np.abs(torch_update).max()
        np.testing.assert_allclose(ours, torch_update, rtol=1e-4, atol=1e-4 * scale, err_msg=name)
