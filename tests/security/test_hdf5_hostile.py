"""Issue 18, the HDF5 attacks: each hostile file is refused quickly with a ``LoadError``
that names what was wrong, by ``load_model`` and by ``load_weights``; no byte of another
file reaches a weight; nothing hangs or allocates past a small bound. Every file is
stripped of graphflow's digests and manifest, as a Keras-written (or tampered) file is:
the checks may not depend on them. All loads run in a child process with a memory limit
(``hostile_files.run_isolated``)."""
from __future__ import annotations

import os

import h5py
import numpy as np
import pytest

import hostile_files as H

# attack -> (how to make it, words the error must contain)
ATTACKS = {
    "external_storage": (lambda p, d: H.external_storage(p, H.KERNEL, d["secret"]),
                         ["external file", "secret.bin", "kernel"]),
    "virtual_dataset": (lambda p, d: H.virtual_dataset(p, H.KERNEL, d["other"]), ["virtual", "kernel"]),
    "external_link": (lambda p, d: H.external_link(p, H.KERNEL, d["other"]),
                      ["external link", "other.h5", "kernel"]),
    "external_link_group": (lambda p, d: _external_group(p, d["other"]), ["external link", "dense"]),
    "soft_link": (lambda p, d: H.soft_link(p, H.BIAS, H.OTHER_KERNEL), ["soft link", "bias"]),
    "compact_layout": (lambda p, d: H.compact_dataset(p, H.KERNEL), ["compact", "kernel"]),
    "fill_value": (lambda p, d: H.fill_value_dataset(p, H.KERNEL), ["stores 0 bytes", "kernel"]),
    "compression_bomb": (lambda p, d: H.compression_bomb(p, H.KERNEL), ["kernel", "expand"]),
    "nul_in_layer_names": (lambda p, d: H.set_names(p, "model_weights", "layer_names",
                                                    [b"dense\x00evil", b"dense_1"]), ["layer name", "NUL"]),
    "absolute_weight_name": (lambda p, d: _weight_names(p, lambda k, b: [b"/model_weights/dense/" + k, b]),
                             ["not a relative path"]),
    "dotdot_weight_name": (lambda p, d: _weight_names(p, lambda k, b: [b"dense/../dense/" + k.split(b"/")[-1], b]),
                           ["'..'"]),
}
# attacks on the config that only load_model reads
CONFIG_ATTACKS = {
    "dense_units_5e7": (lambda p, d: H.set_config(p, _units(5e7)), ["dense", "does not fit", "stores"]),
    "injected_layer_name": (lambda p, d: H.set_config(p, _rename('<a> URL="javascript:alert(1)" <b>')),
                            ["layer name", "javascript"]),
}


def _external_group(path, other):
    with h5py.File(other, "a") as f:
        f.require_group("grp")
    with h5py.File(path, "r+") as f:
        del f["model_weights/dense"]
        f["model_weights/dense"] = h5py.ExternalLink(other, "grp")
        H.strip_graphflow_marks(f)


def _weight_names(path, edit):
    """Rewrite the first layer's weight_names with ``edit(kernel name, bias name)``."""
    with h5py.File(path, "r") as f:
        kernel, bias = list(f["model_weights/dense"].attrs["weight_names"])
    H.set_names(path, "model_weights/dense", "weight_names", edit(kernel, bias))


def _units(units):
    def edit(config):
        config["config"]["layers"][1]["config"]["units"] = units
    return edit


def _rename(name):
    def edit(config):
        config["config"]["layers"][1]["config"]["name"] = name
    return edit


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """Every attack file made and loaded once, in one child process."""
    folder = tmp_path_factory.mktemp("hostile")
    shared = {"secret": H.secret_file(folder), "other": H.other_hdf5(folder)}
    paths = {}
    for name, (make, _) in {**ATTACKS, **CONFIG_ATTACKS}.items():
        paths[name] = H.saved_model(folder, f"{name}.h5")
        make(paths[name], shared)
    paths["untampered_model"] = H.saved_model(folder, "untampered_model.h5")
    with h5py.File(paths["untampered_model"], "r+") as f:  # a Keras-like file: no digests at all
        H.strip_graphflow_marks(f)
    paths["untampered_weights"] = H.saved_weights(folder, "untampered_weights.h5")
    results = H.run_isolated(H.LOAD_CHILD, {"paths": list(paths.values()), "secret": shared["secret"]},
                             timeout=120, memory_mb=300)
    return {name: r for name, r in zip(paths, results)}


def _refused(result, words, path):
    assert result["outcome"] == "LoadError", result
    assert not result["leak"]
    assert result["seconds"] < 2.0, result
    message = result["message"].replace(path, "<file>")  # the words must not come from the file's name
    for word in words:
        assert word in message, (word, message)


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_hostile_structure_is_refused_by_load_model_and_load_weights(outcomes, attack):
    _refused(outcomes[attack]["model"], ATTACKS[attack][1], outcomes[attack]["path"])
    _refused(outcomes[attack]["weights"], ATTACKS[attack][1], outcomes[attack]["path"])


@pytest.mark.parametrize("attack", sorted(CONFIG_ATTACKS))
def test_hostile_config_is_refused_before_it_allocates(outcomes, attack):
    _refused(outcomes[attack]["model"], CONFIG_ATTACKS[attack][1], outcomes[attack]["path"])


def test_the_untampered_files_still_load(outcomes):
    assert outcomes["untampered_model"]["model"]["outcome"] == "loaded"
    assert outcomes["untampered_model"]["weights"]["outcome"] == "loaded"
    assert outcomes["untampered_weights"]["weights"]["outcome"] == "loaded"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_fifo_as_external_storage_does_not_hang(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    path = H.saved_model(tmp_path)
    H.external_storage(path, H.KERNEL, fifo)
    result = H.run_isolated(H.LOAD_CHILD, {"paths": [path]}, timeout=20)[0]
    _refused(result["model"], ["external file", "pipe"], path)
    _refused(result["weights"], ["external file", "pipe"], path)


def test_keras3_weights_layout_refuses_links_and_bad_names(tmp_path):
    """The ``layers/<key>/vars`` layout (read when a file has no layer_names) is walked
    through hard links only, and the layer names it keeps obey the naming rule."""
    from graphflow.keras.saving import LoadError
    from graphflow.keras.layers import Dense
    from graphflow.keras.models import Sequential
    model = Sequential([Dense(3, input_shape=(4,), name="dense"), Dense(2, name="dense_1")])
    other = H.other_hdf5(tmp_path)
    for case in ("link", "name"):
        path = str(tmp_path / f"{case}.weights.h5")
        model.save_weights(path)
        with h5py.File(path, "r+") as f:
            for key in [k for k in f.attrs if k.startswith("layer_names")]:
                del f.attrs[key]
            if case == "link":
                del f["layers/dense/vars/0"]
                f["layers/dense/vars/0"] = h5py.ExternalLink(other, "data")
            else:
                f["layers/dense/vars"].attrs["name"] = np.bytes_(b"dense\x00x")
            H.strip_graphflow_marks(f)
        with pytest.raises(LoadError, match="external link" if case == "link" else "layer name"):
            model.load_weights(path, by_name=True)


def test_the_build_budget_also_bounds_arrays_a_layer_makes_besides_weights():
    """SeparableConv2D builds a (channels, channels) mask and Reshape a constant of its
    target shape: from a config in a small file they stop before allocating, and within
    the budget they build as before."""
    from graphflow.keras.engine.build_budget import CONSTANT_FLOOR, build_budget
    from graphflow.keras.layers import Input, Reshape, SeparableConv2D
    channels = int(CONSTANT_FLOOR ** 0.5) + 64
    with build_budget(2 * channels + 1, "a small file"):
        with pytest.raises(ValueError, match="block-diagonal mask.*a small file"):
            SeparableConv2D(1, 1)(Input((1, 1, channels)))
    with build_budget(100, "a small file"):
        with pytest.raises(ValueError, match="constant.*a small file"):
            Reshape((-1, 5000, 5000))(Input((None,)))
    with build_budget(1000):
        SeparableConv2D(4, 3)(Input((8, 8, 3)))
        assert Reshape((-1, 2))(Input((None,))).shape[-1] == 2
