"""A ``keras`` package that is graphflow.keras, for running Keras 2.0.6's own tests by
import swap. tests/keras2_suite copies this file to ``<tmp>/keras/__init__.py``.

Every module of graphflow.keras is registered under the matching ``keras.`` name, so
``from keras.layers import convolutional`` gets ``graphflow.keras.layers.convolutional``;
``keras.utils.test_utils`` is Keras 2.0.6's own file (``$GRAPHFLOW_KERAS2_TEST_UTILS``),
run against those modules.
"""
import importlib
import importlib.util
import os
import pkgutil
import sys

import graphflow.keras as _real

for _info in pkgutil.walk_packages(_real.__path__, "graphflow.keras."):
    try:
        importlib.import_module(_info.name)
    except ImportError:  # an optional dependency missing: that module is simply absent
        continue
for _name, _module in list(sys.modules.items()):
    if _name.startswith("graphflow.keras."):
        sys.modules["keras." + _name[len("graphflow.keras."):]] = _module

globals().update({k: v for k, v in vars(_real).items() if not k.startswith("__")})
for _name in ("utils", "datasets", "preprocessing", "saving", "engine"):
    globals()[_name] = importlib.import_module("graphflow.keras." + _name)

_spec = importlib.util.spec_from_file_location("keras.utils.test_utils", os.environ["GRAPHFLOW_KERAS2_TEST_UTILS"])
test_utils = importlib.util.module_from_spec(_spec)
sys.modules["keras.utils.test_utils"] = test_utils
_spec.loader.exec_module(test_utils)
utils.test_utils = test_utils
