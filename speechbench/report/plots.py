"""PNG figures of a leaderboard: heat map, learning curves, learned layer weights.

Learning curves come from each experiment's TensorBoard events (``<split>-<metric>`` and
``train-loss`` scalars); layer weights from the scored checkpoint's ``Featurizer.weights``
(pre-softmax, so we apply the softmax the featurizer applies), falling back to the last
``layer_weight/<i>`` scalars when the checkpoint is gone.
"""
from __future__ import annotations

import logging
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

from speechbench.report.collect import Run  # noqa: E402
from speechbench.report.leaderboard import SCALE, Leaderboard  # noqa: E402
from speechbench.report.metrics import arrow, display_metric, format_value, metric_name  # noqa: E402
from speechbench.utils_io import atomic_open  # noqa: E402

log = logging.getLogger(__name__)


def _save(fig, path: str) -> str:
    with atomic_open(path, "wb") as f:
        fig.savefig(f, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def heatmap(board: Leaderboard, path: str, subtitle: str = "") -> str:
    """Cells coloured by the normalised task score (fbank 0, ceiling or best 1000), labelled with the metric."""
    rows, cols = board.upstreams, board.tasks
    values = np.full((len(rows), len(cols)), np.nan)
    for i, u in enumerate(rows):
        for j, t in enumerate(cols):
            if (u, t) in board.normalised:
                values[i, j] = board.normalised[(u, t)]
    fig, ax = plt.subplots(figsize=(1.5 + 1.25 * len(cols), 1.2 + 0.55 * len(rows)))
    cmap = matplotlib.colormaps["RdYlGn"].with_extremes(bad="#dddddd")
    bound = max(SCALE, float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else SCALE)
    im = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=-bound, vmax=bound, aspect="auto")
    for i, u in enumerate(rows):
        for j, t in enumerate(cols):
            r = board.run(u, t)
            if r is not None:
                ax.text(j, i, format_value(r.primary, r.score), ha="center", va="center", fontsize=9)
    ax.set_xticks(range(len(cols)), [f"{t}\n{display_metric(board.metric[t])}" for t in cols], fontsize=8)
    labels = []
    for u in rows:
        score, _ = board.overall[u]
        labels.append(u if score is None else f"{u}  [{score:.0f}]")
    ax.set_yticks(range(len(rows)), labels, fontsize=9)
    ax.set_title(f"speechbench leaderboard{f' ({board.data_tag})' if board.data_tag else ''}"
                 + (f"\n{subtitle}" if subtitle else ""), fontsize=10)
    bar = fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02)
    bar.set_label("task score (fbank 0, ceiling or best 1000); grey: not normalisable", fontsize=8)
    return _save(fig, path)


def _scalars(expdir: str) -> dict[str, list[tuple[int, float]]]:
    """Every scalar series in an experiment's TensorBoard events (all files, resumed runs too)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    if not any(n.startswith("events.out.tfevents") for n in os.listdir(expdir)):
        return {}
    acc = EventAccumulator(expdir, size_guidance={"scalars": 0})
    acc.Reload()
    out = {}
    for tag in acc.Tags().get("scalars", []):
        by_step = {e.step: e.value for e in acc.Scalars(tag)}  # a resumed run re-logs steps: keep the last
        out[tag] = sorted(by_step.items())
    return out


def learning_curves(board: Leaderboard, task: str, path: str) -> str | None:
    """Dev primary metric and train loss against step, one line per upstream; None without events."""
    series = {u: _scalars(r.expdir) for u in board.upstreams if (r := board.run(u, task)) is not None}
    metric = board.metric[task]
    dev_tag = next((tag for s in series.values() for tag in s if tag.startswith("dev-") and metric_name(tag) == metric),
                   None)
    panels = [(tag, title) for tag, title in ((dev_tag, f"dev {metric} {arrow(metric)}"), ("train-loss", "train loss"))
              if tag and any(tag in s for s in series.values())]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.4), squeeze=False)
    for ax, (tag, title) in zip(axes[0], panels):
        for u, s in series.items():
            if tag in s:
                steps, vals = zip(*s[tag])
                ax.plot(steps, vals, marker="o" if len(steps) < 12 else None, markersize=3, label=u)
        ax.set_xlabel("step")
        ax.set_title(f"{task}: {title}", fontsize=10)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    return _save(fig, path)


def layer_weights(run: Run) -> np.ndarray | None:
    """Softmax layer weights the run's head learned (None: one layer, or nothing stored)."""
    if run.checkpoint and os.path.isfile(run.checkpoint):
        from speechbench.checkpoints.experiment import load_experiment
        from speechbench.checkpoints.safe_load import CheckpointError

        try:
            weights = load_experiment(run.checkpoint).layer_weights()
        except (CheckpointError, OSError) as err:
            log.warning("layer weights of %s not read: %s", run.checkpoint, err)
        else:
            return weights if weights.size >= 2 else None
    s = _scalars(run.expdir)
    tags = sorted((int(t.split("/")[1]), t) for t in s if t.startswith("layer_weight/"))
    if len(tags) < 2:
        return None
    return np.array([s[t][-1][1] for _, t in tags])


def layer_weight_map(board: Leaderboard, upstream: str, path: str) -> str | None:
    """Tasks x layers heat map of one upstream's learned weights (which layers each task uses)."""
    found = {t: w for t in board.tasks if (r := board.run(upstream, t)) is not None
             and r.mode == "ws" and (w := layer_weights(r)) is not None}
    if not found:
        return None
    n = max(len(w) for w in found.values())
    tasks = list(found)
    grid = np.full((len(tasks), n), np.nan)
    for i, t in enumerate(tasks):
        grid[i, :len(found[t])] = found[t]
    fig, ax = plt.subplots(figsize=(1.6 + 0.6 * n, 0.9 + 0.45 * len(tasks)))
    im = ax.imshow(np.ma.masked_invalid(grid), cmap="Blues", vmin=0, vmax=max(float(np.nanmax(grid)), 1e-9),
                   aspect="auto")
    for i in range(len(tasks)):
        for j in range(n):
            if np.isfinite(grid[i, j]):
                ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", fontsize=8)
    ax.set_xticks(range(n), [str(j) for j in range(n)])
    ax.set_xlabel("hidden state (0 = input side)")
    ax.set_yticks(range(len(tasks)), tasks)
    ax.set_title(f"{upstream}: learned layer weights (softmax)", fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.05, pad=0.02)
    return _save(fig, path)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-." else "_" for c in name)


def write_all(board: Leaderboard, out_dir: str, subtitle: str = "") -> dict[str, list[str]]:
    """Every figure into ``out_dir``: ``heatmap.png``, ``curves_<task>.png``, ``layers_<upstream>.png``."""
    os.makedirs(out_dir, exist_ok=True)
    made: dict[str, list[str]] = {"heatmap": [heatmap(board, os.path.join(out_dir, "heatmap.png"), subtitle)],
                                  "curves": [], "layers": []}
    for t in board.tasks:
        p = learning_curves(board, t, os.path.join(out_dir, f"curves_{_safe(t)}.png"))
        if p:
            made["curves"].append(p)
    for u in board.upstreams:
        p = layer_weight_map(board, u, os.path.join(out_dir, f"layers_{_safe(u)}.png"))
        if p:
            made["layers"].append(p)
    return made
