"""graphflow.keras.backend configuration: defaults, where they are read from (never
written), setters, and layers reading data_format when they are made."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from graphflow.keras import backend as K
from graphflow.keras.layers import Conv2D, MaxPooling2D


@pytest.fixture
def restore():
    saved = (K.image_data_format(), K.floatx(), K.epsilon())
    yield
    K.set_image_data_format(saved[0])
    K.set_floatx(saved[1])
    K.set_epsilon(saved[2])


def write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def test_defaults_without_config_files(tmp_path, restore):
    config = K.reload_config(home=tmp_path)
    assert config == {"image_data_format": "channels_last", "floatx": "float32", "epsilon": 1e-7}
    assert K.image_dim_ordering() == "tf" and K.backend() == "graphflow"


def test_graphflow_file_wins_over_keras_file(tmp_path, restore):
    write(tmp_path / ".keras" / "keras.json", {"image_data_format": "channels_first", "floatx": "float64"})
    K.reload_config(home=tmp_path)
    # only image_data_format is taken from Keras's own file
    assert K.image_data_format() == "channels_first" and K.floatx() == "float32"
    write(tmp_path / ".graphflow" / "keras.json", {"image_data_format": "channels_last", "floatx": "float64",
                                                   "epsilon": 1e-5})
    K.reload_config(home=tmp_path)
    assert (K.image_data_format(), K.floatx(), K.epsilon()) == ("channels_last", "float64", 1e-5)


def test_bad_values_are_ignored_with_a_warning(tmp_path, restore):
    write(tmp_path / ".graphflow" / "keras.json", {"image_data_format": "NHWC", "epsilon": -1})
    with pytest.warns(UserWarning) as record:
        K.reload_config(home=tmp_path)
    messages = " ".join(str(w.message) for w in record)
    assert "ignoring image_data_format='NHWC'" in messages and "ignoring epsilon=-1" in messages
    assert K.image_data_format() == "channels_last" and K.epsilon() == 1e-7
    (tmp_path / ".graphflow" / "keras.json").write_text("{not json")
    with pytest.warns(UserWarning, match="unreadable config file"):
        K.reload_config(home=tmp_path)


def test_import_reads_home_and_writes_nothing(tmp_path):
    write(tmp_path / ".keras" / "keras.json", {"image_data_format": "channels_first"})
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    env = dict(os.environ, HOME=str(tmp_path))
    code = "import graphflow.keras.backend as K; print(K.image_data_format())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "channels_first"
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_setters_validate(restore):
    with pytest.raises(ValueError, match="Unknown data_format"):
        K.set_image_data_format("channels_middle")
    with pytest.raises(ValueError, match="Unknown floatx"):
        K.set_floatx("int8")
    K.set_floatx("float64")
    assert K.cast_to_floatx([1, 2]).dtype == np.float64
    K.set_image_dim_ordering("th")
    assert K.image_data_format() == "channels_first"


def test_layers_read_the_format_when_constructed(restore):
    K.set_image_data_format("channels_first")
    conv = Conv2D(4, 3)
    pool = MaxPooling2D()
    K.set_image_data_format("channels_last")
    assert conv.data_format == "channels_first" and pool.data_format == "channels_first"
    assert Conv2D(4, 3).data_format == "channels_last"
    assert Conv2D(4, 3, data_format="CHANNELS_FIRST").data_format == "channels_first"


def test_floatx_float64_model(restore):
    from graphflow.keras.layers import Dense
    from graphflow.keras.models import Sequential
    K.set_floatx("float64")
    model = Sequential([Dense(2, input_dim=3)])
    model.compile("sgd", "mse")
    assert model.layers[0].weights[0].dtype == "float64"
    assert model.predict(np.ones((2, 3))).dtype == np.float64
    model.train_on_batch(np.ones((2, 3)), np.ones((2, 2)))


def test_backend_exports_exactly_its_all_and_leaks_no_modules():
    """K's namespace is its ``__all__`` (config, graph, math parts), not what its parts import."""
    import types

    from graphflow.keras import backend_config, backend_graph, backend_math, backend_spatial
    parts = backend_config.__all__ + backend_graph.__all__ + backend_math.__all__ + backend_spatial.__all__
    assert len(set(K.__all__)) == len(K.__all__)
    assert set(parts) <= set(K.__all__)
    for leak in ("np", "re", "gf", "json", "os", "builtins", "warnings"):
        assert not hasattr(K, leak), f"K.{leak} leaks"
    public = {n for n, v in vars(K).items() if not n.startswith("_") and not isinstance(v, types.ModuleType)}
    assert public == set(K.__all__)
    assert all(callable(getattr(K, n)) for n in K.__all__)
