"""``dprint``: the text tree, pinned for a small graph."""
from __future__ import annotations

import io

import numpy as np

import graphflow as gf
from viz_helpers import training_function

PINNED = """\
add [id A] (?,) float32
 ├─ sum axis=(1,) [id B] (?,) float32
 │   └─ relu [id C] (?, 3) float32  in dense
 │       └─ add [id D] (?, 3) float32  in dense
 │           ├─ mul [id E] (?, 3) float32  in dense
 │           │   ├─ x [id F] placeholder (?, 3) float32
 │           │   └─ w [id G] variable (3,) float32
 │           └─ 2 [id H] constant () float32
 └─ mean axis=(0, 1) [id I] () float32
     └─ relu [id C] (?, 3) float32  in dense ···
"""


def shared_subtree_graph():
    x = gf.placeholder((None, 3), name="x")
    with gf.name_scope("dense"):
        w = gf.variable(np.ones(3, "float32"), name="w")
        y = gf.relu(x * w + 2)
    return gf.sum(y, axis=1) + gf.mean(y)


def test_dprint_pinned_for_a_small_graph():
    out = io.StringIO()
    text = gf.viz.dprint(shared_subtree_graph(), file=out)
    assert text == out.getvalue() == PINNED


def test_max_depth_cuts_the_tree():
    assert gf.viz.dformat(shared_subtree_graph(), max_depth=1) == (
        "add [id A] (?,) float32\n"
        " ├─ sum axis=(1,) [id B] (?,) float32 …\n"
        " └─ mean axis=(0, 1) [id C] () float32 …\n")


def test_functions_print_outputs_updates_and_fused_bodies():
    f = training_function("O2")
    written = gf.viz.dformat(f).splitlines()
    assert written[0] == "output 0: mean axis=(0, 1) [id A] () float32"
    update = next(line for line in written if line.startswith("update "))
    assert update.startswith("update w [id ") and " ← sub [id " in update
    assert any("in grad/dense" in line for line in written)
    run = gf.viz.dformat(f, optimized=True).splitlines()
    assert "fused ops:" in run
    body = run[run.index("fused ops:") + 1:]
    assert any(line.endswith("t0 = mul(x0, x1); t1 = add(t0, x2); t2 = relu(t1)") for line in body), body


def test_multi_output_values_name_their_index():
    x = gf.placeholder((None, 3), name="x")
    gx = gf.grad(gf.sum(gf.nn.dropout(x, 0.5, seed=3)), x)
    text = gf.viz.dformat(gx)
    assert "dropout rate=0.5 [id " in text and "].1 (?, 3) float32" in text


def test_deep_graphs_print_without_recursion():
    x = gf.placeholder((2,), name="x")
    y = x
    for i in range(1500):  # deeper than Python's recursion limit
        y = y * 1.5 if i % 2 else y + 1.0
    lines = gf.viz.dformat(y).splitlines()
    assert len(lines) == 1500 * 2 + 1
    assert lines[-1].startswith(" └─ 1.5 [id ") and lines[-1].endswith("] constant () float32")
    assert any(line.lstrip(" │├└─").startswith("x [id ") for line in lines)
