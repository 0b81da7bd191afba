"""Query-by-example spoken term detection: score frozen features with subsequence DTW (no training).

    python -m speechbench.downstream.std.score --upstream NAME [--upstream-ckpt F] [--upstream-options k=v,...] \\
        --queries data/queries_dev data/queries_eval --docs data/docs \\
        [--feature-cache-queries DUMP_DEV DUMP_EVAL --feature-cache-docs DUMP] --layer N|all --out EXPDIR

Each ``--queries`` dir is one split, named by its basename without ``queries_`` (or ``NAME=DIR``).
It holds ``wav.scp`` and ``ground_truth`` (``query doc start_sec end_sec`` per occurrence; a
query with no line occurs nowhere); ``--docs`` holds the searched documents' ``wav.scp``.
Per split, as the SUPERB reference (s3prl ``quesst14_dtw``): features standardised over all its
query and document frames, subsequence DTW with cost exp(cosine distance) - 1, scores z-normalised
per query, YES above 2.0; MTWV/ATWV/Cnxe with the QUESST 2014 costs (``speechbench.metrics.std``).
``--layer all`` scores every layer on the ``--select-on`` split (default dev), keeps the best MTWV
and scores the other splits with that layer only.

Writes ``EXPDIR/<split>_results.json`` (the runner's shape), ``<split>_detections.txt``
(``query doc score YES|NO`` for every trial) and ``<split>/benchmark.stdlist.xml`` for the official
``score-TWV-Cnxe.sh``; with ``--layer all`` also ``layer_sweep.json``.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Sequence

import torch

from speechbench.data.kaldi_dir import DataDir, DataDirError
from speechbench.data.validate import check_data_dir
from speechbench.downstream.std.features import LayerFeatures
from speechbench.errors import ConfigError, run_command
from speechbench.features.source import build_feature_source
from speechbench.hub import resolve_weights
from speechbench.metrics.dtw import dtw_scores, standardize_features, znorm_scores
from speechbench.metrics.std import Detection, StdResult, detections_from_matrix, std_metrics
from speechbench.upstream.options import parse_options
from speechbench.utils_io import atomic_open, read_fields

log = logging.getLogger("speechbench.std")
YES_THRESHOLD = 2.0


@dataclass(frozen=True)
class Split:
    """One query set searched in the documents, with its ground truth as (query, doc) pairs."""

    name: str
    queries_dir: str
    query_ids: list[str]
    truth: set[tuple[str, str]]


def read_ground_truth(path: str, queries: set[str], docs: set[str]) -> set[tuple[str, str]]:
    """``query doc start end`` lines -> the set of (query, doc) trials that are targets."""
    if not os.path.isfile(path):
        raise DataDirError(f"{path} not found: each query dir needs `ground_truth` (`query doc start_sec "
                           f"end_sec` per occurrence); prepare it with the recipe's data stage")
    truth = set()
    for lineno, parts in read_fields(path, 4, "`query doc start_sec end_sec`", DataDirError):
        query, doc = parts[:2]
        if query not in queries:
            raise DataDirError(f"{path}:{lineno}: query '{query}' is not in this dir's wav.scp")
        if doc not in docs:
            raise DataDirError(f"{path}:{lineno}: document '{doc}' is not in the --docs wav.scp "
                               f"(queries and documents from different corpora?)")
        truth.add((query, doc))
    if not truth:
        raise DataDirError(f"{path} lists no occurrence: MTWV needs at least one query that occurs")
    return truth


def parse_split(spec: str) -> tuple[str, str]:
    """``NAME=DIR`` or ``DIR`` (named by its basename without ``queries_``)."""
    name, sep, directory = spec.partition("=")
    if not sep:
        directory = spec
        name = os.path.basename(os.path.normpath(spec)).removeprefix("queries_")
    return name, directory


def score_split(source, split: Split, docs_dir: str, doc_ids: list[str], layer: int,
                dtw_batch: int) -> tuple[StdResult, list[Detection]]:
    """MTWV/ATWV/Cnxe of one split at one layer, and every trial's detection."""
    queries = source.load(split.queries_dir, layer)
    docs = source.load(docs_dir, layer)
    queries, docs = standardize_features(queries, docs)
    scores = znorm_scores(dtw_scores(queries, docs, batch_size=dtw_batch))
    detections = detections_from_matrix(split.query_ids, doc_ids, scores.numpy(), threshold=YES_THRESHOLD)
    return std_metrics(detections, split.truth, n_docs=len(doc_ids)), detections


def write_stdlist(path: str, detections: list[Detection]) -> None:
    """The detections as a QUESST ``benchmark.stdlist.xml``, for the official ``score-TWV-Cnxe.sh``."""
    root = ET.Element("stdlist", termlist_filename="benchmark.stdlist.xml", indexing_time="1.0",
                      language="english", index_size="1", system_id="speechbench")
    lists: dict[str, ET.Element] = {}
    for d in detections:
        if d.query_id not in lists:
            lists[d.query_id] = ET.SubElement(root, "detected_termlist", termid=d.query_id, term_search_time="1.0",
                                              oov_term_count="1")
        ET.SubElement(lists[d.query_id], "term", file=d.doc_id, channel="1", tbeg="0.000", dur="0.00",
                      score=f"{d.score:.4f}", decision="YES" if d.decision else "NO")
    ET.indent(root)
    with atomic_open(path, "wb") as f:
        ET.ElementTree(root).write(f, encoding="UTF-8", xml_declaration=True)


def write_outputs(out: str, split: str, result: StdResult, detections: list[Detection], layer: int,
                  args: argparse.Namespace) -> dict:
    """``<split>_results.json``, ``<split>_detections.txt`` and ``<split>/benchmark.stdlist.xml``."""
    os.makedirs(os.path.join(out, split), exist_ok=True)
    with atomic_open(os.path.join(out, f"{split}_detections.txt"), "w", encoding="utf-8") as f:
        f.writelines(f"{d.query_id} {d.doc_id} {d.score:.4f} {'YES' if d.decision else 'NO'}\n" for d in detections)
    write_stdlist(os.path.join(out, split, "benchmark.stdlist.xml"), detections)
    metrics = {f"{split}-mtwv": result.mtwv, f"{split}-atwv": result.atwv}
    if result.cnxe is not None:
        metrics.update({f"{split}-cnxe": result.cnxe, f"{split}-mincnxe": result.min_cnxe})
    record = {"split": split, "metrics": metrics, "checkpoint": None, "step": 0, "upstream": args.upstream,
              "downstream": "std", "layer": layer, "upstream_ckpt": args.upstream_ckpt,
              "upstream_weights": getattr(args, "upstream_weights", None),
              "detections": f"{split}_detections.txt", "n_queries_scored": result.n_queries,
              "mtwv_threshold": result.mtwv_threshold if math.isfinite(result.mtwv_threshold) else None}
    with atomic_open(os.path.join(out, f"{split}_results.json"), "w", encoding="utf-8") as f:
        json.dump(record, f, indent=1)
    return record


def _source(args: argparse.Namespace, splits: list[Split]) -> LayerFeatures:
    """Features of each data dir: one feature cache per dir when given, else the upstream for all."""
    options = parse_options(args.upstream_options)

    def build(cache_dirs: list[str] | None = None):
        return build_feature_source(args.upstream, args.upstream_ckpt, options, cache_dirs=cache_dirs,
                                    device=args.device)

    if args.feature_cache_docs or args.feature_cache_queries:
        if not args.feature_cache_docs or len(args.feature_cache_queries or []) != len(splits):
            raise ConfigError(f"give --feature-cache-docs and one --feature-cache-queries per --queries dir "
                              f"({len(splits)}), or neither (the upstream runs on the fly)")
        dirs = [args.docs, *(s.queries_dir for s in splits)]
        dumps = [args.feature_cache_docs, *args.feature_cache_queries]
        sources = {d: build([p]) for d, p in zip(dirs, dumps)}
        return LayerFeatures(sources.__getitem__)
    upstream = build()
    return LayerFeatures(lambda data_dir: upstream, device=args.device, batch_seconds=args.batch_seconds)


def run(args: argparse.Namespace) -> dict[str, dict]:
    """Score every split; returns ``{split: results record}``."""
    if args.layer != "all" and not args.layer.isdigit():
        raise ConfigError(f"--layer must be an integer or all, got '{args.layer}'")
    weights = resolve_weights(args.upstream, args.upstream_ckpt)
    args.upstream_ckpt, args.upstream_weights = weights.path, weights.record()
    check_data_dir(args.docs)
    doc_ids = DataDir(args.docs).utts
    splits = []
    for spec in args.queries:
        name, directory = parse_split(spec)
        check_data_dir(directory, require=("ground_truth",))
        query_ids = DataDir(directory).utts
        truth = read_ground_truth(os.path.join(directory, "ground_truth"), set(query_ids), set(doc_ids))
        splits.append(Split(name, directory, query_ids, truth))
    names = [s.name for s in splits]
    if len(set(names)) != len(names):
        raise ConfigError(f"two --queries dirs are both named {names}: name them NAME=DIR")
    source = _source(args, splits)
    os.makedirs(args.out, exist_ok=True)
    done: dict[str, tuple[StdResult, list[Detection]]] = {}
    if args.layer == "all":
        chosen, done[args.select_on] = _select_layer(args, source, splits, doc_ids)
    else:
        chosen = int(args.layer)
    records = {}
    for split in splits:
        result, detections = done.get(split.name) or score_split(source, split, args.docs, doc_ids, chosen,
                                                                 args.dtw_batch)
        records[split.name] = write_outputs(args.out, split.name, result, detections, chosen, args)
        log.info("%s (layer %d): MTWV %.4f, ATWV %.4f", split.name, chosen, result.mtwv, result.atwv)
    return records


def _select_layer(args: argparse.Namespace, source, splits: list[Split],
                  doc_ids: list[str]) -> tuple[int, tuple[StdResult, list[Detection]]]:
    """Best layer by MTWV on the ``--select-on`` split (the lowest layer on ties) and its scoring there."""
    by_name = {s.name: s for s in splits}
    if args.select_on not in by_name:
        raise ConfigError(f"--layer all picks the layer on split '{args.select_on}', but the --queries splits are "
                          f"{sorted(by_name)}; pass --select-on NAME or name a dir dev=DIR")
    split = by_name[args.select_on]
    sweep, best_scoring = {}, None
    for layer in source.layers(split.queries_dir):
        scoring = score_split(source, split, args.docs, doc_ids, layer, args.dtw_batch)
        sweep[layer] = scoring[0].mtwv
        log.info("layer %d: %s MTWV %.4f", layer, split.name, sweep[layer])
        if best_scoring is None or sweep[layer] > best_scoring[0].mtwv:
            best, best_scoring = layer, scoring
    with atomic_open(os.path.join(args.out, "layer_sweep.json"), "w", encoding="utf-8") as f:
        json.dump({"split": split.name, "metric": "mtwv", "best_layer": best,
                   "mtwv": {str(k): v for k, v in sweep.items()}}, f, indent=1)
    return best, best_scoring


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m speechbench.downstream.std.score",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--upstream", required=True, help="upstream name (speechbench/upstream/<name>)")
    p.add_argument("--upstream-ckpt", default=None,
                   help="upstream weights: a file, a released model's name (`speechbench models`), or 'random'")
    p.add_argument("--upstream-options", default=None, help="upstream options key=value,...")
    p.add_argument("--queries", nargs="+", required=True, help="query data dirs, DIR or NAME=DIR (one split each)")
    p.add_argument("--docs", required=True, help="document data dir")
    p.add_argument("--feature-cache-queries", nargs="+", default=None,
                   help="feature dumps of the --queries dirs, same order (stage 2)")
    p.add_argument("--feature-cache-docs", default=None, help="feature dump of --docs")
    p.add_argument("--layer", default="all", help="hidden-state index, or all: pick the best on --select-on")
    p.add_argument("--select-on", default="dev", help="split whose MTWV picks the layer with --layer all")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--device", default="cpu", help="device of the upstream (DTW runs on CPU)")
    p.add_argument("--batch-seconds", type=float, default=60.0, help="audio seconds per upstream batch")
    p.add_argument("--dtw-batch", type=int, default=64, help="documents per vectorised DTW batch")
    p.add_argument("--num-threads", type=int, default=None, help="torch CPU threads")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s [%(levelname)s] %(message)s")

    def body() -> None:
        for split, record in run(args).items():
            print(f"{split} layer {record['layer']}: " + ", ".join(
                f"{k} = {v:.4f}" for k, v in record["metrics"].items()))
    return run_command(body)


if __name__ == "__main__":
    sys.exit(main())
