"""Shared helpers for the FILE/NAME half of the untrusted-input tests (issue 18): a small
saved model to tamper with, the tampering an attacker would do to an HDF5 file, and a
runner that loads things in a child process under a memory and time limit, so a hang or
a crash fails a test instead of taking pytest down with it.

    >>> path = saved_model(tmp_path)
    >>> external_storage(path, "model_weights/dense/dense/kernel:0", secret)
    >>> out = run_isolated(LOAD_CHILD, {"paths": [str(path)]})
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# weights as (layer, index): variable names carry a counter when several models live in
# one process (dense/kernel_1:0), so paths are looked up in the file's weight_names
KERNEL = ("dense", 0)  # the first layer's (4, 3) float32 kernel
BIAS = ("dense", 1)
OTHER_KERNEL = ("dense_1", 0)  # (3, 2)


def weight_path(f, weight):
    """The path in open file ``f`` of ``weight``: a path, or (layer, index) of a model
    file's ``model_weights`` or a weights file's root."""
    if isinstance(weight, str):
        return weight
    layer, index = weight
    base = "model_weights/" if "model_weights" in f else ""
    names = f[base + layer].attrs["weight_names"]
    return f"{base}{layer}/{names[index].decode()}"


# ------------------------------------------------------------------ files to tamper with

def saved_model(folder, name="model.h5", compiled=True):
    """A small compiled model saved with ``save_model``: Dense(4 -> 3) 'dense', Dense(3 -> 2)
    'dense_1'."""
    from graphflow.keras.layers import Dense
    from graphflow.keras.models import Sequential
    model = Sequential([Dense(3, input_shape=(4,), name="dense"), Dense(2, name="dense_1")])
    if compiled:
        model.compile("sgd", "mse")
    path = os.path.join(os.fspath(folder), name)
    model.save(path)
    return path


def saved_weights(folder, name="weights.h5"):
    """The same model's ``save_weights`` file (legacy layout plus Keras 3 links)."""
    from graphflow.keras.layers import Dense
    from graphflow.keras.models import Sequential
    model = Sequential([Dense(3, input_shape=(4,), name="dense"), Dense(2, name="dense_1")])
    path = os.path.join(os.fspath(folder), name)
    model.save_weights(path)
    return path


def strip_graphflow_marks(f):
    """Remove graphflow's version, manifest and digest attributes, as a Keras-written file
    (or an attacker) would have it: the layout checks may not depend on them."""
    for key in ("graphflow_version", "graphflow_manifest"):
        if key in f.attrs:
            del f.attrs[key]

    def visit(_, obj):
        if "graphflow_digest" in obj.attrs:
            del obj.attrs["graphflow_digest"]
    f.visititems(visit)


def secret_file(folder, size=4096, seed=0):
    """A local file whose bytes must never reach a model: random, so any 16 of them in a
    loaded weight would be a leak."""
    path = os.path.join(os.fspath(folder), "secret.bin")
    with open(path, "wb") as fh:
        fh.write(np.random.default_rng(seed).bytes(size))
    return path


def other_hdf5(folder, shape=(4, 3)):
    """Another HDF5 file, holding ``/data``: what external links and virtual datasets pull in."""
    path = os.path.join(os.fspath(folder), "other.h5")
    with h5py.File(path, "w") as f:
        f["data"] = np.full(shape, 42.0, "f4")
    return path


def _replace(f, path):
    """Delete the object at ``path`` (a path or (layer, index)) and return
    ``(parent group, leaf name, shape, dtype)`` of what was there."""
    path = weight_path(f, path)
    obj = f[path]
    shape, dtype = (obj.shape, obj.dtype) if isinstance(obj, h5py.Dataset) else ((4, 3), np.dtype("f4"))
    group, leaf = unlink(f, path)
    return group, leaf, shape, dtype


def unlink(f, path):
    """Delete the link ``path``; return ``(parent group, leaf name)``."""
    parent, _, leaf = path.rpartition("/")
    group = f[parent] if parent else f
    del group[leaf]
    return group, leaf


def _tampered(name, doc):
    """A file-level form of an in-file mutation: open, mutate, strip graphflow's marks."""
    def on_file(file, *args):
        with h5py.File(file, "r+") as f:
            globals()[name](f, *args)
            strip_graphflow_marks(f)
    on_file.__doc__ = doc
    return on_file


def external_storage_in(f, path, target):
    """Make the dataset ``path`` keep its bytes in the local file ``target``."""
    group, leaf, shape, dtype = _replace(f, path)
    group.create_dataset(leaf, shape, dtype, external=[(os.fspath(target), 0, h5py.h5f.UNLIMITED)])


def virtual_dataset_in(f, path, other):
    """Make ``path`` a virtual dataset mapping ``/data`` of the HDF5 file ``other``."""
    group, leaf, shape, dtype = _replace(f, path)
    layout = h5py.VirtualLayout(shape, dtype)
    layout[...] = h5py.VirtualSource(os.fspath(other), "data", shape)
    group.create_virtual_dataset(leaf, layout)


def external_link_in(f, path, other, inside="data"):
    """Make ``path`` an external link to ``inside`` in the file ``other``."""
    group, leaf, _, _ = _replace(f, path)
    group[leaf] = h5py.ExternalLink(os.fspath(other), inside)


def soft_link_in(f, path, to):
    """Make ``path`` a soft link to ``to`` in the same file."""
    target = "/" + weight_path(f, to)
    group, leaf, _, _ = _replace(f, path)
    group[leaf] = h5py.SoftLink(target)


def compact_in(f, path):
    """Rewrite ``path`` with COMPACT layout (data in the object header)."""
    value = np.asarray(f[weight_path(f, path)][()], "f4")
    group, leaf, _, _ = _replace(f, path)
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)
    space = h5py.h5s.create_simple(value.shape) if value.shape else h5py.h5s.create(h5py.h5s.SCALAR)
    ds = h5py.h5d.create(group.id, leaf.encode(), h5py.h5t.IEEE_F32LE, space, dcpl=dcpl)
    ds.write(h5py.h5s.ALL, h5py.h5s.ALL, np.ascontiguousarray(value))


def fill_value_in(f, path, fill=7.0):
    """Rewrite ``path`` as a chunked dataset that was never written: every value read
    would be the fill value, stored nowhere."""
    group, leaf, shape, dtype = _replace(f, path)
    group.create_dataset(leaf, shape, dtype, chunks=shape or None, fillvalue=fill)


def compression_in(f, path, elements=4_000_000):
    """Rewrite ``path`` as a gzip-compressed run of zeros (far larger than it stores)."""
    group, leaf, _, _ = _replace(f, path)
    group.create_dataset(leaf, data=np.zeros(elements, "f4"), chunks=(max(elements // 8, 1),),
                         compression="gzip", compression_opts=9)


external_storage = _tampered("external_storage_in", external_storage_in.__doc__)
virtual_dataset = _tampered("virtual_dataset_in", virtual_dataset_in.__doc__)
external_link = _tampered("external_link_in", external_link_in.__doc__)
soft_link = _tampered("soft_link_in", soft_link_in.__doc__)
compact_dataset = _tampered("compact_in", compact_in.__doc__)
fill_value_dataset = _tampered("fill_value_in", fill_value_in.__doc__)
compression_bomb = _tampered("compression_in", compression_in.__doc__)


def set_config(file, edit):
    """Apply ``edit(config)`` to the JSON ``model_config`` of a model file."""
    with h5py.File(file, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        edit(config)
        f.attrs["model_config"] = np.bytes_(json.dumps(config).encode())
        strip_graphflow_marks(f)


def set_names(file, group_path, key, names):
    """Overwrite a ``layer_names`` / ``weight_names`` attribute with raw byte strings."""
    with h5py.File(file, "r+") as f:
        group = f[group_path] if group_path else f
        group.attrs[key] = np.array(names, dtype="S")
        strip_graphflow_marks(f)


# ------------------------------------------------------------------ isolated runs

# the child's preamble: a memory limit above what it already maps, then the task
_BOOT = textwrap.dedent('''
    import json, resource, sys, time
    def _vm_size():
        for line in open("/proc/self/status"):
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    import graphflow.keras  # noqa: F401  (imported before the limit: its own mapping is not the test's)
    import h5py  # noqa: F401
    ARGS = json.loads(sys.argv[1])
    _limit = _vm_size() + ARGS.pop("_memory_mb") * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (_limit, _limit))
    RESULTS = []
''')


def run_isolated(code, args, timeout=60, memory_mb=300):
    """Run ``code`` (which appends JSON-able entries to ``RESULTS`` and may read ``ARGS``)
    in a fresh interpreter whose address space may grow at most ``memory_mb`` past what
    it maps after importing graphflow. Returns ``RESULTS``; a crash, a hang past
    ``timeout`` seconds or an error outside the task fails with the child's output."""
    script = _BOOT + textwrap.dedent(code) + '\nprint("RESULTS=" + json.dumps(RESULTS))\n'
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.path.join(ROOT, "backends"),
                                                       os.environ.get("PYTHONPATH", "")]))
    try:
        done = subprocess.run([sys.executable, "-c", script, json.dumps({**args, "_memory_mb": memory_mb})],
                              capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as err:
        raise AssertionError(f"the child hung past {timeout} s; its output so far:\n{err.stdout}\n{err.stderr}") \
            from None
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULTS=")]
    if done.returncode != 0 or not lines:
        raise AssertionError(f"the child failed (exit {done.returncode}):\n{done.stdout[-3000:]}\n"
                             f"{done.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULTS="):])


# load every path of ARGS["paths"] with load_model (and load_weights into a fresh model
# of the same architecture); record the outcome, the time, and whether any loaded weight
# holds 16 bytes of ARGS["secret"]
LOAD_CHILD = '''
import numpy as np
from graphflow.keras.layers import Dense
from graphflow.keras.models import Sequential, load_model
from graphflow.keras.saving import LoadError
secret = open(ARGS["secret"], "rb").read() if ARGS.get("secret") else b""
def leaked(model):
    if not secret:
        return False
    arrays = [np.ascontiguousarray(w).tobytes() for w in model.get_weights()]
    data = b"".join(arrays)
    return any(len(a) >= 8 and a[:8] in secret for a in arrays) or \
        any(secret[i:i + 16] in data for i in range(0, len(secret) - 16, 16))
def attempt(fn):
    start = time.time()
    try:
        model = fn()
        return {"outcome": "loaded", "leak": leaked(model), "seconds": time.time() - start}
    except Exception as err:
        outcome = "LoadError" if isinstance(err, LoadError) else type(err).__name__  # or a subclass
        return {"outcome": outcome, "error": type(err).__name__, "message": str(err)[:1000],
                "seconds": time.time() - start, "leak": False}
for path in ARGS["paths"]:
    fresh = Sequential([Dense(3, input_shape=(4,), name="dense"), Dense(2, name="dense_1")])
    def weights():
        fresh.load_weights(path)
        return fresh
    RESULTS.append({"path": path, "model": attempt(lambda: load_model(path)) if ARGS.get("model", True) else None,
                    "weights": attempt(weights)})
'''
