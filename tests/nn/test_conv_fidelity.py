"""Faithful by default: conv -> ReLU -> conv -> ReLU on real digits against a float64
reference of direct sums. Outputs whose receptive field is all zeros are exactly the
bias, every ReLU decision matches float64 (except where the float64 value lies within
float32 rounding of zero, counted and kept rare), every gradient is within 1e-5 (relative
norm); and the opt-in ``winograd-fast`` mode really does lose those zeros (so the checks
can fail)."""
from __future__ import annotations

import numpy as np
import pytest

import graphflow as gf
from graphflow.keras.datasets import mnist

import fidelity_reference as ref

N, C1, C2 = 12, 8, 16
TIE = 1e-5   # a float64 pre-activation this close to 0 (times the layer's largest) is a tie in float32


@pytest.fixture(scope="module")
def digits():
    (x, _), _ = mnist.load_data()
    return (x[:N, :, :, None] / 255.0).astype(np.float32)


def _weights(bias, seed=0):
    rng = np.random.default_rng(seed)

    def glorot(shape):
        lim = np.sqrt(6 / (9 * shape[2] + 9 * shape[3]))
        return rng.uniform(-lim, lim, shape).astype(np.float32)
    k1, k2 = glorot((3, 3, 1, C1)), glorot((3, 3, C1, C2))
    if bias == "zero":  # Keras' default: a zero window gives exactly 0
        return k1, np.zeros(C1, np.float32), k2, np.zeros(C2, np.float32)
    return k1, rng.normal(0, .1, C1).astype(np.float32), k2, rng.normal(0, .1, C2).astype(np.float32)


def _chain(padding):
    """float32 graph: the two pre-activations and the gradients of sum(relu(z2) * r)."""
    x = gf.placeholder((None, 28, 28, 1), "float32", name="x")
    k1, b1 = gf.placeholder((3, 3, 1, C1), "float32"), gf.placeholder((C1,), "float32")
    k2, b2 = gf.placeholder((3, 3, C1, C2), "float32"), gf.placeholder((C2,), "float32")
    r = gf.placeholder((None, None, None, C2), "float32")
    z1 = gf.nn.conv2d(x, k1, padding=padding) + b1
    z2 = gf.nn.conv2d(gf.relu(z1), k2, padding=padding) + b2
    loss = gf.sum(gf.relu(z2) * r)
    return gf.function([x, k1, b1, k2, b2, r], [z1, z2] + gf.grad(loss, [k1, b1, k2, b2]))


def _run(digits, padding, bias, algo, monkeypatch, precision=None):
    monkeypatch.setenv("GRAPHFLOW_CONV", algo)
    if precision:
        monkeypatch.setenv("GRAPHFLOW_CONV_PRECISION", precision)
    p = 1 if padding == "same" else 0
    w = _weights(bias)
    hw = 28 if p else 24
    r = np.random.default_rng(1).standard_normal((N, hw, hw, C2)).astype(np.float32)
    outs = _chain(padding)(digits, *w, r)
    return p, w, r, outs


def _decisions(z32, z64):
    """(float32 decisions as float64 takes them, count of ties, count of mismatches off the ties)."""
    tie = (z64 != 0) & (np.abs(z64) <= TIE * np.abs(z64).max())
    mismatch = ((z32 > 0) != (z64 > 0)) & ~tie
    return np.where(tie, z32 > 0, z64 > 0), int(tie.sum()), int(mismatch.sum())


@pytest.mark.parametrize("algo", ["auto", "winograd", "winograd2"])
@pytest.mark.parametrize("padding,bias", [("valid", "zero"), ("same", "zero"), ("same", "random")])
def test_conv_relu_chain_matches_float64_on_digits(digits, padding, bias, algo, monkeypatch):
    p, (k1, b1, k2, b2), r, (z1, z2, *grads) = _run(digits, padding, bias, algo, monkeypatch)
    w1, w2 = ref.forward(digits, k1, b1, k2, b2, p)
    h1 = np.maximum(w1, 0)
    # outputs whose receptive field is all zeros: exactly the bias, bit for bit
    for z, x, b in ((z1, digits, b1), (z2, np.maximum(z1, 0), b2)):
        empty = ref.zero_windows(x, p)
        assert empty.any() or bias == "random"  # a positive bias leaves no zero window
        np.testing.assert_array_equal(z[empty], np.broadcast_to(b, z.shape)[empty])
    assert ref.zero_windows(h1, p).sum() == ref.zero_windows(np.maximum(z1, 0), p).sum()
    masks = []
    for z32, z64 in ((z1, w1), (z2, w2)):
        m, ties, wrong = _decisions(z32, z64)
        assert wrong == 0, f"{wrong} ReLU decisions differ from float64 ({ties} ties)"
        assert ties <= 1e-3 * z64.size
        masks.append(m)
    want = ref.gradients(digits, k1, b1, k2, b2, r, p, w1, masks)
    for name, got, exp in zip(("k1", "b1", "k2", "b2"), grads, want):
        err = np.linalg.norm(got - exp) / np.linalg.norm(exp)
        assert err <= 1e-5, f"d{name}: relative error {err:.2e}"


def test_the_fast_mode_loses_exact_zeros_and_says_so(digits, monkeypatch):
    """What the opt-in trades: zero windows come out non-zero (and then flip ReLUs), which
    the default keeps. Also: the mode is the one in force at compile time, in the report."""
    *_, (z1, z2, *_) = _run(digits, "valid", "zero", "winograd", monkeypatch, "winograd-fast")
    empty = ref.zero_windows(np.maximum(z1, 0), 0)
    assert np.count_nonzero(z2[empty]) > 0.05 * empty.sum()
    monkeypatch.delenv("GRAPHFLOW_CONV_PRECISION")
    gf.set_conv_precision("winograd-fast")
    try:
        fast = _chain("valid")
    finally:
        gf.set_conv_precision(None)
    exact = _chain("valid")
    assert (fast.conv_precision, exact.conv_precision) == ("winograd-fast", "exact")
    assert "conv precision winograd-fast" in fast.program.report.format()


def test_the_precision_setting_is_checked(monkeypatch):
    with pytest.raises(ValueError, match="'exact', 'winograd-fast'"):
        gf.set_conv_precision("fast")
    monkeypatch.setenv("GRAPHFLOW_CONV_PRECISION", "turbo")
    with pytest.raises(ValueError, match="GRAPHFLOW_CONV_PRECISION"):
        gf.conv_precision()
