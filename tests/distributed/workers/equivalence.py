"""Run by tests/distributed/test_mpi_jobs.py under ``mpirun -n 2``: data-parallel Keras
training equals one process training on the whole batches.

Every rank builds the data-parallel model with its *own* initial weights (seeded by its
rank) and, beside it, the one-process reference with rank 0's initial weights, which it
trains on the whole data. Then it checks:

- before ``BroadcastGlobalVariablesCallback`` the ranks' weights (and optimizer state)
  differ, after it they are rank 0's, and after every step they are bitwise equal on
  all ranks;
- after several epochs the data-parallel weights equal the reference's (float32
  tolerance) and ``MetricAverageCallback``'s epoch losses equal the reference's;
- for SGD with Nesterov momentum and for Adam (dropout off). Prints ``rank R ok``.
"""
import hashlib
import sys

import numpy as np
from mpi4py import MPI  # the test's own view of the job, independent of graphflow's

import graphflow as gf
import graphflow.distributed as dist
from graphflow.keras import distributed as kd
from graphflow.keras.callbacks import Callback
from graphflow.keras.layers import Conv2D, Dense, Flatten, MaxPooling2D
from graphflow.keras.models import Sequential
from graphflow.keras.optimizers import SGD, Adam

dist.init(timeout=60)
R, N = dist.rank(), dist.size()
world = MPI.COMM_WORLD
GLOBAL_BATCH, SAMPLES, EPOCHS = 16, 64, 2


def small_cnn(seed):
    np.random.seed(seed)
    gf.set_random_seed(seed)
    return Sequential([Conv2D(4, (3, 3), activation="relu", input_shape=(8, 8, 1)), MaxPooling2D((2, 2)),
                       Flatten(), Dense(8, activation="relu"), Dense(3, activation="softmax")])


def digest(model) -> str:
    h = hashlib.sha256()
    for w in model.get_weights():
        h.update(np.ascontiguousarray(w).tobytes())
    return h.hexdigest()


class Probe(Callback):
    """Records whether the ranks' weights agree (compared with the test's own MPI calls)."""

    def __init__(self):
        super().__init__()
        self.agree = []

    def _record(self):
        self.agree.append(len(set(world.allgather(digest(self.model)))) == 1)

    def on_train_begin(self, logs=None):
        self.start = self.model.get_weights()
        self._record()

    def on_batch_end(self, batch, logs=None):
        self._record()


def run(make_optimizer, label):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(SAMPLES, 8, 8, 1)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, SAMPLES)]

    reference = small_cnn(seed=1000)
    initial = reference.get_weights()
    reference.compile(loss="categorical_crossentropy", optimizer=make_optimizer(), metrics=["accuracy"])
    ref_history = reference.fit(x, y, batch_size=GLOBAL_BATCH, epochs=EPOCHS, shuffle=False, verbose=0)

    model = small_cnn(seed=1000 + R)  # rank 0's initial weights are the reference's
    model.compile(loss="categorical_crossentropy", optimizer=kd.DistributedOptimizer(make_optimizer()),
                  metrics=["accuracy"])
    model.train_function  # builds the optimizer's state; make rank 1's differ, for the broadcast to undo
    model.optimizer.set_weights([w + 0.5 * R for w in model.optimizer.get_weights()])
    before, after = Probe(), Probe()
    x_mine, y_mine = kd.shard((x, y))
    history = model.fit(x_mine, y_mine, batch_size=GLOBAL_BATCH // N, epochs=EPOCHS, shuffle=False, verbose=0,
                        callbacks=[before, kd.BroadcastGlobalVariablesCallback(0), kd.MetricAverageCallback(),
                                   after])
    steps = EPOCHS * SAMPLES // GLOBAL_BATCH
    assert before.agree[0] is False, f"{label}: the ranks started with equal weights; the test proves nothing"
    assert after.agree[0] is True, f"{label}: weights differ after BroadcastGlobalVariablesCallback"
    assert len(after.agree) == 1 + steps and all(after.agree), f"{label}: weights diverged: {after.agree}"
    for w, w0 in zip(after.start, initial):
        np.testing.assert_array_equal(w, w0, err_msg=f"{label}: not rank 0's initial weights after the broadcast")
    for i, (w, ref) in enumerate(zip(model.get_weights(), reference.get_weights())):
        scale = float(np.abs(ref).max()) or 1.0
        err = float(np.abs(w - ref).max())
        assert err <= 2e-5 * scale + 1e-6, f"{label}: weight {i} differs from one process by {err:.3g}"
    np.testing.assert_allclose(history.history["loss"], ref_history.history["loss"], rtol=2e-5,
                               err_msg=f"{label}: epoch losses averaged over ranks")
    np.testing.assert_allclose(history.history["acc"], ref_history.history["acc"], rtol=1e-6)
    grads = model.train_function.program.report.kernels
    assert grads.get("allreduce") == 1, f"{label}: gradients not fused into one all-reduce: {grads}"
    moved = max(abs(float(np.abs(a - b).max())) for a, b in zip(reference.get_weights(), initial))
    assert moved > 1e-3, f"{label}: training hardly moved the weights ({moved}); the comparison is weak"
    print(f"rank {R} {label}: {steps} steps, weights agree on all ranks after every step, "
          f"max relative difference to one process "
          f"{max(float(np.abs(w - r).max()) / (float(np.abs(r).max()) or 1) for w, r in zip(model.get_weights(), reference.get_weights())):.2e}",
          flush=True)


def main():
    run(lambda: SGD(lr=0.05, momentum=0.9, nesterov=True), "SGD-Nesterov")
    run(lambda: Adam(lr=0.01), "Adam")
    print(f"rank {R} ok", flush=True)


if __name__ == "__main__":
    main()
    sys.exit(0)
