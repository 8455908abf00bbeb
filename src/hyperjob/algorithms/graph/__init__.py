"""Neptune ML's graph models as built-in algorithms: rgcn, transe, distmult, rotate.

* :mod:`.processed`: the :class:`~hyperjob.algorithms.graph.processed.ProcessedGraph` format a training job reads;
* :mod:`.sampler`: the mini-batch neighbour sampler (per-layer fanout, vectorised);
* :mod:`.models`: the models; :mod:`.metrics`: the eval_metric values; :mod:`.train`: the training program,
  run as ``python -m hyperjob.algorithms.graph``.

Importing this package does not import torch; import the submodules for that.
"""
