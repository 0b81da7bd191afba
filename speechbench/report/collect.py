"""Find every scored experiment under ``egs/`` and pick one run per upstream and task.

A recipe's experiment lives at ``egs/<recipe>/exp/<data_tag>/<upstream-tag>_<ws|lN>[_lr<lr>]/``
and holds ``test_results.json`` (``eval_results.json`` for tasks scored on an eval set),
``config.yaml``, ``args.yaml`` and ``best-states-dev.ckpt``. Runs that differ only in
learning rate form one *group*; the leaderboard shows the run whose ``dev_results.json`` is
best (what ``speechbench sweep`` writes for every value it tries), so a sweep's choice and
the report's choice are the same function, :func:`pick_best`.
"""
from __future__ import annotations

import dataclasses
import glob
import json
import os
import re

import yaml

from speechbench.errors import SpeechbenchError
from speechbench.report.metrics import is_better, primary_metric, value_of

RESULT_SPLITS = ("test", "eval")
REFERENCE_TAG = "baseline"
_EXP_NAME = re.compile(r"^(?P<tag>.+)_(?P<mode>ws|lall|l-?\d+)(?:_lr(?P<lr>[^_/]+))?(?:_seed(?P<seed>\d+))?$")
# Control runs (``speechbench/upstream/control``): features with nothing, or with the answer.
CONTROL_PREFIX = "control_kind_"
# The protocol's own layer choice: the weighted sum, or (term detection) the best layer on dev.
PROTOCOL_MODES = ("ws", "lall")


class ReportError(SpeechbenchError, ValueError):
    """A results file the report cannot use; the message names the file."""


@dataclasses.dataclass
class Run:
    """One scored experiment: what was run, what it scored, and where its files are."""

    task: str
    recipe: str
    data_tag: str
    upstream: str                 # display name (``fbank`` for the baseline)
    upstream_tag: str             # the recipe's tag (upstream plus checkpoint name)
    mode: str                     # ``ws`` (weighted sum) or ``l<N>``
    expdir: str
    split: str
    metrics: dict[str, float]
    primary: str | None
    checkpoint: str | None
    config: str | None
    upstream_ckpt: str | None
    lr: float | None
    seed: int | None
    dev_metrics: dict[str, float] | None = None
    upstream_weights: dict | None = None  # name, path, sha256 of the weights (runs made before: None)
    lr_candidates: list[float] = dataclasses.field(default_factory=list)
    seed_scores: list[float] = dataclasses.field(default_factory=list)  # one per seed when several ran
    seeds: list[int | None] = dataclasses.field(default_factory=list)   # the seeds of seed_scores

    @property
    def group(self) -> tuple[str, str, str, str]:
        """Runs equal up to the learning rate."""
        return (self.task, self.data_tag, self.upstream_tag, self.mode)

    @property
    def score(self) -> float | None:
        """The primary metric on the scored split (the mean over seeds when several ran)."""
        if self.seed_scores:
            return sum(self.seed_scores) / len(self.seed_scores)
        return None if self.primary is None else value_of(self.metrics, self.primary)

    @property
    def spread(self) -> float | None:
        """Sample standard deviation of the primary metric over seeds (``None`` for one seed)."""
        n = len(self.seed_scores)
        if n < 2:
            return None
        mean = sum(self.seed_scores) / n
        return (sum((x - mean) ** 2 for x in self.seed_scores) / (n - 1)) ** 0.5

    @property
    def dev_score(self) -> float | None:
        """The primary metric on dev (``None`` without ``dev_results.json``)."""
        if self.primary is None or not self.dev_metrics:
            return None
        return value_of(self.dev_metrics, self.primary)

    @property
    def is_control(self) -> bool:
        """A chance or ceiling control run: a bound shown on the board, never ranked or scored."""
        return self.upstream_tag.startswith(CONTROL_PREFIX)

    @property
    def is_ceiling(self) -> bool:
        """The ceiling control (features that carry the answer): 1000 of the overall score when it ran."""
        return self.upstream_tag == CONTROL_PREFIX + "ceiling" and self.mode in PROTOCOL_MODES

    @property
    def is_reference(self) -> bool:
        """The fbank baseline every overall score is normalised against."""
        return self.upstream_tag == REFERENCE_TAG and self.mode in PROTOCOL_MODES


def read_results(path: str) -> dict:
    """A ``<split>_results.json``; one that cannot be read or has no metrics is a :class:`ReportError`."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, json.JSONDecodeError) as err:
        raise ReportError(f"{path}: cannot read results ({err}); re-run the recipe's evaluation stage") from None
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict):
        raise ReportError(f"{path}: no 'metrics' mapping; was it written by run_benchmark.py -m evaluate?")
    return data


def _read_yaml(path: str) -> dict:
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    return data if isinstance(data, dict) else {}


def display_name(tag: str, upstream: str, upstream_ckpt: str | None, mode: str) -> str:
    """``baseline`` -> ``fbank``; ``apc_apc`` (apc with apc.ckpt) -> ``apc``; ``control_kind_chance`` ->
    ``chance``; layers noted."""
    if tag == REFERENCE_TAG:
        name = "fbank"
    elif tag.startswith(CONTROL_PREFIX):
        name = tag[len(CONTROL_PREFIX):]
    elif upstream_ckpt and os.path.splitext(os.path.basename(upstream_ckpt))[0] == upstream \
            and tag == f"{upstream}_{upstream}":
        name = upstream
    else:
        name = tag
    return name if mode in PROTOCOL_MODES else f"{name} (layer {mode[1:]})"


def load_run(results_path: str) -> Run:
    """Read one ``<split>_results.json`` with its experiment's config, args and dev results."""
    expdir = os.path.dirname(os.path.abspath(results_path))
    data = read_results(results_path)
    parts = expdir.split(os.sep)
    if "exp" in parts:  # egs/<recipe>/exp/[<data_tag>/]<name>
        at = len(parts) - 1 - parts[::-1].index("exp")
        recipe, data_tag = parts[at - 1], os.sep.join(parts[at + 1:-1])
    else:  # a recipe run with --expdir elsewhere: <expdir>/<data_tag>/<name>
        recipe, data_tag = str(data.get("downstream") or ""), parts[-2]
    match = _EXP_NAME.match(parts[-1])
    tag, mode = (match.group("tag"), match.group("mode")) if match else (parts[-1], "ws")
    config = os.path.join(expdir, "config.yaml")
    conf = _read_yaml(config)
    args = _read_yaml(os.path.join(expdir, "args.yaml"))
    lr = (conf.get("optimizer") or {}).get("lr")
    task = str(data.get("downstream") or recipe)
    metrics = {k: float(v) for k, v in data["metrics"].items()}
    dev_path = os.path.join(expdir, "dev_results.json")
    dev = {k: float(v) for k, v in read_results(dev_path)["metrics"].items()} if os.path.isfile(dev_path) else None
    upstream = str(data.get("upstream") or tag)
    return Run(task=task, recipe=recipe, data_tag=data_tag,
               upstream=display_name(tag, upstream, data.get("upstream_ckpt"), mode), upstream_tag=tag,
               mode=mode, expdir=expdir, split=str(data.get("split") or "test"), metrics=metrics,
               primary=primary_metric(task, metrics), checkpoint=data.get("checkpoint"),
               config=config if os.path.isfile(config) else None, upstream_ckpt=data.get("upstream_ckpt"),
               lr=float(lr) if lr is not None else None,
               seed=args.get("seed") if isinstance(args.get("seed"), int) else None, dev_metrics=dev,
               upstream_weights=data.get("upstream_weights") or args.get("upstream_weights"))


def find_results(egs: str, data_tag: str | None = None) -> list[str]:
    """Every ``egs/*/exp/**/<split>_results.json`` (one per experiment, test before eval)."""
    found: dict[str, str] = {}
    for split in RESULT_SPLITS:
        for path in sorted(glob.glob(os.path.join(egs, "*", "exp", "**", f"{split}_results.json"), recursive=True)):
            expdir = os.path.dirname(path)
            if ".old-" in expdir or expdir in found:
                continue
            found[expdir] = path
    runs = sorted(found.values())
    if data_tag is not None:
        runs = [p for p in runs if data_tag_of(p) in (data_tag, "")]
    return runs


def data_tag_of(results_path: str) -> str:
    """The data tag in an experiment path (``exp/<tag>/<name>``; empty for ``exp/<name>``)."""
    parts = os.path.dirname(os.path.abspath(results_path)).split(os.sep)
    if "exp" not in parts:
        return parts[-2]
    at = len(parts) - 1 - parts[::-1].index("exp")
    return os.sep.join(parts[at + 1:-1])


def pick_best(runs: list[Run]) -> Run:
    """The run of a group to report: best dev primary metric when runs have dev results
    (ties: the smaller learning rate, for a deterministic choice), else the newest."""
    if not runs:
        raise ValueError("pick_best needs at least one run")
    scored = [r for r in runs if r.dev_score is not None]
    if scored:
        best = scored[0]
        for r in scored[1:]:
            a, b = r.dev_score, best.dev_score
            if is_better(a, b, r.primary) or (a == b and (r.lr or 0.0) < (best.lr or 0.0)):
                best = r
        return best
    return max(runs, key=lambda r: os.path.getmtime(os.path.join(r.expdir, f"{r.split}_results.json")))


def collect(egs: str, data_tag: str | None = None) -> list[Run]:
    """One run per (task, data tag, upstream, layer mode), each with its swept learning rates.

    With several seeds, the learning rate is chosen per seed and the run shown is the lowest
    seed's, carrying every seed's score (``seed_scores``: its ``score`` is their mean).
    """
    groups: dict[tuple, dict[int | None, list[Run]]] = {}
    for path in find_results(egs, data_tag):
        run = load_run(path)
        groups.setdefault(run.group, {}).setdefault(run.seed, []).append(run)
    chosen = []
    for by_seed in groups.values():
        per_seed = []
        for runs in by_seed.values():
            best = pick_best(runs)
            best.lr_candidates = sorted({r.lr for r in runs if r.dev_score is not None and r.lr is not None}
                                        | set(_swept_lrs(best)))
            per_seed.append(best)
        per_seed.sort(key=lambda r: (r.seed is None, r.seed or 0))
        shown = per_seed[0]
        if len(per_seed) > 1:
            scored = [r for r in per_seed if r.score is not None]
            shown.seed_scores, shown.seeds = [r.score for r in scored], [r.seed for r in scored]
        chosen.append(shown)
    return sorted(chosen, key=lambda r: (r.task, r.upstream))


def _swept_lrs(run: Run) -> list[float]:
    """Learning rates of the run's siblings that were scored on dev (a sweep scores only the
    chosen one on test, so the others have dev results alone)."""
    out = []
    parent = os.path.dirname(run.expdir)
    base = f"{run.upstream_tag}_{run.mode}_lr"
    for dev in glob.glob(os.path.join(parent, base + "*", "dev_results.json")):
        conf = _read_yaml(os.path.join(os.path.dirname(dev), "config.yaml"))
        lr = (conf.get("optimizer") or {}).get("lr")
        if lr is not None:
            out.append(float(lr))
    return out
