"""Released checkpoints by name: a catalog in each upstream folder, a verified download cache.

``resolve_weights(upstream, value)`` is all the rest of speechbench needs: it turns the
value of ``-k`` / ``--upstream-ckpt`` into the file to load (see :mod:`speechbench.hub.resolve`).
"""
from speechbench.hub.errors import HubError
from speechbench.hub.resolve import RANDOM, Weights, recheck_weights, resolve_weights

__all__ = ["HubError", "RANDOM", "Weights", "recheck_weights", "resolve_weights"]
