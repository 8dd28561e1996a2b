"""The model engine of ``graphflow.keras``: layers, topology, training loops, progress bar.

Interface used by ``graphflow.keras.saving`` and ``graphflow.keras.utils`` (and anyone
saving or drawing models):

* ``model.get_config()`` -> Keras 2 config; ``Sequential.get_config()`` is a LIST of
  ``{class_name, config}`` (2.0.6 layout), ``Model.get_config()`` a dict ``{name, layers:
  [{name, class_name, config, inbound_nodes}], input_layers, output_layers}``.
  ``graphflow.keras.models.model_from_config({class_name, config}, custom_objects)``,
  ``Sequential.from_config`` / ``Model.from_config`` rebuild; ``model.to_json()``.
* ``model.layers`` (Sequential: without its InputLayer; functional: with them),
  ``model.input_layers``, ``layer.name``, ``layer.inbound_nodes[i].inbound_layers``,
  ``layer.input_shape`` / ``output_shape``.
* ``layer.weights``: graphflow Variables (``get_value`` / ``set_value``) in Keras order
  (kernel, bias; gamma, beta, moving_mean, moving_variance); variable names are
  ``<layer name>/<weight name>`` (graphflow appends ``_1``... if the same name was made
  before in the process); ``layer.weight_names`` gives 'conv2d_1/kernel:0' spellings.
* ``model.optimizer`` (``get_config()``, ``weights`` = Keras 2.0.6 order, e.g. SGD:
  [iterations] + momenta, Adam: [iterations] + ms + vs, RMSprop/Adagrad: accumulators;
  ``get_weights`` / ``set_weights``); the slot variables exist once the train function
  is built: ``model._make_train_function()`` (compile() builds it).
* ``model.loss``, ``model.metrics`` (as passed to compile), ``model.loss_weights``,
  ``model.sample_weight_mode``, ``model.metrics_names`` (['loss', 'acc']).
* ``graphflow.keras.layers.deserialize(config, custom_objects)``; the layer classes by
  name: ``graphflow.keras.layers.get_class(name)``.
* ``model.step_options`` (a ``StepOptions``): what callbacks ask of ``fit``'s training
  step (``check_numerics``, ``stop_on_numerics_error``); ``fit`` resets it when it ends.
"""
from .base_layer import Layer  # noqa: F401
from .node import KerasTensor, Node  # noqa: F401
from .input_layer import Input, InputLayer  # noqa: F401
from .network import Network  # noqa: F401
from .progbar import Progbar  # noqa: F401
from .step_options import StepOptions  # noqa: F401
from .training import Model  # noqa: F401
