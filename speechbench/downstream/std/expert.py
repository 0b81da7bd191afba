"""Query-by-example spoken term detection has no training, so it has no runner expert.

STD compares frozen features of spoken queries and documents with subsequence DTW; nothing is
learned, so there is no head, optimiser or checkpoint for ``run_benchmark.py`` to drive. Score
with ``python -m speechbench.downstream.std.score`` (see ``score.py``), which writes the same
``<split>_results.json`` as ``run_benchmark.py -m evaluate``; ``egs/std/run.sh`` runs it.

Data dirs: the documents (``wav.scp``) and one dir per query set (``wav.scp`` and
``ground_truth``: ``query doc start_sec end_sec`` per occurrence).
"""
from __future__ import annotations

from torch import nn

from speechbench.errors import ConfigError

USAGE = ("the std task trains nothing (query-by-example DTW on frozen features), so run_benchmark.py "
         "cannot train or evaluate it; score it with `python -m speechbench.downstream.std.score "
         "--upstream NAME --queries DEV_DIR EVAL_DIR --docs DOCS_DIR --layer all --out EXPDIR` "
         "(or egs/std/run.sh)")


class DownstreamExpert(nn.Module):
    """Refuses to be built, naming the scoring entry point."""

    METRIC = ("mtwv", "max")
    OTHER_METRICS = {"atwv": "max", "cnxe": "min", "mincnxe": "min"}
    SCORED_BY = "python -m speechbench.downstream.std.score"

    def __init__(self, upstream_dim: int, downstream_expert: dict, expdir: str, **kwargs: object) -> None:
        raise ConfigError(USAGE)
