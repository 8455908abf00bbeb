"""The graph models: :class:`~.rgcn.RGCN` (node classification, node regression, heterogeneous link
prediction) and :class:`~.kge.KGEModel` (``transe``, ``distmult``, ``rotate``: knowledge-graph link prediction)."""

from hyperjob.algorithms.graph.models.kge import KGE_MODELS, KGEModel
from hyperjob.algorithms.graph.models.rgcn import RGCN, NodeInput, RelGraphConv, feature_groups

__all__ = ["MODELS", "KGE_MODELS", "KGEModel", "RGCN", "NodeInput", "RelGraphConv", "feature_groups"]

#: every graph model name
MODELS = ("rgcn",) + KGE_MODELS
