"""Which of Keras 2.0.6's own test files run against graphflow.keras, and which of their
tests are left out, each with the reason (docs/keras.md lists the same, a test checks).

Left out: what needs recurrent layers or masking (graphflow has neither), TensorFlow- or
Theano-only features, and 3-D layers (graphflow has 2-D convolution and pooling only).
"""

FILES = [
    "tests/keras/layers/core_test.py",
    "tests/keras/layers/convolutional_test.py",   # 2.0.6 keeps the pooling tests here
    "tests/keras/optimizers_test.py",
    "tests/keras/test_callbacks.py",
    "tests/keras/layers/advanced_activations_test.py",
    "tests/keras/layers/embeddings_test.py",
]

EXCLUDED = {
    "tests/keras/layers/core_test.py::test_masking":
        "Masking: masks serve recurrent layers, which graphflow does not have",
    "tests/keras/layers/convolutional_test.py::test_convolution_3d":
        "Conv3D: graphflow has 2-D convolution only",
    "tests/keras/layers/convolutional_test.py::test_maxpooling_3d":
        "MaxPooling3D: graphflow has 2-D pooling only",
    "tests/keras/layers/convolutional_test.py::test_averagepooling_3d":
        "AveragePooling3D: graphflow has 2-D pooling only",
    "tests/keras/layers/convolutional_test.py::test_globalpooling_3d":
        "GlobalPooling3D: graphflow has 2-D pooling only",
    "tests/keras/layers/convolutional_test.py::test_zero_padding_3d":
        "ZeroPadding3D: 3-D layers are not in graphflow",
    "tests/keras/layers/convolutional_test.py::test_upsampling_3d":
        "UpSampling3D: 3-D layers are not in graphflow",
    "tests/keras/layers/convolutional_test.py::test_cropping_3d":
        "Cropping3D: 3-D layers are not in graphflow",
    "tests/keras/optimizers_test.py::test_tfoptimizer":
        "TFOptimizer wraps a TensorFlow optimizer (TensorFlow only)",
    "tests/keras/test_callbacks.py::test_TensorBoard":
        "TensorBoard writes TensorFlow summaries (TensorFlow only)",
    "tests/keras/test_callbacks.py::test_TensorBoard_convnet":
        "TensorBoard writes TensorFlow summaries (TensorFlow only)",
    "tests/keras/test_callbacks.py::test_TensorBoard_multi_input_output":
        "TensorBoard writes TensorFlow summaries (TensorFlow only)",
    "tests/keras/test_callbacks.py::test_RemoteMonitor":
        "RemoteMonitor posts to a web server (needs `requests` and a network)",
}
