"""Run by tests/distributed/test_mpi_jobs.py under ``mpirun -n 2``: only rank 0 prints
the progress bar and writes checkpoints, saved models and CSV logs (into ``argv[1]``,
each rank naming its files after itself where the name is the rank's to choose)."""
import os
import sys

import numpy as np

import graphflow.distributed as dist
from graphflow.keras import distributed as kd
from graphflow.keras.callbacks import CSVLogger, ModelCheckpoint
from graphflow.keras.layers import Dense
from graphflow.keras.models import Sequential

dist.init(timeout=60)
R = dist.rank()
out = sys.argv[1]
np.random.seed(0)
model = Sequential([Dense(3, activation="softmax", input_shape=(4,))])
model.compile(loss="categorical_crossentropy", optimizer=kd.DistributedOptimizer("sgd"), metrics=["accuracy"])
x = np.random.normal(size=(32, 4)).astype("float32")
y = np.eye(3, dtype="float32")[np.random.randint(0, 3, 32)]
model.fit(*kd.shard((x, y)), batch_size=4, epochs=2, verbose=1,
          callbacks=[kd.BroadcastGlobalVariablesCallback(0), kd.MetricAverageCallback(),
                     ModelCheckpoint(os.path.join(out, "checkpoint.h5"), verbose=1),
                     CSVLogger(os.path.join(out, f"log_rank{R}.csv"))])
model.save(os.path.join(out, f"model_rank{R}.h5"))
model.save_weights(os.path.join(out, f"weights_rank{R}.h5"))
