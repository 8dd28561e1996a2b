"""The Keras 3 half of graphflow's interoperability tests; run by the Python of a venv
that has Keras 3 (see keras3_env.py), never imported by graphflow's own tests.

    python keras3_side.py write OUT   # Keras 3 writes models, weights and expectations to OUT
    python keras3_side.py read DIR    # Keras 3 loads what graphflow wrote to DIR (see its plan.json)
    python keras3_side.py write OUT read DIR   # both, in one process (one import of Keras and jax)

Data, models and step counts are fixed here and in plan.json, so both sides compute the
same things; each side writes what it computed as .npz files for the test to compare.
"""
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")  # jax can train; numpy only predicts

import keras  # noqa: E402
import numpy as np  # noqa: E402

STEPS = 3  # training steps after loading, compared between the two sides


def data():
    r = np.random.default_rng(7)
    return {"x": r.random((6, 6, 6, 1)).astype("float32"),
            "y": np.eye(3, dtype="float32")[r.integers(0, 3, 6)],
            "a": r.random((5, 4)).astype("float32"), "b": r.random((5, 3)).astype("float32"),
            "t": r.random((5, 2)).astype("float32"),
            "v": r.random((3, 4, 5, 6, 2)).astype("float32"), "s": r.random((3, 3, 4)).astype("float32")}


def cnn():
    return keras.Sequential([
        keras.Input((6, 6, 1), name="image"),
        keras.layers.Conv2D(2, (3, 3), activation="relu", name="conv"),
        keras.layers.BatchNormalization(name="norm"),
        keras.layers.MaxPooling2D((2, 2), name="pool"),
        keras.layers.Dropout(0.25, name="drop"),
        keras.layers.Flatten(name="flat"),
        keras.layers.Dense(3, activation="softmax", name="probs"),
    ], name="cnn")


def functional():
    a = keras.Input((4,), name="a")
    b = keras.Input((3,), name="b")
    h = keras.layers.Dense(3, activation="tanh", name="h")(a)
    joined = keras.layers.Concatenate(name="join")([h, b])
    act = keras.layers.Activation("relu", name="act")(joined)
    out = keras.layers.Dense(2, name="out")(act)
    return keras.Model([a, b], out, name="two_inputs")


def volumes():
    """The later Keras 2.0.6 layers that Keras 3 still has: the 3-D family (Conv3DTranspose too), TimeDistributed
    and Dot (tests/keras/test_saving_keras3.py builds the same in graphflow)."""
    L = keras.layers
    v, s = keras.Input((4, 5, 6, 2), name="volume"), keras.Input((3, 4), name="steps")
    h = L.Conv3D(3, (2, 2, 3), padding="same", activation="relu", name="conv3d")(v)
    h = L.Conv3DTranspose(2, (2, 2, 2), strides=(1, 2, 1), name="deconv3d")(h)
    h = L.MaxPooling3D((2, 2, 2), name="max3d")(L.ZeroPadding3D(((1, 0), 1, (0, 1)), name="pad3d")(h))
    h = L.Cropping3D(((0, 1), (1, 1), 0), name="crop3d")(L.UpSampling3D((1, 2, 1), name="up3d")(h))
    h = L.SpatialDropout3D(0.2, name="sdrop3d")(L.AveragePooling3D(2, strides=1, padding="same", name="avg3d")(h))
    c = L.Conv3D(2, (1, 2, 2), strides=(1, 2, 1), data_format="channels_first", name="conv3d_cf")(h)
    pooled = L.Concatenate(name="join")([L.GlobalMaxPooling3D(name="gmax3d")(h),
                                         L.GlobalAveragePooling3D(name="gavg3d")(c)])
    t = L.Flatten(name="flat")(L.TimeDistributed(L.Dense(3, activation="tanh"), name="td")(s))
    d1, d2 = L.Dense(4, name="d1")(pooled), L.Dense(4, name="d2")(t)
    return keras.Model([v, s], [d1, L.Dot(axes=1, normalize=True, name="dot")([d1, d2])], name="volumes")


def predict(model, x):
    """The model called eagerly: ``model.predict`` would compile a function per model."""
    out = model(x, training=False)
    return [np.asarray(o) for o in out] if isinstance(out, (list, tuple)) else np.asarray(out)


def steps(model, x, y, n=STEPS):
    for _ in range(n):
        model.train_on_batch(x, y)
    return [np.asarray(w) for w in model.get_weights()]


def write(out):
    """Keras 3 trains two small models a little, saves them, then trains on and records
    where it got, so graphflow can load the files and check that it gets there too."""
    os.makedirs(out, exist_ok=True)
    keras.utils.set_random_seed(1)
    d = data()
    expected = {k: v for k, v in d.items()}
    model = cnn()
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    steps(model, d["x"], d["y"], 2)
    model.save(os.path.join(out, "cnn.h5"))
    model.save_weights(os.path.join(out, "cnn.weights.h5"))
    with open(os.path.join(out, "cnn.json"), "w") as f:
        f.write(model.to_json())
    expected["cnn_predict"] = predict(model, d["x"])
    # BatchNormalization's batch statistics and Dropout make steps differ: continue without them
    steps_model = keras.Sequential([keras.Input((4,), name="v"), keras.layers.Dense(3, activation="relu", name="d1"),
                                    keras.layers.Dense(2, name="d2")], name="mlp")
    for name, optimizer in (("sgd", keras.optimizers.SGD(learning_rate=0.1, momentum=0.9)),
                            ("adam", keras.optimizers.Adam(learning_rate=0.01))):
        clone = keras.models.clone_model(steps_model)
        clone.set_weights(steps_model.get_weights())
        clone.compile(optimizer=optimizer, loss="mean_squared_error")
        steps(clone, d["a"], d["t"], 2)
        clone.save(os.path.join(out, f"mlp_{name}.h5"))
        for i, w in enumerate(steps(clone, d["a"], d["t"])):
            expected[f"mlp_{name}_after_{i}"] = w
    model = functional()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mean_squared_error")
    steps(model, [d["a"], d["b"]], d["t"], 2)
    model.save(os.path.join(out, "functional.h5"))
    with open(os.path.join(out, "functional.json"), "w") as f:
        f.write(model.to_json())
    expected["functional_predict"] = predict(model, [d["a"], d["b"]])
    model = volumes()
    model.compile(optimizer="rmsprop", loss=["mean_squared_error", "mean_squared_error"])
    model.save(os.path.join(out, "volumes.h5"))
    model.save_weights(os.path.join(out, "volumes.weights.h5"))
    for i, value in enumerate(predict(model, [d["v"], d["s"]])):
        expected[f"volumes_predict_{i}"] = value
    np.savez(os.path.join(out, "expected.npz"), keras_version=keras.__version__, **expected)
    print(f"Keras {keras.__version__} wrote {sorted(os.listdir(out))}")


def read(directory):
    """Keras 3 loads what graphflow wrote (plan.json lists it) and records predictions,
    and the weights after training on from the restored optimizer state."""
    with open(os.path.join(directory, "plan.json")) as f:
        plan = json.load(f)
    results = {}
    for item in plan["models"]:
        path, inputs = os.path.join(directory, item["file"]), [np.load(os.path.join(directory, n)) for n in item["inputs"]]
        x = inputs if len(inputs) > 1 else inputs[0]
        for compile in (False, True):
            model = keras.models.load_model(path, compile=compile)
            outputs = predict(model, x)
            for i, out in enumerate(outputs if isinstance(outputs, list) else [outputs]):
                results[f"{item['name']}_compile{int(compile)}_{i}"] = out
        if item.get("train"):
            y = np.load(os.path.join(directory, item["train"]))
            # Keras 3.x's legacy-h5 loader builds the optimizer without the model's variables,
            # so slots are restored by hand from the file's optimizer_weights, in its order
            model = keras.models.load_model(path, compile=False)
            restore_optimizer(model, path)
            for i, w in enumerate(steps(model, x, y)):
                results[f"{item['name']}_after_{i}"] = w
    for item in plan.get("weights", []):
        if "json" in item:  # the architecture from graphflow's to_json
            with open(os.path.join(directory, item["json"])) as f:
                model = keras.models.model_from_json(f.read())
        else:
            model = keras.models.load_model(os.path.join(directory, item["model"]), compile=False)
        model.load_weights(os.path.join(directory, item["file"]))
        inputs = [np.load(os.path.join(directory, n)) for n in item["inputs"]]
        outputs = predict(model, inputs if len(inputs) > 1 else inputs[0])
        for i, out in enumerate(outputs if isinstance(outputs, list) else [outputs]):
            results[f"{item['name']}_weights_{i}"] = out
    np.savez(os.path.join(directory, "keras3_results.npz"), **results)
    print(f"Keras {keras.__version__} read {len(plan['models'])} models")


def restore_optimizer(model, path):
    """Compile ``model`` with the file's optimizer and put the file's optimizer_weights
    into it, in their order (what Keras 3's own loader means to do)."""
    import h5py
    with h5py.File(path, "r") as f:
        config = json.loads(f.attrs["training_config"])["optimizer_config"]
        group = f["optimizer_weights"]
        names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]]
        values = [np.asarray(group[n]) for n in names]
    optimizer = keras.optimizers.deserialize(config)
    model.compile(optimizer=optimizer, loss="mean_squared_error")
    optimizer.build(model.trainable_variables)
    optimizer.set_weights(values)
    if len(optimizer.variables) != len(values):
        raise SystemExit(f"optimizer has {len(optimizer.variables)} variables, the file {len(values)}")


if __name__ == "__main__":
    for command, folder in zip(sys.argv[1::2], sys.argv[2::2]):
        {"write": write, "read": read}[command](folder)
