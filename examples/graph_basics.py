#!/usr/bin/env python3
"""Graph basics: declare a computation, compile it, run it — the seed note's first lesson,
done symbolically.

The Keras 2 study note this project grew from asks its reader to run

    a = np.array([[1, 2], [3, 4]])
    np.sum(a, axis=0)     # [4 6]: along axis 0 you see the vectors [1, 2] and [3, 4]
    np.sum(a, axis=1)     # [3 7]: along axis 1 you see [1, 3] and [2, 4]

and explains that Theano and TensorFlow work *symbolically*: "first define the variables,
then build a computation graph that fixes how they relate; the graph must be compiled,
and it is still an empty shell holding no data until inputs are put in." This script does
exactly that: it builds graphs (no numbers yet), prints them, compiles them with
``gf.function`` and only then feeds arrays. It ends with a matrix product, a softmax and
a gradient.

    .venv/bin/python examples/graph_basics.py
"""
import textwrap

import networkx as nx
import numpy as np

import graphflow as gf


def section(title):
    print(f"\n== {title}")


def show_graph(outputs):
    """Print a graph in run order: one line per node, with its static type."""
    g = gf.to_networkx(outputs)
    for name in nx.topological_sort(g):
        d = g.nodes[name]
        ins = [u for u, _ in sorted(g.in_edges(name), key=lambda e: g.edges[e]["index"])]
        args = f"({', '.join(ins)})" if d["kind"] == "op" else ""
        print(f"   {name:<28} {d['label'] if d['kind'] == 'op' else d['kind']}{args}")


def sums_along_axes():
    section("1. np.sum(a, axis=0/1), symbolically")
    a = gf.placeholder((None, None), dtype="int64", name="a")   # any matrix of integers
    sum0 = gf.sum(a, axis=0)
    sum1 = a.sum(axis=1)
    print(f"   a    : {a.type}     (a placeholder: a name, a dtype, a shape; no data)")
    print(f"   sum0 : {sum0.type}   sum1 : {sum1.type}   (shapes inferred, ? = known at run time)")
    f = gf.function([a], [sum0, sum1])          # compile once...
    data = np.array([[1, 2], [3, 4]])
    s0, s1 = f(data)                            # ...then run on data
    print(f"   f([[1, 2], [3, 4]]) -> sum0 = {s0}, sum1 = {s1}")
    assert s0.tolist() == np.sum(data, axis=0).tolist() and s1.tolist() == np.sum(data, axis=1).tolist()
    s0, s1 = f(np.arange(9).reshape(3, 3))
    print(f"   the same compiled function on a 3x3 matrix: sum0 = {s0}, sum1 = {s1}")


def matrix_product_and_softmax():
    section("2. a dense layer: matrix product, bias, softmax")
    rng = np.random.default_rng(0)
    x = gf.placeholder((None, 4), name="x")                       # a batch of 4-feature rows
    W = gf.variable(rng.standard_normal((4, 3)).astype(np.float32), name="W")
    b = gf.variable(np.zeros(3, np.float32), name="b")
    with gf.name_scope("dense"):
        logits = x @ W + b
        probs = gf.nn.softmax(logits, axis=-1)
    print(f"   logits : {logits.type}   probs : {probs.type}")
    show_graph(probs)
    predict = gf.function([x], probs)
    batch = rng.standard_normal((2, 4)).astype(np.float32)
    p = predict(batch)
    ref = np.exp(batch @ W.get_value())
    ref /= ref.sum(axis=1, keepdims=True)
    print("   probs =\n" + textwrap.indent(np.array2string(p, precision=4), "     "))
    print(f"   rows sum to {np.round(p.sum(axis=1), 6)}; max |graphflow - NumPy| = {np.abs(p - ref).max():.2e}")
    return x, W, b, probs


def a_gradient(x, W, b, probs):
    section("3. a gradient is more graph")
    target = gf.placeholder((None, 3), name="target")
    loss = gf.mean(-gf.sum(target * gf.log(probs), axis=1))      # cross-entropy
    gW, gb = gf.grad(loss, [W, b])
    print(f"   loss : {loss.type}   dloss/dW : {gW.type}   dloss/db : {gb.type}")
    f = gf.function([x, target], [loss, gW, gb])
    rng = np.random.default_rng(1)
    batch = rng.standard_normal((5, 4)).astype(np.float32)
    onehot = np.eye(3, dtype=np.float32)[[0, 2, 1, 1, 0]]
    value, dW, db = f(batch, onehot)
    print(f"   loss = {value:.4f}   dloss/db = {np.round(db, 4)}")
    # softmax + cross-entropy has the well-known gradient (p - t) / n with respect to the logits
    logits = batch @ W.get_value() + b.get_value()
    pr = np.exp(logits - logits.max(1, keepdims=True))
    pr /= pr.sum(1, keepdims=True)
    print(f"   matches the textbook (p - t)/n: {np.allclose(db, (pr - onehot).mean(0), atol=1e-6)}")
    print(f"   {f!r}\n")
    f.report()  # what the compiler did: it spotted log(softmax) and fused the cross-entropy


def main():
    print("graphflow", gf.__version__, "- backends:",
          ", ".join(f"{i.name} ({'ok' if i.available else i.reason})" for i in gf.backends.available()))
    sums_along_axes()
    a_gradient(*matrix_product_and_softmax())


if __name__ == "__main__":
    main()
