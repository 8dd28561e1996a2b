"""Issue 18: a seeded fuzzer of HDF5 structure. Saved model and weights files get 1-3
random mutations each -- links (soft, external, cycles, repeats), external storage,
virtual datasets, layouts, fill values, compression, dtypes, shapes, attributes and names
-- and are loaded with ``load_model`` and ``load_weights`` in a child process with a memory
limit. Every outcome must be a clean load or a ``LoadError``, quickly, with no byte of the
local "secret" file in any weight. ``GRAPHFLOW_FUZZ_SEED`` replays (or varies) a run."""
from __future__ import annotations

import os
import random
import shutil

import h5py
import numpy as np
import pytest

import hostile_files as H

SEED = int(os.environ.get("GRAPHFLOW_FUZZ_SEED", "1818"))
CASES = 32


def _datasets(f):
    found = []
    f.visititems(lambda name, obj: found.append(name) if isinstance(obj, h5py.Dataset) else None)
    return found


def _groups(f):
    found = []
    f.visititems(lambda name, obj: found.append(name) if isinstance(obj, h5py.Group) else None)
    return found


def _objects(f):
    return [name for name in _datasets(f) + _groups(f)]


def _attr_owners(f):
    return [f] + [f[name] for name in _objects(f)]


def _new_dtype(rng):
    return rng.choice([np.dtype("f2"), np.dtype("f8"), np.dtype("i1"), np.dtype("u8"), np.dtype(bool),
                       np.dtype("S10"), np.dtype([("a", "f4"), ("b", "i4")]), h5py.string_dtype(),
                       h5py.enum_dtype({"x": 0, "y": 1}, basetype="i1"), np.dtype(("f4", (2,))),
                       np.dtype("V4"), np.dtype("c8")])


def _garbage(rng):
    return rng.choice([
        np.bytes_(b"\xff\xfe not utf8"), np.arange(5), np.array([b"a\x00b", b"dense"]), np.bytes_(b"{not json"),
        np.array([b"/model_weights", b"../x"]), np.array([b"x" * 4000] * 12), 3.5, np.array([], "S1"),
        np.bytes_(b'{"class_name": "Sequential", "config": {"layers": [{"class_name": "os.system"}]}}'),
        np.array([b"dense", b"dense"]), np.bytes_(b"3.0.0"), np.bytes_(b"theano"),
    ])


def _mutate(f, rng, ctx):  # noqa: C901  (one table of mutations, read top to bottom)
    datasets, objects = _datasets(f), _objects(f)
    kind = rng.choice(["external_storage", "virtual", "soft_link", "external_link", "cycle", "repeat",
                       "dtype", "shape", "attr_delete", "attr_corrupt", "fill_value", "compact",
                       "compression", "group_to_dataset", "layer_names"])
    if kind in ("external_storage", "virtual", "fill_value", "compact", "compression", "dtype", "shape") \
            and datasets:
        path = rng.choice(datasets)
        if kind == "external_storage":
            H.external_storage_in(f, path, ctx["secret"])
        elif kind == "virtual":
            H.virtual_dataset_in(f, path, ctx["other"])
        elif kind == "fill_value":
            H.fill_value_in(f, path)
        elif kind == "compact":
            H.compact_in(f, path)
        elif kind == "compression":
            H.compression_in(f, path, rng.choice([16, 4_000_000]))
        else:
            group, leaf = H.unlink(f, path)
            shape = rng.choice([(4, 3), (3,), (), (10**6, 10**3), (0,)])
            dtype = _new_dtype(rng) if kind == "dtype" else np.dtype("f4")
            if shape == (10**6, 10**3):
                group.create_dataset(leaf, shape, "f4")
            elif dtype.kind in "OSV" or dtype.names:
                group.create_dataset(leaf, shape, dtype)
            else:
                group.create_dataset(leaf, data=np.ones(shape, dtype))
    elif kind in ("soft_link", "external_link", "cycle", "group_to_dataset") and objects:
        path = rng.choice(objects)
        group, leaf = H.unlink(f, path)
        if kind == "soft_link":
            group[leaf] = h5py.SoftLink(rng.choice(["/", "/" + rng.choice(objects), "/nowhere", path]))
        elif kind == "external_link":
            group[leaf] = h5py.ExternalLink(rng.choice([ctx["other"], ctx["secret"], "/nonexistent.h5"]),
                                            rng.choice(["data", "/", "grp"]))
        elif kind == "cycle":
            group[leaf] = rng.choice([f["/"], group])
        else:
            group[leaf] = np.zeros(3, "f4")
    elif kind == "repeat":
        owner = rng.choice([g for g in _attr_owners(f) if "weight_names" in g.attrs] or [f])
        names = list(owner.attrs.get("weight_names", [b"x"]))
        owner.attrs["weight_names"] = np.array(names * rng.choice([2, 50]), dtype="S")
    elif kind == "attr_delete":
        owner = rng.choice(_attr_owners(f))
        if len(owner.attrs):
            del owner.attrs[rng.choice(sorted(owner.attrs))]
    elif kind == "attr_corrupt":
        owner = rng.choice(_attr_owners(f))
        keys = sorted(owner.attrs) or ["layer_names"]
        owner.attrs[rng.choice(keys)] = _garbage(rng)
    elif kind == "layer_names":
        owner = f["model_weights"] if "model_weights" in f else f
        names = list(owner.attrs.get("layer_names", []))
        edit = rng.choice(["reverse", "drop", "add", "nul", "slash"])
        names = {"reverse": names[::-1], "drop": names[1:], "add": names + [b"ghost"],
                 "nul": [n + b"\x00x" for n in names], "slash": [b"dense/../dense"] + names[1:]}[edit]
        owner.attrs["layer_names"] = np.array(names or [b""], dtype="S")
    if rng.random() < 0.7:  # mostly as Keras writes files: with no digests to catch anything
        H.strip_graphflow_marks(f)
    return kind


def _applied(f, rng, ctx):
    """One mutation, or a note when an earlier one left nothing it could apply to (the
    writer, h5py, refuses: reading a virtual dataset whose source went away...)."""
    try:
        return _mutate(f, rng, ctx)
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as err:
        return f"not applied ({type(err).__name__})"


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    ctx = {"secret": H.secret_file(folder), "other": H.other_hdf5(folder)}
    with h5py.File(ctx["other"], "a") as f:
        f.require_group("grp")
    bases = [H.saved_model(folder, "base_model.h5"), H.saved_weights(folder, "base_weights.h5")]
    rng = random.Random(SEED)
    cases = []
    for i in range(CASES):
        path = str(folder / f"case{i}.h5")
        shutil.copy(bases[i % 2], path)
        with h5py.File(path, "r+") as f:
            if i % 8 in (6, 7):  # a control: no mutation but graphflow's marks gone, as Keras writes it
                H.strip_graphflow_marks(f)
                kinds = ["control"]
            else:
                kinds = [_applied(f, rng, ctx) for _ in range(rng.choice([1, 1, 2, 3]))]
        cases.append((path, kinds))
    results = H.run_isolated(H.LOAD_CHILD, {"paths": [p for p, _ in cases], "secret": ctx["secret"]},
                             timeout=120, memory_mb=300)
    return list(zip(cases, results))


def test_mutated_files_load_cleanly_or_raise_load_error(fuzzed):
    bad = []
    for (path, kinds), result in fuzzed:
        for how in ("model", "weights"):
            r = result[how]
            if r["outcome"] not in ("loaded", "LoadError") or r["leak"] or r["seconds"] > 2.0:
                bad.append((os.path.basename(path), kinds, how, r))
    assert not bad, f"seed {SEED}: {bad}"


def test_the_fuzzer_reaches_the_checks(fuzzed):
    """A fuzzer that only made unreadable files would test nothing: most mutations must
    reach graphflow's own checks (not h5py's open) and some files must still load."""
    outcomes = [r[how]["outcome"] for _, r in fuzzed for how in ("model", "weights")]
    messages = " ".join(r[how].get("message", "") for _, r in fuzzed for how in ("model", "weights"))
    assert outcomes.count("LoadError") >= CASES // 2
    controls = [(i % 2, r) for i, ((_, kinds), r) in enumerate(fuzzed) if kinds == ["control"]]
    assert {base for base, _ in controls} == {0, 1}
    for base, r in controls:  # base 0: a model file, 1: a weights file
        assert r["weights"]["outcome"] == "loaded" and (base == 1 or r["model"]["outcome"] == "loaded"), r
    assert "graphflow reads only" in messages
