"""Issue 18, item 7, saving: ``overwrite=False`` stays right when two saves race, a
re-save keeps the file's mode, errors name the file asked for (never the temporary one),
and a valid 250-character file name works."""
from __future__ import annotations

import os
import stat
import threading

import numpy as np
import pytest

from graphflow.keras.layers import Dense
from graphflow.keras.models import Sequential, load_model
from graphflow.keras.saving import writing
from graphflow.utils import atomic_path, write_text


def _model():
    return Sequential([Dense(2, input_shape=(3,), name="d")])


def test_two_overlapping_overwrite_false_writers_one_wins(tmp_path):
    target = tmp_path / "new.txt"
    with pytest.raises(FileExistsError, match="overwrite=False"):
        with atomic_path(target, overwrite=False) as first:
            with atomic_path(target, overwrite=False) as second:  # both saw no file
                with open(second, "w") as f:
                    f.write("second")
            with open(first, "w") as f:
                f.write("first")
    assert target.read_text() == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.txt"]  # no temporary debris


def test_concurrent_save_model_to_one_new_path_exactly_one_succeeds(tmp_path, monkeypatch):
    target = str(tmp_path / "race.h5")
    both_writing = threading.Barrier(2, timeout=20)
    stamp = writing._stamp

    def stamp_then_wait(attrs):  # both saves are past the existence check before either publishes
        stamp(attrs)
        both_writing.wait()
    monkeypatch.setattr(writing, "_stamp", stamp_then_wait)
    models = [_model(), _model()]
    outcomes = [None, None]

    def save(i):
        try:
            models[i].save(target, overwrite=False)
            outcomes[i] = "saved"
        except FileExistsError as err:
            outcomes[i] = f"refused: {err}"
    threads = [threading.Thread(target=save, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o.split(":")[0] for o in outcomes) == ["refused", "saved"], outcomes
    assert target in next(o for o in outcomes if o.startswith("refused"))
    winner = models[outcomes.index("saved")]
    np.testing.assert_array_equal(load_model(target, compile=False).get_weights()[0], winner.get_weights()[0])
    assert sorted(os.listdir(tmp_path)) == ["race.h5"]


@pytest.mark.parametrize("mode", [0o600, 0o640])
def test_resaving_keeps_the_files_mode(tmp_path, mode):
    target = tmp_path / "m.h5"
    _model().save(str(target))
    os.chmod(target, mode)
    _model().save(str(target))
    _model().save_weights(str(target))
    assert stat.S_IMODE(os.stat(target).st_mode) == mode
    write_text(tmp_path / "t.txt", "a")
    os.chmod(tmp_path / "t.txt", mode)
    write_text(tmp_path / "t.txt", "b")
    assert stat.S_IMODE(os.stat(tmp_path / "t.txt").st_mode) == mode


def test_a_250_character_file_name_saves_and_loads(tmp_path):
    target = str(tmp_path / ("m" * 247 + ".h5"))
    model = _model()
    model.save(target)
    model.save_weights(target)
    again = _model()
    again.load_weights(target)
    np.testing.assert_array_equal(again.get_weights()[0], model.get_weights()[0])
    assert os.listdir(tmp_path) == [os.path.basename(target)]


def test_errors_name_the_target_not_the_temporary_file(tmp_path, monkeypatch):
    missing = str(tmp_path / "no_such_folder" / "m.h5")
    with pytest.raises(OSError) as info:
        _model().save(missing)
    assert missing in str(info.value) and ".tmp" not in str(info.value)

    target = str(tmp_path / "m.h5")

    def fail(group, name, value):  # as h5py does when a disk fills up: naming the file it writes
        raise OSError(28, f"Can't write data (file {group.file.filename!r})", group.file.filename)
    monkeypatch.setattr(writing, "write_array", fail)
    with pytest.raises(OSError) as info:
        _model().save(target)
    assert target in str(info.value) and ".tmp" not in str(info.value)
    assert os.listdir(tmp_path) == []
