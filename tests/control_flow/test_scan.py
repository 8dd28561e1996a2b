"""gf.scan: Theano's semantics, values against NumPy loops, gradients by finite differences."""
import numpy as np
import pytest

import graphflow as gf
from graphflow.testing import verify_grad


def _rnn_ref(X, H, W, U, backwards=False):
    h, out = H, []
    for t in (range(len(X) - 1, -1, -1) if backwards else range(len(X))):
        h = np.tanh(X[t] @ W + h @ U)
        out.append(h)
    return np.stack(out)


@pytest.mark.parametrize("backwards", [False, True])
def test_rnn_values_any_length_one_function(backwards):
    rng = np.random.default_rng(1)
    x = gf.placeholder((None, None, 3), name="x")
    h0 = gf.placeholder((None, 4), name="h0")
    W = rng.standard_normal((3, 4)).astype("float32")
    U = (0.3 * rng.standard_normal((4, 4))).astype("float32")
    w, u = gf.variable(W), gf.variable(U)
    hs = gf.scan(lambda xt, h: gf.tanh(xt @ w + h @ u), sequences=x, outputs_info=h0, go_backwards=backwards)
    assert isinstance(hs, gf.Tensor) and hs.shape == (None, None, 4)
    f = gf.function([x, h0], hs)
    for T, B in ((5, 2), (1, 3), (9, 2)):
        X = rng.standard_normal((T, B, 3)).astype("float32")
        H = rng.standard_normal((B, 4)).astype("float32")
        np.testing.assert_allclose(f(X, H), _rnn_ref(X, H, W, U, backwards), rtol=1e-5, atol=1e-6)


def test_argument_order_and_outputs_info_none():
    rng = np.random.default_rng(2)
    seen = []

    def step(a, b, prev, k):
        seen.append((a.shape, b.shape, prev.shape, k.shape))
        return [prev + a * k, (a * b).sum()]
    xa, xb = gf.placeholder((4, 3)), gf.placeholder((4, 3))
    k = gf.placeholder((3,))
    acc, dots = gf.scan(step, sequences=[xa, xb], outputs_info=[gf.zeros_like(k), None], non_sequences=k)
    assert seen == [((3,), (3,), (3,), (3,))]
    assert acc.shape == (4, 3) and dots.shape == (4,)
    A, B, K = (rng.standard_normal(s).astype("float32") for s in ((4, 3), (4, 3), (3,)))
    got_acc, got_dots = gf.function([xa, xb, k], [acc, dots])(A, B, K)
    np.testing.assert_allclose(got_acc, np.cumsum(A * K, axis=0), rtol=1e-5)
    np.testing.assert_allclose(got_dots, (A * B).sum(1), rtol=1e-5)


def test_n_steps_without_sequences_and_zero_steps():
    h0 = gf.placeholder((2,))
    n = gf.placeholder((), dtype="int64")
    powers = gf.scan(lambda h: h * 2.0, outputs_info=h0, n_steps=n)
    f = gf.function([h0, n], powers)
    np.testing.assert_allclose(f(np.ones(2, "float32"), 3), [[2, 2], [4, 4], [8, 8]])
    assert f(np.ones(2, "float32"), 0).shape == (0, 2)
    static = gf.scan(lambda h: h + 1.0, outputs_info=h0, n_steps=4)
    assert static.shape == (4, 2)


def test_gradients_bptt_wrt_sequences_initial_values_and_weights():
    rng = np.random.default_rng(3)

    def f(x, h0, w, u):
        return gf.scan(lambda xt, h, w: gf.tanh(xt @ w + h @ u), sequences=x, outputs_info=h0, non_sequences=w)
    verify_grad(f, [rng.standard_normal((4, 2, 3)), rng.standard_normal((2, 4)),
                    rng.standard_normal((3, 4)), 0.5 * rng.standard_normal((4, 4))])


def test_gradients_backwards_two_outputs_optimized():
    rng = np.random.default_rng(4)

    def f(x, h0, w):
        return gf.scan(lambda xt, h: [h * 0.9 + xt @ w, gf.sigmoid(h).sum(axis=1)], sequences=x,
                       outputs_info=[h0, None], go_backwards=True)
    args = [rng.standard_normal((4, 2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((3, 4))]
    verify_grad(f, args, optimize="O2")


def test_gradient_of_a_loop_is_a_loop():
    x = gf.placeholder((None, 3), name="x")
    h0 = gf.placeholder((3,), name="h0")
    hs = gf.scan(lambda xt, h: gf.tanh(xt * h), sequences=x, outputs_info=h0)
    g = gf.grad(hs.sum(), h0)
    loops = [n for n in gf.graph.toposort([g]) if n.op.bodies()]
    assert len(loops) == 2  # the forward loop and the backward loop: nothing unrolled
    assert any(n.op.reverse for n in loops)


def test_nested_scan_and_second_order():
    rng = np.random.default_rng(5)

    def nest(x, w):
        def outer(xt, acc):
            inner = gf.scan(lambda v, a: a + gf.tanh(v * w), sequences=xt, outputs_info=gf.zeros_like(xt[0]))
            return acc + inner[-1]
        return gf.scan(outer, sequences=x, outputs_info=gf.zeros_like(x[0, 0]))
    verify_grad(nest, [rng.standard_normal((3, 2, 4)), rng.standard_normal((4,))])

    def second(x, h0):
        hs = gf.scan(lambda xt, h: gf.tanh(xt * h), sequences=x, outputs_info=h0)
        return gf.gradients([hs.sum()], [h0])[0]
    verify_grad(second, [rng.standard_normal((3, 4)), rng.standard_normal((4,))])


def test_carried_output_must_match_its_initial_value():
    x = gf.placeholder((None, 3))
    h0 = gf.placeholder((4,))
    with pytest.raises(gf.GraphError, match=r"scan `rnn` \(made at .*test_scan.py:\d+\).*output 0 .*\(3,\).*\(4,\)"):
        gf.scan(lambda xt, h: xt * 2.0, sequences=x, outputs_info=h0, name="rnn")
    with pytest.raises(gf.GraphError, match="float64.*float32.*cast"):
        gf.scan(lambda xt, h: gf.cast(h, "float64"), sequences=x, outputs_info=h0)
    with pytest.raises(gf.GraphError, match="outputs_info has 2 entries but the step function returned 1"):
        gf.scan(lambda xt, h: h, sequences=x, outputs_info=[h0, None])


def test_run_time_shape_change_of_a_carried_value_names_the_loop():
    h0 = gf.placeholder((None,), name="h0")
    grow = gf.scan(lambda h: gf.concatenate([h, h]), outputs_info=h0, n_steps=3, name="doubling")
    f = gf.function([h0], grow)
    with pytest.raises(gf.FeedError, match=r"scan `doubling` \(made at .*test_scan.py:\d+\).*carried value 0 of shape"):
        f(np.ones(2, "float32"))


def test_step_function_errors_say_which_scan_was_traced():
    x = gf.placeholder((4, 3))
    with pytest.raises(gf.GraphError) as info:
        gf.scan(lambda xt: xt @ gf.placeholder((5, 2)), sequences=x, name="proj")
    assert "while tracing the step function of scan `proj`" in "".join(getattr(info.value, "__notes__", []))


def test_stacked_rows_are_right_when_a_kernel_ignores_its_out_buffer():
    from graphflow.runtime import loops
    x = gf.placeholder((None, 3))
    ys = gf.scan(lambda xt, h: gf.tanh(xt + h), sequences=x, outputs_info=gf.zeros_like(x[0]))
    f = gf.function([x], ys)
    (kernel,) = [run for run, *_ in f.executor._steps if isinstance(run, loops.LoopKernel)]
    assert kernel._direct  # the tanh writes straight into the rows
    k = next(iter(kernel._direct.values()))
    steps = kernel.body.ex._steps
    run = steps[k][0]
    steps[k] = (lambda *a, out=None: run(*a), *steps[k][1:])  # a kernel that returns fresh arrays
    kernel.body.ex.steps[k] = steps[k]
    X = np.random.default_rng(0).standard_normal((4, 3)).astype("float32")
    ref, h = [], np.zeros(3, "float32")
    for t in range(4):
        h = np.tanh(X[t] + h)
        ref.append(h)
    np.testing.assert_allclose(f(X), np.stack(ref), rtol=1e-6)
