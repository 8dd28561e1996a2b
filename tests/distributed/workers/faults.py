"""Run by tests/distributed/test_mpi_jobs.py under ``mpirun -n 2``: a job that goes
wrong on purpose, in the way ``sys.argv[1]`` names, must end with a clear error on every
rank instead of hanging.

- ``raise``: rank 1 raises in the middle of training;
- ``hang``: rank 1 stops calling collectives (sleeps) without raising;
- ``shape``: rank 1 built a model with another layer size (other gradient shapes);
- ``count``: rank 1 fuses its gradients differently (another number of all-reduces).
"""
import sys
import time

import numpy as np

import graphflow as gf
import graphflow.distributed as dist
from graphflow.keras import distributed as kd
from graphflow.keras.callbacks import Callback
from graphflow.keras.layers import Dense
from graphflow.keras.models import Sequential

MODE = sys.argv[1]
dist.init(timeout=float(sys.argv[2]) if len(sys.argv) > 2 else 60)
R = dist.rank()


class Trouble(Callback):
    """Rank 1 misbehaves at the end of batch 2."""

    def on_batch_end(self, batch, logs=None):
        if R == 1 and batch == 2:
            if MODE == "raise":
                raise RuntimeError("injected failure on rank 1")
            if MODE == "hang":
                time.sleep(600)


def main():
    np.random.seed(0)
    gf.set_random_seed(0)
    hidden = 6 if (MODE == "shape" and R == 1) else 5
    model = Sequential([Dense(hidden, activation="tanh", input_shape=(4,)), Dense(2)])
    threshold = 0 if (MODE == "count" and R == 1) else None
    model.compile(loss="mse", optimizer=kd.DistributedOptimizer("sgd", fusion_threshold=threshold))
    x = np.random.normal(size=(64, 4)).astype("float32")
    y = np.random.normal(size=(64, 2)).astype("float32")
    print(f"rank {R} starts", flush=True)
    # (the broadcast would already catch other weight shapes: leave it out there)
    callbacks = [Trouble()] if MODE == "shape" else [kd.BroadcastGlobalVariablesCallback(0), Trouble()]
    model.fit(*kd.shard((x, y)), batch_size=4, epochs=1, verbose=0, callbacks=callbacks)
    print(f"rank {R} finished training", flush=True)


if __name__ == "__main__":
    main()
