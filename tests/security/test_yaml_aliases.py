"""model_from_yaml against YAML alias bombs: aliases that expand past a bound, or loop,
are refused before anything is built, quickly and with an error that says so; configs
with a few honest aliases still load."""
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

from graphflow.keras.layers import Dense  # noqa: E402
from graphflow.keras.models import Sequential, model_from_yaml  # noqa: E402
from graphflow.keras.saving import LoadError  # noqa: E402
from graphflow.keras.saving.yaml_text import MAX_ALIAS_EXPANSION, load  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def alias_bomb(levels=9, width=9):
    """The 'billion laughs' document: each level lists the previous one ``width`` times."""
    lines = ["a0: &a0 [" + ", ".join(['"lol"'] * width) + "]"]
    for k in range(1, levels):
        lines.append(f"a{k}: &a{k} [" + ", ".join([f"*a{k - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def test_the_nine_level_alias_bomb_fails_fast():
    bomb = alias_bomb()
    assert len(bomb) < 600
    # in a subprocess: before the fix, building a model from it walked 9^9 paths for ever
    code = textwrap.dedent(f"""
        import time
        from graphflow.keras.models import model_from_yaml
        t0 = time.perf_counter()
        try:
            model_from_yaml({bomb!r})
        except Exception as err:
            print(type(err).__name__, round(time.perf_counter() - t0, 3), err)
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={"PYTHONPATH": f"{ROOT}:{ROOT / 'backends'}", "PATH": "/usr/bin:/bin"})
    kind, seconds, message = res.stdout.split(" ", 2)
    assert kind == "LoadError", res.stdout + res.stderr
    assert float(seconds) < 1.0
    assert "alias bomb" in message and "line 6" in message  # 9^6 nodes: past the bound


def test_merge_keys_that_double_at_each_level_are_refused():
    lines = ["m0: &m0 {x0: 1}"] + [f"m{k}: &m{k} {{<<: [*m{k - 1}, *m{k - 1}], x{k}: 1}}" for k in range(1, 24)]
    t0 = time.perf_counter()
    with pytest.raises(LoadError, match="cannot be parsed: YAML aliases .* expand to more than 100,000"):
        model_from_yaml("\n".join(lines))
    assert time.perf_counter() - t0 < 2.0


def test_an_alias_to_its_own_container_is_refused():
    with pytest.raises(LoadError, match="refers to a node that contains it"):
        model_from_yaml("class_name: Sequential\nconfig: &c\n  - *c\n")


def test_python_tags_are_still_refused():
    with pytest.raises(LoadError, match="cannot be parsed"):
        model_from_yaml("!!python/object/apply:os.system ['echo pwned']")


def test_honest_aliases_and_configs_load(rng):
    assert load("a: &x [1, 2]\nb: *x\nc: {<<: {k: 1}, j: 2}") == {"a": [1, 2], "b": [1, 2], "c": {"k": 1, "j": 2}}
    wide = "a: &a [" + ", ".join(["1"] * 1000) + "]\n" + "b: [" + ", ".join(["*a"] * 99) + "]\n"
    assert len(load(wide)["b"]) == 99  # 99,000 repeated nodes: within the bound
    with pytest.raises(ValueError, match="alias bomb"):
        load(wide.replace("* 99", "").replace(", ".join(["*a"] * 99), ", ".join(["*a"] * 101)))
    assert MAX_ALIAS_EXPANSION == 100_000
    model = Sequential([Dense(3, input_shape=(4,), name="d")])
    again = model_from_yaml(model.to_yaml())
    assert [layer.name for layer in again.layers] == ["d"]
