"""Damaged, foreign and interrupted files (issue 13, "Files"): every loader answers with
graphflow's own error and leaves the model as it was, or loads exactly what was saved.

Seeded random damage (truncation and bit flips; the seed is printed) on saved models and
weights, an MNIST archive and JSON/YAML configs; arrays damaged where HDF5 keeps no
checksum are caught by the digests graphflow writes; a writer killed with SIGKILL at
random moments leaves the old complete file or the new one.
"""
import io
import json
import multiprocessing
import os
import signal
import time
import warnings
import zipfile

import h5py
import numpy as np
import pytest

from graphflow.keras.datasets import mnist
from graphflow.keras.layers import BatchNormalization, Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from graphflow.keras.models import Sequential, load_model, model_from_json, model_from_yaml
from graphflow.keras.optimizers import SGD
from graphflow.keras.saving import DigestMismatchError, LoadError

COPIES = 150  # damaged copies per kind of file


def net():
    return Sequential([Conv2D(2, (3, 3), activation="relu", input_shape=(6, 6, 1)), BatchNormalization(),
                       MaxPooling2D(), Dropout(0.3), Flatten(), Dense(3, activation="softmax")])


@pytest.fixture
def saved(tmp_path):
    model = net()
    model.compile(SGD(lr=0.1, momentum=0.9), "categorical_crossentropy", metrics=["accuracy"])
    r = np.random.default_rng(0)
    model.train_on_batch(r.random((4, 6, 6, 1)).astype("float32"), np.eye(3, dtype="float32")[[0, 1, 2, 0]])
    model.save(tmp_path / "model.h5")
    model.save_weights(tmp_path / "weights.h5")
    return model, tmp_path


def damage(blob, rng, i):
    """Every third copy truncated, the others with one bit flipped."""
    data = bytearray(blob)
    if i % 3 == 0:
        return bytes(data[: int(rng.integers(0, len(data)))])
    pos = int(rng.integers(0, len(data)))
    data[pos] ^= 1 << int(rng.integers(0, 8))
    return bytes(data)


def same(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def test_damaged_copies_raise_our_error_or_load_exactly_what_was_saved(saved, rng):
    model, folder = saved
    good = model.get_weights()
    target = net()
    before = target.get_weights()
    counts = {"loaded": 0, "refused": 0}
    leaked, silent, touched = [], [], []
    bad = folder / "bad.h5"
    for kind in ("model", "weights"):
        blob = (folder / f"{kind}.h5").read_bytes()
        for i in range(COPIES):
            bad.write_bytes(damage(blob, rng, i))
            try:
                got = load_model(bad, compile=False).get_weights() if kind == "model" else \
                    (target.load_weights(bad), target.get_weights())[1]
                counts["loaded"] += 1
                if not same(got, good):
                    silent.append((kind, i))
                target.set_weights(before)
            except LoadError:
                counts["refused"] += 1
                if not same(target.get_weights(), before):
                    touched.append((kind, i))
                    target.set_weights(before)
            except Exception as err:  # noqa: BLE001 -- what the test counts
                leaked.append((kind, i, f"{type(err).__name__}: {err}"[:160]))
    summary = f"{counts}, {len(leaked)} leaked errors, {len(silent)} silently different loads, " \
              f"{len(touched)} models changed by a failed load"
    print(summary)
    assert not leaked and not silent and not touched, f"{summary}: {leaked[:5]} {silent[:5]} {touched[:5]}"
    assert counts["refused"] > COPIES // 2 and counts["loaded"] > COPIES // 4  # both outcomes were exercised


def test_damaged_keras3_files_never_leak_an_error_even_when_compiling(tmp_path, rng):
    """Keras writes no digests, so damage may go unseen; it must never escape as another error."""
    from pathlib import Path
    fixtures = Path(__file__).resolve().parent / "fixtures" / "keras3"
    leaked = []
    for name in ("cnn.h5", "mlp_adam.h5"):
        blob = (fixtures / name).read_bytes()
        for i in range(COPIES // 6):
            (tmp_path / "bad.h5").write_bytes(damage(blob, rng, i))
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    load_model(tmp_path / "bad.h5", compile=True)
            except LoadError:
                pass
            except Exception as err:  # noqa: BLE001
                leaked.append((name, i, f"{type(err).__name__}: {err}"[:160]))
    assert not leaked, leaked[:5]


def _flip_inside(path, group_path):
    """Flip one bit in the middle of a dataset's bytes, where HDF5 checks nothing."""
    with h5py.File(path, "r") as f:
        offset = f[group_path].id.get_offset()
        size = f[group_path].id.get_storage_size()
    with open(path, "r+b") as f:
        f.seek(offset + size // 2)
        byte = f.read(1)[0]
        f.seek(offset + size // 2)
        f.write(bytes([byte ^ 0x10]))


def test_a_damaged_array_is_caught_by_its_digest_naming_the_weight(saved):
    model, folder = saved
    dense = model.layers[-1]
    for name, group in (("weights.h5", dense.name), ("model.h5", f"model_weights/{dense.name}")):
        _flip_inside(folder / name, f"{group}/{dense.weight_names[0]}")
        target = net()
        before = target.get_weights()
        with pytest.raises(DigestMismatchError, match=f"{dense.name}/kernel.*damaged"):
            target.load_weights(folder / name)
        assert same(target.get_weights(), before)
    with pytest.raises(DigestMismatchError):
        load_model(folder / "model.h5")


def test_a_damaged_config_is_caught_by_the_manifest(saved):
    model, folder = saved
    path = folder / "model.h5"
    with h5py.File(path, "a") as f:
        text = f.attrs["model_config"].decode()
        f.attrs["model_config"] = np.bytes_(text.replace('"rate": 0.3', '"rate": 0.7').encode())
    with pytest.raises(DigestMismatchError, match="configuration or table of contents"):
        load_model(path)


def test_files_without_digests_still_load(saved):
    """Keras writes no digests: such files load (unchecked), as before."""
    model, folder = saved
    path = folder / "model.h5"
    with h5py.File(path, "a") as f:
        for key in ("graphflow_manifest", "graphflow_version"):
            del f.attrs[key]
        f.visititems(lambda name, node: node.attrs.__delitem__("graphflow_digest")
                     if isinstance(node, h5py.Dataset) else None)
    assert same(load_model(path).get_weights(), model.get_weights())


def test_a_graphflow_file_that_lost_a_digest_is_refused(saved):
    model, folder = saved
    path = folder / "weights.h5"
    name = f"{model.layers[0].name}/{model.layers[0].weight_names[1]}"
    with h5py.File(path, "a") as f:
        del f[name].attrs["graphflow_digest"]
    with pytest.raises(LoadError, match="lost its graphflow_digest"):
        net().load_weights(path)


def test_foreign_files_are_refused_saying_what_they_are(saved):
    model, folder = saved
    target = net()
    before = target.get_weights()
    cases = {"empty.h5": b"", "text.h5": b"definitely not HDF5", "zeros.h5": bytes(4096),
             "random.h5": np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes()}
    for name, blob in cases.items():
        (folder / name).write_bytes(blob)
    with open(folder / "arrays.h5", "wb") as fh:
        np.savez(fh, x=np.zeros(3))
    with h5py.File(folder / "images.h5", "w") as f:
        f.create_dataset("images", data=np.zeros((2, 2)))
    with h5py.File(folder / "strings.h5", "w") as f:  # a weight stored as text
        f.attrs["layer_names"] = [np.bytes_(model.layers[0].name)]
        f.attrs["keras_version"] = np.bytes_(b"2.1.6")
        g = f.create_group(model.layers[0].name)
        g.attrs["weight_names"] = [np.bytes_("w"), np.bytes_("b")]
        g.create_dataset("w", data=np.array([b"abc"] * 18, dtype=object), dtype=h5py.string_dtype())
        g.create_dataset("b", data=np.zeros(2, "f4"))
    with h5py.File(folder / "huge.h5", "w") as f:  # claims far more than the file holds
        f.attrs["layer_names"] = [np.bytes_("conv")]
        f.attrs["keras_version"] = np.bytes_(b"2.1.6")
        g = f.create_group("conv")
        g.attrs["weight_names"] = [np.bytes_("w")]
        g.create_dataset("w", shape=(10**6, 10**4), dtype="f4")
    expected = {"empty.h5": "not a readable HDF5", "text.h5": "not a readable HDF5", "zeros.h5": "not a readable",
                "random.h5": "not a readable", "arrays.h5": "not a readable", "images.h5": "layer_names",
                "strings.h5": "not as numbers", "huge.h5": r"\(40000000000 bytes\) but the file stores 0 bytes"}
    for name, message in expected.items():
        with pytest.raises(LoadError, match=message):
            target.load_weights(folder / name)
        with pytest.raises(LoadError):
            load_model(folder / name)
        assert same(target.get_weights(), before), name
    with pytest.raises(FileNotFoundError):
        target.load_weights(folder / "missing.h5")


# ---------------------------------------------------------------- killed while saving

def _save_forever(model, path, ready):
    """In a forked child: save ``model`` over and over, its weights alternating 0 and 1."""
    k = 0
    while True:
        k += 1
        model.set_weights([np.full(w.shape, k % 2, "float32") for w in model.get_weights()])
        model.save(path)
        if k == 1:
            ready.send(k)


@pytest.mark.slow
def test_a_writer_killed_at_random_moments_leaves_a_complete_file(tmp_path, rng):
    """A child process (forked, so it costs no import) saves a 0.5 MB model in a loop and is
    killed with SIGKILL at random moments; the file on disk always loads, whole."""
    path = tmp_path / "ckpt.h5"
    model = Sequential([Dense(256, input_shape=(256,)), Dense(256), Dense(10)])
    fork = multiprocessing.get_context("fork")
    outcomes, interrupted = [], 0
    for delay in sorted(rng.uniform(0.0, 0.5, 6)):
        receive, send = fork.Pipe(duplex=False)
        child = fork.Process(target=_save_forever, args=(model, str(path), send), daemon=True)
        child.start()
        try:
            assert receive.poll(60), "the writer never finished its first save"
            time.sleep(delay)
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.join()
        leftovers = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        interrupted += len(leftovers)
        for p in leftovers:  # a killed writer's temporary file; the target is what matters
            p.unlink()
        loaded = load_model(path, compile=False)  # never raises: a complete old or new file
        values = {float(v) for w in loaded.get_weights() for v in np.unique(w)}
        assert values in ({0.0}, {1.0}), values
        outcomes.append(values.pop())
    print(f"killed at {len(outcomes)} random moments ({interrupted} in the middle of a save): the file held "
          f"weights {outcomes}")


# ---------------------------------------------------------------- MNIST archives and configs

def test_damaged_mnist_archives_raise_our_error_or_load_exactly(tmp_path, rng, monkeypatch):
    monkeypatch.setattr(mnist, "_announced", set())
    r = np.random.default_rng(2)
    arrays = {"x_train": r.integers(0, 256, (20, 28, 28), dtype=np.uint8), "y_train": r.integers(0, 10, 20),
              "x_test": r.integers(0, 256, (5, 28, 28), dtype=np.uint8), "y_test": r.integers(0, 10, 5)}
    for compress in (np.savez, np.savez_compressed):
        compress(tmp_path / "mnist.npz", **arrays)
        blob = (tmp_path / "mnist.npz").read_bytes()
        leaked, silent = [], []
        for i in range(COPIES):
            (tmp_path / "bad.npz").write_bytes(damage(blob, rng, i))
            try:
                (x, y), (xt, yt) = mnist.load_data(str(tmp_path / "bad.npz"))
                if not same([x, y, xt, yt], [arrays[k] for k in mnist.KEYS]):
                    silent.append(i)
            except LoadError:
                pass
            except Exception as err:  # noqa: BLE001
                leaked.append(f"{type(err).__name__}: {err}"[:160])
        assert not leaked and not silent, f"{compress.__name__}: leaked {leaked[:5]}, silent {silent[:5]}"
    with zipfile.ZipFile(tmp_path / "pickled.npz", "w") as z:  # an object array: a pickle inside
        for key in mnist.KEYS:
            buffer = io.BytesIO()
            np.save(buffer, np.array([print], dtype=object) if key == "x_train" else arrays[key],
                    allow_pickle=True)
            z.writestr(f"{key}.npy", buffer.getvalue())
    with pytest.raises(LoadError, match="not a Keras-format.*allow_pickle=False"):
        mnist.load_data(str(tmp_path / "pickled.npz"))
    np.savez(tmp_path / "labels.npz", **dict(arrays, y_test=np.full(5, 12)))
    with pytest.raises(LoadError, match="digits 0..9"):
        mnist.load_data(str(tmp_path / "labels.npz"))


def test_damaged_json_and_yaml_configs_raise_our_error_or_build(rng):
    yaml = pytest.importorskip("yaml")
    model = net()
    texts = {"JSON": model.to_json(), "YAML": yaml.safe_dump(json.loads(model.to_json()))}
    loaders = {"JSON": model_from_json, "YAML": model_from_yaml}
    for kind, text in texts.items():
        assert len(loaders[kind](text).layers) == len(model.layers)
        leaked = []
        for i in range(COPIES // 3):
            blob = damage(text.encode(), rng, i)
            try:
                loaders[kind](blob.decode("utf8", errors="replace"))
            except LoadError:
                pass
            except Exception as err:  # noqa: BLE001
                leaked.append(f"{type(err).__name__}: {err}"[:160])
        assert not leaked, f"{kind}: {leaked[:5]}"
    with pytest.raises(LoadError, match="mapping"):
        model_from_json("[1, 2]")
    with pytest.raises(LoadError, match="parsed"):
        model_from_yaml("!!python/object/apply:os.system ['echo pwned']")
