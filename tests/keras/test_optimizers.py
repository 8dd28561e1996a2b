"""Optimizers: each update rule against a NumPy reference of the Keras 2.0.6 formula,
over several steps, plus decay, clipping, constructor rules and state."""
import numpy as np
import pytest

import graphflow as gf
from graphflow.keras import backend as K
from graphflow.keras import optimizers
from graphflow.keras.layers import Dense
from graphflow.keras.models import Sequential

C = np.array([0.5, -1.0, 2.0], "float32")
W0 = np.array([1.0, -2.0, 0.25], "float32")


def steps(opt, n=4, constraint=None):
    """Run ``n`` steps on loss = sum(c * w) + sum(w**2)/2 (gradient c + w); return the
    weights after each step."""
    w = gf.variable(W0.copy(), name="w")
    loss = gf.sum(gf.constant(C) * w) + 0.5 * gf.sum(gf.square(w))
    updates = opt.get_updates(loss, [w], {w: constraint} if constraint else None)
    f = gf.function([], loss, updates=updates)
    out = []
    for _ in range(n):
        f()
        out.append(w.get_value())
    return out


def reference(rule, n=4, **hyper):
    w, state, out = W0.astype(np.float64), {}, []
    for t in range(n):
        w = rule(w, C + w, state, t, **hyper)
        out.append(w.copy())
    return out


def sgd_ref(w, g, s, t, lr=0.01, momentum=0.0, decay=0.0, nesterov=False):
    lr_t = lr / (1 + decay * t)
    v = momentum * s.get("m", 0) - lr_t * g
    s["m"] = v
    return w + momentum * v - lr_t * g if nesterov else w + v


def rmsprop_ref(w, g, s, t, lr=0.001, rho=0.9, eps=1e-8, decay=0.0):
    s["a"] = rho * s.get("a", 0) + (1 - rho) * g ** 2
    return w - lr / (1 + decay * t) * g / (np.sqrt(s["a"]) + eps)


def adagrad_ref(w, g, s, t, lr=0.01, eps=1e-8):
    s["a"] = s.get("a", 0) + g ** 2
    return w - lr * g / (np.sqrt(s["a"]) + eps)


def adadelta_ref(w, g, s, t, lr=1.0, rho=0.95, eps=1e-8):
    s["a"] = rho * s.get("a", 0) + (1 - rho) * g ** 2
    u = g * np.sqrt(s.get("d", 0) + eps) / np.sqrt(s["a"] + eps)
    s["d"] = rho * s.get("d", 0) + (1 - rho) * u ** 2
    return w - lr * u


def adam_ref(w, g, s, t, lr=0.001, b1=0.9, b2=0.999, eps=1e-8, decay=0.0):
    step = t + 1
    lr_t = lr / (1 + decay * t) * np.sqrt(1 - b2 ** step) / (1 - b1 ** step)
    s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0) + (1 - b2) * g ** 2
    return w - lr_t * s["m"] / (np.sqrt(s["v"]) + eps)


def adamax_ref(w, g, s, t, lr=0.002, b1=0.9, b2=0.999, eps=1e-8):
    lr_t = lr / (1 - b1 ** (t + 1))
    s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
    s["u"] = np.maximum(b2 * s.get("u", 0), np.abs(g))
    return w - lr_t * s["m"] / (s["u"] + eps)


def nadam_ref(w, g, s, t, lr=0.002, b1=0.9, b2=0.999, eps=1e-8, sd=0.004):
    step = t + 1
    mu_t = b1 * (1 - 0.5 * 0.96 ** (step * sd))
    mu_next = b1 * (1 - 0.5 * 0.96 ** ((step + 1) * sd))
    s["sched"] = s.get("sched", 1.0) * mu_t
    s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0) + (1 - b2) * g ** 2
    m_bar = (1 - mu_t) * g / (1 - s["sched"]) + mu_next * s["m"] / (1 - s["sched"] * mu_next)
    return w - lr * m_bar / (np.sqrt(s["v"] / (1 - b2 ** step)) + eps)


@pytest.mark.parametrize("opt, rule, hyper", [
    (lambda: optimizers.SGD(lr=0.1), sgd_ref, {"lr": 0.1}),
    (lambda: optimizers.SGD(lr=0.1, momentum=0.9), sgd_ref, {"lr": 0.1, "momentum": 0.9}),
    (lambda: optimizers.SGD(lr=0.1, momentum=0.9, nesterov=True, decay=0.5), sgd_ref,
     {"lr": 0.1, "momentum": 0.9, "nesterov": True, "decay": 0.5}),
    (lambda: optimizers.RMSprop(lr=0.01, decay=0.3), rmsprop_ref, {"lr": 0.01, "decay": 0.3}),
    (lambda: optimizers.Adagrad(), adagrad_ref, {}),
    (lambda: optimizers.Adadelta(), adadelta_ref, {}),
    (lambda: optimizers.Adam(lr=0.01, decay=0.1), adam_ref, {"lr": 0.01, "decay": 0.1}),
    (lambda: optimizers.Adamax(), adamax_ref, {}),
    (lambda: optimizers.Nadam(), nadam_ref, {}),
], ids=["sgd", "momentum", "nesterov_decay", "rmsprop_decay", "adagrad", "adadelta", "adam_decay", "adamax",
        "nadam"])
def test_update_rules_match_keras2(opt, rule, hyper):
    got = steps(opt())
    want = reference(rule, **hyper)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=2e-5, atol=1e-7)


def test_epsilon_outside_the_sqrt():
    """Keras 2: a tiny gradient (1e-6) with RMSprop moves the weight by ~3e-3 =
    lr*g/(sqrt(0.1)*g + 1e-8), not by ~1e-5 as eps-inside-the-sqrt (Keras 3) would."""
    w = gf.variable(np.array([0.0], "float32"))
    loss = gf.sum(1e-6 * w)
    f = gf.function([], loss, updates=optimizers.RMSprop(lr=0.001).get_updates(loss, [w]))
    f()
    np.testing.assert_allclose(w.get_value(), [-0.001 * 1e-6 / (np.sqrt(0.1) * 1e-6 + 1e-8)], rtol=1e-4)


def test_iterations_count_and_weights_order():
    opt = optimizers.SGD(lr=0.1, momentum=0.5)
    steps(opt, n=3)
    assert float(K.get_value(opt.iterations)) == 3.0
    assert len(opt.weights) == 2 and opt.weights[0] is opt.iterations
    adam = optimizers.Adam()
    steps(adam, n=2)
    assert len(adam.get_weights()) == 3  # iterations, m, v
    rms = optimizers.RMSprop()
    steps(rms, n=1)
    assert len(rms.weights) == 1  # Keras 2.0.6: accumulators only
    values = adam.get_weights()
    values[0] = np.float32(7)
    adam.set_weights(values)
    assert float(adam.iterations.get_value()) == 7
    with pytest.raises(ValueError, match="expecting 3 weights"):
        adam.set_weights(values[:1])


def test_constraint_applied_after_update():
    got = steps(optimizers.SGD(lr=0.1), n=1, constraint=lambda w: gf.clip(w, -0.5, 0.5))
    np.testing.assert_allclose(got[0], np.clip(W0 - 0.1 * (C + W0), -0.5, 0.5), rtol=1e-6)


def test_clipnorm_and_clipvalue():
    g = C + W0
    got = steps(optimizers.SGD(lr=1.0, clipnorm=0.5), n=1)[0]
    np.testing.assert_allclose(got, W0 - g * 0.5 / np.linalg.norm(g), rtol=1e-5)
    got = steps(optimizers.SGD(lr=1.0, clipvalue=0.3), n=1)[0]
    np.testing.assert_allclose(got, W0 - np.clip(g, -0.3, 0.3), rtol=1e-6)


def test_constructor_rules():
    assert float(K.get_value(optimizers.SGD().lr)) == pytest.approx(0.01)
    assert optimizers.SGD(learning_rate=0.5).get_config()["lr"] == 0.5  # Keras 3 spelling
    with pytest.raises(TypeError, match="not both"):
        optimizers.SGD(lr=0.1, learning_rate=0.1)
    with pytest.raises(TypeError, match="Unexpected keyword argument passed to optimizer: beta"):
        optimizers.SGD(beta=1)
    assert isinstance(optimizers.get("adam"), optimizers.Adam)
    assert isinstance(optimizers.get("RMSprop"), optimizers.RMSprop)
    config = optimizers.SGD(lr=0.01, decay=1e-6, momentum=0.9, nesterov=True).get_config()
    assert config == pytest.approx({"lr": 0.01, "momentum": 0.9, "decay": 1e-6, "nesterov": True})
    again = optimizers.deserialize({"class_name": "SGD", "config": config})
    assert again.nesterov and again.get_config() == pytest.approx(config)
    with pytest.raises(ValueError, match="Unknown optimizer"):
        optimizers.get("nadamish")


def test_lr_variable_changes_training_step():
    model = Sequential([Dense(1, input_dim=2, kernel_initializer="zeros", use_bias=False)])
    model.compile(optimizers.SGD(lr=0.1), "mse")
    x, y = np.ones((4, 2), "float32"), np.ones((4, 1), "float32")
    K.set_value(model.optimizer.lr, 0.0)
    model.train_on_batch(x, y)
    assert np.all(model.get_weights()[0] == 0)
    K.set_value(model.optimizer.learning_rate, 0.25)
    model.train_on_batch(x, y)
    np.testing.assert_allclose(model.get_weights()[0], [[0.5], [0.5]], rtol=1e-6)  # grad = -2 per weight


def _two_class_task():
    """The task of Keras 2.0.6's optimizers_test: 1,000 samples of 10 features, each drawn
    around its class label (0 or 1) with standard deviation 0.7; one-hot targets."""
    rng = np.random.RandomState(1337)
    y = rng.randint(0, 2, size=1000)
    x = rng.normal(loc=y[:, None], scale=0.7, size=(1000, 10)).astype("float32")
    return x, np.eye(2, dtype="float32")[y]


@pytest.mark.parametrize("make, target", [(lambda: optimizers.RMSprop(), 0.75),
                                          (lambda: optimizers.Adadelta(), 0.6),
                                          (lambda: optimizers.Adam(), 0.75),
                                          (lambda: optimizers.Adamax(), 0.75)],
                         ids=["rmsprop", "adadelta", "adam", "adamax"])
def test_optimizers_train_keras2s_task_over_several_draws(make, target):
    """Keras 2.0.6's own optimizers_test: two epochs (batches of 16) must reach ``target``
    training accuracy. Whether one draw of the initial weights gets there is luck (Keras 3
    on jax misses 0.75 in 4 of 12 draws with RMSprop, 5 with Adam; its medians are 0.79 and
    0.76), so the median of seven draws is checked; and the optimizer's config survives
    serialize / deserialize."""
    x, y = _two_class_task()
    accuracies = []
    for seed in range(7):
        gf.set_random_seed(seed)
        model = Sequential([Dense(10, input_shape=(10,), activation="relu"), Dense(2, activation="softmax")])
        optimizer = make()
        model.compile(optimizer, "categorical_crossentropy", metrics=["accuracy"])
        accuracies.append(model.fit(x, y, epochs=2, batch_size=16, verbose=0).history["acc"][-1])
    assert np.median(accuracies) >= target, accuracies
    config = optimizers.serialize(optimizer)
    again = optimizers.serialize(optimizers.deserialize(config))  # lowercases config's class name, as 2.0.6
    assert {**again, "class_name": again["class_name"].lower()} == config
