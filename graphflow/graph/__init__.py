"""The IR: types, tensors, nodes, ops, scopes and traversal. Imports nothing else of ours."""
from .dtypes import as_dtype, is_bool, is_float, is_integer
from .errors import DisconnectedError, FeedError, GraphError, NonDifferentiableError
from .names import NameRuleError, check_name, check_path, derived_name, is_valid_name
from .node import Node, Workspace, active_workspace, apply, build_error, user_site
from .op import Op
from .scope import current_scope, name_scope
from .sources import Constant, Placeholder, Source, Variable, constant, placeholder, variable
from .tensor import Tensor, render_svg, set_svg_renderer
from .traversal import sources, to_networkx, toposort
from .types import TensorType, broadcast_shapes, format_shape

__all__ = [n for n in dir() if not n.startswith("_")]
