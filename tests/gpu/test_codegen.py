"""CUDA source generation for the CuPy backend, checked on the CPU: one expression per
op, NumPy's dtype promotion, literals, the broadcasting index math, and what is left to
the fallback. Nothing here needs CuPy, a GPU or a compiler."""
from __future__ import annotations

import re

import numpy as np
import pytest

from graphflow.ops import elementwise as ew
from graphflow.ops.fused import Fused
from graphflow.ops.nn import activations as act
from graphflow_cupy import EXPRESSIONS, KERNELS
from graphflow_cupy.codegen import Layout, Operand, Unsupported, fused_source, layout, step_dtypes
from graphflow_cupy.source import STATIC_FILES, instantiations, literal, static_kernel, static_kernels


def _elementwise_op_types():
    found, todo = [], [ew.Elementwise]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("graphflow.ops."):
                found.append(sub)
    return found


def test_every_elementwise_op_of_the_catalog_has_a_cuda_expression_and_kernel():
    types = _elementwise_op_types()
    assert len(types) >= 40 and ew.Add in types and act.Gelu in types
    missing = [t.__name__ for t in types if t not in EXPRESSIONS]
    assert not missing, f"element-wise ops without a CUDA expression: {missing}"
    for t in types:  # the GPU table's own kernel, not the NumPy parent's
        assert t in KERNELS._specs and KERNELS.spec(t).writes_out


def _source(steps, n, dtypes, kinds=None, ndim=0, index="int32"):
    operands = [Operand(d, k) for d, k in zip(dtypes, kinds or ["c"] * len(dtypes))]
    return fused_source(Fused(tuple(steps), n), operands, ndim, index, header=False)


def test_arithmetic_runs_in_the_result_dtype_as_numpy_does():
    _, src = _source([(ew.Add(), (0, 1))], 2, ["int32", "float32"])      # int32 + float32 -> float64
    assert "const double t0 = (double)(((double)(x0)) + ((double)(x1)));" in src
    assert "const int x0 = in0[i];" in src and "double* out" in src
    _, src = _source([(ew.Mul(), (0, 1)), (ew.Tanh(), (2,))], 2, ["float32", "float32"])
    assert "const float t0 = (float)(x0 * x1);" in src and "const float t1 = (float)(gf_tanh(t0));" in src
    _, src = _source([(ew.Exp(), (0,))], 1, ["int16"])                    # exp(int16) is float32
    assert "const float t0 = (float)(gf_exp(((float)(x0))));" in src


def test_comparisons_use_the_common_type_and_logic_works_on_bools():
    _, src = _source([(ew.Less(), (0, 1)), (ew.LogicalAnd(), (2, 0))], 2, ["int64", "float32"])
    assert "const bool t0 = (bool)(((double)(x0)) < ((double)(x1)));" in src
    assert "const bool t1 = (bool)(t0 && ((bool)(x0)));" in src
    _, src = _source([(ew.Where(), (0, 1, 2))], 3, ["bool", "int32", "float32"])
    assert "const double t0 = (double)(x0 ? ((double)(x1)) : ((double)(x2)));" in src
    _, src = _source([(ew.IsFinite(), (0,))], 1, ["float64"])
    assert "(gf_isfinite(x0))" in src


def test_op_fields_become_literals_of_the_compute_type():
    _, src = _source([(ew.Clip(-0.5, 0.7), (0,))], 1, ["float32"])
    assert "gf_clip(x0, ((float)(-0.5)), ((float)(0.7)))" in src
    _, src = _source([(ew.Clip(-0.5, 3.0), (0,))], 1, ["int32"])          # NumPy truncates: -0.5 -> 0
    assert "gf_clip(x0, ((int)(-0.5)), ((int)(3LL)))" in src
    _, src = _source([(act.LeakyRelu(0.25), (0,))], 1, ["float64"])
    assert "x0 > 0 ? x0 : x0 * ((double)(0.25))" in src
    assert literal(float("inf"), "float32") == "((float)(gf_inf()))"
    assert literal(float("-inf"), "float64") == "((double)((-gf_inf())))"
    assert literal(float("nan"), "float32") == "((float)(gf_nan()))"
    assert literal(True, "bool") == "true" and literal(7, "uint8") == "((unsigned char)(7LL))"


def test_step_dtypes_follow_numpy_2():
    op = Fused(((ew.Add(), (0, 1)), (ew.Greater(), (2, 0)), (ew.Cast("int8"), (3,))), 2)
    assert step_dtypes(op, ["int8", "uint8"]) == ["int8", "uint8", "int16", "bool", "int8"]
    assert step_dtypes(op, ["float32", "int64"]) == ["float32", "int64", "float64", "bool", "int8"]


def test_general_operands_are_indexed_over_the_merged_dimensions():
    name, src = _source([(ew.Add(), (0, 1))], 2, ["float32", "float32"], ["c", "g"], ndim=3)
    assert "const int c2 = r % d2; r /= d2;" in src and "const int c0 = r;" in src
    assert "const float x1 = in1[c0 * s1_0 + c1 * s1_1 + c2 * s1_2];" in src
    assert f"{name}(int n, const float* in0, const float* in1, float* out, int d0, int d1, int d2, " \
           "int s1_0, int s1_1, int s1_2)" in src
    _, src = _source([(ew.Add(), (0, 1))], 2, ["float32", "float32"], ["s", "c"], index="int64")
    assert "const float x0 = in0[0];" in src and "long long n" in src and "d0" not in src


def test_kernel_names_key_structure_dtypes_layout_and_index_type():
    base = ([(ew.Add(), (0, 1))], 2, ["float32", "float32"])
    names = {_source(*base)[0], _source(*base, kinds=["c", "g"], ndim=2)[0], _source(*base, index="int64")[0],
             _source([(ew.Sub(), (0, 1))], 2, ["float32", "float32"])[0],
             _source([(ew.Add(), (0, 1))], 2, ["float64", "float32"])[0]}
    assert len(names) == 5 and _source(*base)[0] == _source(*base)[0]


def test_what_the_generator_does_not_handle_is_unsupported():
    with pytest.raises(Unsupported, match="float16"):
        _source([(ew.Add(), (0, 1))], 2, ["float16", "float16"])

    class Twice(ew.Elementwise):
        like = "negative"
    with pytest.raises(Unsupported, match="Twice has no CUDA expression"):
        _source([(Twice(), (0,))], 1, ["float32"])


# ---------------------------------------------------------------- the index math of a call
def _read(lay: Layout, k: int, i: int) -> int:
    """Input k's element offset for output element i, as the generated kernel computes it."""
    kind = lay.kinds[k]
    if kind == "c":
        return i
    if kind == "s":
        return 0
    off, r = 0, i
    for j in range(len(lay.dims) - 1, 0, -1):
        off += (r % lay.dims[j]) * lay.strides[k][j]
        r //= lay.dims[j]
    return off + r * lay.strides[k][0]


def _element_strides(a):
    return tuple(s // a.itemsize for s in a.strides)


def test_layout_merges_what_it_can_and_classifies_inputs():
    assert layout([(2, 3, 4, 5), (5,)], [(60, 20, 5, 1), (1,)]) == Layout(
        (2, 3, 4, 5), (24, 5), ("c", "g"), ((5, 1), (0, 1)))                       # a bias row
    assert layout([(4, 6), (4, 6)], [(6, 1), (6, 1)]) == Layout((4, 6), (24,), ("c", "c"), ((1,), (1,)))
    assert layout([(4, 6), ()], [(6, 1), ()]).kinds == ("c", "s")
    assert layout([(3, 1), (1, 4)], [(1, 1), (4, 1)]).kinds == ("g", "g")           # an outer sum
    with pytest.raises(ValueError, match="do not broadcast"):
        layout([(3,), (4,)], [(1,), (1,)])


@pytest.mark.parametrize("seed", range(40))
def test_layout_reads_every_broadcast_view_correctly(seed):
    """Random shapes that broadcast, each input a random view (transposed, strided,
    reversed) of its own buffer: the kernel's offsets read exactly NumPy's broadcast."""
    rng = np.random.default_rng(seed)
    nd = int(rng.integers(0, 5))
    out_shape = tuple(int(d) for d in rng.integers(1, 5, nd))
    inputs = []
    for _ in range(int(rng.integers(1, 4))):
        lead = int(rng.integers(0, nd + 1))
        shape = tuple(d if rng.random() < 0.6 else 1 for d in out_shape[lead:])
        base = np.arange(int(np.prod(shape)) * 4, dtype=np.float32)
        view = base[::2] if rng.random() < 0.5 else base[: base.size // 4]
        view = view[: int(np.prod(shape))].reshape(shape)
        if view.ndim > 1 and rng.random() < 0.5:
            perm = tuple(rng.permutation(view.ndim))
            view = np.ascontiguousarray(view.transpose(perm)).transpose(np.argsort(perm))
        if view.ndim and rng.random() < 0.3:
            view = view[::-1]
        inputs.append(view)
    lay = layout([a.shape for a in inputs], [_element_strides(a) for a in inputs])
    assert lay.shape == np.broadcast_shapes(*[a.shape for a in inputs])
    for k, a in enumerate(inputs):
        got = [_at(a, _read(lay, k, i)) for i in range(lay.size)]
        np.testing.assert_array_equal(got, np.broadcast_to(a, lay.shape).ravel())


def _at(a, offset):
    """The element ``offset`` elements from ``a``'s first element (what ``in_k[offset]`` reads)."""
    base = a.__array_interface__["data"][0]
    ptr = base + offset * a.itemsize
    buf = a.base if a.base is not None else a
    while getattr(buf, "base", None) is not None:
        buf = buf.base
    start = buf.__array_interface__["data"][0]
    return buf.ravel()[(ptr - start) // a.itemsize]


# ---------------------------------------------------------------- the hand-written kernels
def test_static_kernel_families_and_their_instantiation_names():
    names = {f: [k.name for k in static_kernels(f)] for f in STATIC_FILES}
    assert names["conv.cu"] == ["gf_im2col", "gf_col2im"]
    assert names["softmax.cu"] == ["gf_softmax", "gf_softmax_xent"]
    assert static_kernel("softmax.cu", "gf_softmax").rows and not static_kernel("conv.cu", "gf_im2col").rows
    assert static_kernel("pool.cu", "gf_maxpool").instance("float64", np.int64) == "gf_maxpool<double, long long>"
    text = instantiations(static_kernels("conv.cu"))
    assert text.count("(void*)&") == 8 and "(void*)&gf_col2im<float, int>" in text
    with pytest.raises(KeyError, match="declares no kernel 'gf_nope'"):
        static_kernel("conv.cu", "gf_nope")


def test_every_cuda_helper_a_template_names_is_defined():
    from graphflow_cupy.source import common
    helpers = set()
    for t in EXPRESSIONS.op_types():
        helpers |= set(re.findall(r"\bgf_\w+", EXPRESSIONS.get(t).template))
    header = common()
    assert len(helpers) > 15
    assert not [h for h in helpers if not re.search(rf"\b{h}\b", header)]
