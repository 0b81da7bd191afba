"""The leaderboard: upstream x task table, the SUPERB-style overall score, Markdown and CSV.

Overall score (after SUPERB's ``superb_s``, Feng et al., "SUPERB @ SLT 2022"): each task's
primary metric is mapped linearly so that the fbank baseline scores 0 and a top reference
scores 1000,

    s_t(u) = 1000 * (m_t(u) - m_t(fbank)) / (m_t(top) - m_t(fbank))

which needs no sign flip for lower-better metrics (numerator and denominator change sign
together). SUPERB's top is the published state of the art per task, not available offline.
Ours is the task's *ceiling* control when it ran (the head on features that carry the answer:
the most the head can reach), else the best upstream on this leaderboard. The best upstream
alone is a poor anchor on a small table: when it beats fbank by a hair, the denominator is
that hair and every other upstream's score on the task explodes (-63000 for a 3-point loss
on the demo's QA once). Either way the scores rank the upstreams shown here and are not
comparable with superbbenchmark.org numbers. An upstream's score is the mean over the tasks
where it has a result and the task is normalisable (fbank ran, and the top differs from
it); the table says how many tasks that is. SUPERB averages several metrics within a
task first; we use the one primary metric per task (each downstream's ``METRIC``).

Control runs (``speechbench/upstream/control``) are the last rows, ``chance`` (features that carry
nothing: the metric of the best constant prediction) and ``ceiling`` (features that carry the
answer): bounds a reader places the upstreams between, never scored or ranked. A number made
with several seeds is shown as mean ± standard deviation over them.
"""
from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import json
import os
import shutil
import subprocess

from speechbench.report.collect import ReportError, Run
from speechbench.report.metrics import TASK_ORDER, display_metric, format_value, lower_is_better
from speechbench.report.results import weights_name
from speechbench.utils_io import atomic_open

SCALE = 1000.0


@dataclasses.dataclass
class Leaderboard:
    """Runs arranged as upstream x task, with normalised and overall scores."""

    data_tag: str
    tasks: list[str]
    upstreams: list[str]
    cells: dict[tuple[str, str], Run]
    metric: dict[str, str]                          # task -> primary metric name
    normalised: dict[tuple[str, str], float]        # (upstream, task) -> s_t(u); normalisable tasks only
    overall: dict[str, tuple[float | None, int]]    # upstream -> (mean score, tasks counted)

    def run(self, upstream: str, task: str) -> Run | None:
        """The run behind one cell, if any."""
        return self.cells.get((upstream, task))

    def is_control(self, upstream: str) -> bool:
        """A chance or ceiling row (a bound, not an upstream)."""
        return any(r.is_control for (u, _), r in self.cells.items() if u == upstream)


def _task_key(task: str) -> tuple[int, str]:
    return (TASK_ORDER.index(task), task) if task in TASK_ORDER else (len(TASK_ORDER), task)


def build(runs: list[Run], data_tag: str = "") -> Leaderboard:
    """Arrange the runs of one data tag (one run per upstream and task, see ``collect``)."""
    cells: dict[tuple[str, str], Run] = {}
    metric: dict[str, str] = {}
    for r in runs:
        if r.primary is None or r.score is None:
            continue
        if (r.upstream, r.task) in cells:
            raise ReportError(f"two runs for {r.upstream} on {r.task}: {cells[(r.upstream, r.task)].expdir} and "
                             f"{r.expdir}; report one data tag at a time (--data-tag)")
        cells[(r.upstream, r.task)] = r
        metric.setdefault(r.task, r.primary)
    tasks = sorted(metric, key=_task_key)
    ceilings = {t: r.score for (_, t), r in cells.items() if r.is_ceiling}
    normalised = _normalise({k: r for k, r in cells.items() if not r.is_control}, tasks, ceilings)
    names = sorted({u for u, _ in cells})
    overall: dict[str, tuple[float | None, int]] = {}
    for u in names:
        vals = [normalised[(u, t)] for t in tasks if (u, t) in normalised]
        overall[u] = (sum(vals) / len(vals) if vals else None, len(vals))
    kind = {u: "reference" if r.is_reference else "control" if r.is_control else "upstream" for (u, _), r in cells.items()}
    reference = [u for u in names if kind[u] == "reference"]
    controls = sorted((u for u in names if kind[u] == "control"), key=lambda u: (u != "chance", u))
    rest = sorted((u for u in names if kind[u] == "upstream"),
                  key=lambda u: (-(overall[u][0] if overall[u][0] is not None else float("-inf")), u))
    return Leaderboard(data_tag, tasks, reference + rest + controls, cells, metric, normalised, overall)


def _normalise(cells: dict[tuple[str, str], Run], tasks: list[str],
               ceilings: dict[str, float]) -> dict[tuple[str, str], float]:
    """``s_t(u)`` of every upstream on every normalisable task: fbank 0, the task's ceiling control
    (else its best upstream) 1000."""
    out: dict[tuple[str, str], float] = {}
    for t in tasks:
        runs = [r for (u, task), r in cells.items() if task == t]
        ref = [r for r in runs if r.is_reference]
        if not ref:
            continue
        base = ref[0].score
        top = ceilings.get(t, (min if lower_is_better(ref[0].primary) else max)(r.score for r in runs))
        if top == base:
            continue
        for r in runs:
            out[(r.upstream, t)] = SCALE * (r.score - base) / (top - base) + 0.0  # no "-0" for fbank
    return out


def _link(target: str | None, out_dir: str) -> str | None:
    return None if not target else os.path.relpath(target, out_dir)


def _git_root(path: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", path, "rev-parse", "--show-toplevel"], capture_output=True, text=True)
    except OSError:  # no git: nothing is published from here
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _kept_by_git(path: str, root: str) -> bool:
    """Inside the repository at ``root`` and not ignored by it: a link to it works where the repo is published."""
    inside = os.path.commonpath([os.path.realpath(path), os.path.realpath(root)]) == os.path.realpath(root)
    return inside and subprocess.run(["git", "-C", root, "check-ignore", "-q", os.path.realpath(path)]).returncode != 0


def publish(board: Leaderboard, out_dir: str) -> dict[str, str]:
    """The file to link for every RESULTS.md, config and checkpoint the board cites.

    Outside a git repository every existing file is linked where it is. Inside one, a link must
    stay valid where the repository is published, so a file git ignores (experiments under
    ``result/``) is copied to ``out_dir/runs/<task>/<experiment>/`` when it is a small text file
    (RESULTS.md, config.yaml) and left without a link when it is a checkpoint.
    """
    os.makedirs(out_dir, exist_ok=True)
    root = _git_root(out_dir)
    links: dict[str, str] = {}
    for (_, task), r in sorted(board.cells.items()):
        cited = [os.path.join(r.expdir, "RESULTS.md"), r.config, r.checkpoint]
        for path in (p for p in cited if p and os.path.isfile(p)):
            if root is None or _kept_by_git(path, root):
                links[path] = path
            elif path != r.checkpoint:
                copy = os.path.join(out_dir, "runs", task, os.path.basename(r.expdir), os.path.basename(path))
                os.makedirs(os.path.dirname(copy), exist_ok=True)
                shutil.copyfile(path, copy)
                links[path] = copy
    return links


def _linked(text: str, path: str | None, base: str, links: dict[str, str] | None) -> str:
    """``[text](relative path)`` to the file to link for ``path``, else the bare text."""
    if path is None:
        return text
    target = links.get(path) if links is not None else (path if os.path.isfile(path) else None)
    return f"[{text}]({_link(target, base)})" if target else text


def _lr_text(r: Run) -> str:
    if r.lr is None:
        return ""
    if len(r.lr_candidates) > 1:
        return f"lr {r.lr:g} of {{{', '.join(f'{x:g}' for x in r.lr_candidates)}}}"
    return f"lr {r.lr:g}"


def _weights_text(r: Run) -> str:
    """Released name (or file name) of the upstream weights, with the start of their sha256."""
    weights = r.upstream_weights or {}
    name = weights_name({"upstream_weights": weights, "upstream_ckpt": r.upstream_ckpt}) or "-"
    return f"{name} (sha256 {weights['sha256'][:12]})" if weights.get("sha256") else name


def _intro(commit: str, date: str) -> str:
    return (f"Made by `speechbench report` on {date} at commit `{commit}`. Score: each task's primary metric "
            f"mapped to fbank = 0 and the task's ceiling control (without one: the best upstream here) = {SCALE:g}, "
            "averaged over tasks (SUPERB's superb_s with the ceiling in place of the published state of the art). "
            "Rows *chance* and *ceiling*: the same head trained on features that carry nothing, or the answer. "
            "`a ± b`: mean and standard deviation over seeds.")


def _seeds_text(r: Run, sep: str) -> str:
    return sep.join(map(str, r.seeds)) if r.seeds else "" if r.seed is None else str(r.seed)


def cell_text(r: Run) -> str:
    """The primary metric, with its spread over seeds when several ran."""
    text = format_value(r.primary, r.score)
    return text if r.spread is None else f"{text} ± {format_value(r.primary, r.spread)}"


def table_lines(board: Leaderboard, out_dir: str, links: dict[str, str] | None = None) -> list[str]:
    """The upstream x task table; each number links to its RESULTS.md (relative to ``out_dir``; through
    ``links`` from :func:`publish` when given)."""
    n = len(board.tasks)
    head = ["upstream", "score ↑"] + [f"{t} {display_metric(board.metric[t])}" for t in board.tasks]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for u in board.upstreams:
        score, counted = board.overall[u]
        s = "-" if score is None else f"{score:.0f}" + ("" if counted == n else f" ({counted}/{n})")
        row = [f"*{u}*" if board.is_control(u) else u, s]
        for t in board.tasks:
            r = board.run(u, t)
            if r is None:
                row.append("-")
                continue
            row.append(_linked(cell_text(r), os.path.join(r.expdir, "RESULTS.md"), out_dir, links))
        lines.append("| " + " | ".join(row) + " |")
    return lines


def to_markdown(board: Leaderboard, out_dir: str, commit: str, date: str | None = None,
                heatmap: str | None = None, links: dict[str, str] | None = None) -> str:
    """The leaderboard page: table, score definition, and one provenance line per number."""
    date = date or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"# Leaderboard{f' ({board.data_tag})' if board.data_tag else ''}", "",
             _intro(commit, date) + " Each number links to its experiment's RESULTS.md; the table below it "
             "names config, checkpoint, learning rate and seed.", "", *table_lines(board, out_dir, links)]
    if heatmap:
        lines += ["", f"![leaderboard heat map]({heatmap})"]
    lines += ["", "## Runs", "",
              "| upstream | task | value | upstream weights | learning rate | seed | config | checkpoint |",
              "|---|---|---|---|---|---|---|---|"]
    for u in board.upstreams:
        for t in board.tasks:
            r = board.run(u, t)
            if r is None:
                continue
            conf = _linked("config", r.config, out_dir, links) if r.config else "-"
            ckpt = _linked(os.path.basename(r.checkpoint), r.checkpoint, out_dir, links) if r.checkpoint else "-"
            lines.append(f"| {u} | {t} | {cell_text(r)} | {_weights_text(r)} | {_lr_text(r) or '-'} | "
                         f"{_seeds_text(r, ', ') or '-'} | {conf} | {ckpt} |")
    return "\n".join(lines) + "\n"


README_START = "<!-- speechbench leaderboard: start -->"
README_END = "<!-- speechbench leaderboard: end -->"


def update_readme(readme: str, board: Leaderboard, out_dir: str, commit: str, date: str,
                  heatmap: str | None, links: dict[str, str] | None = None) -> None:
    """Replace the text between the README's leaderboard markers with this table and heat map."""
    if not os.path.isfile(readme):
        raise ReportError(f"{readme} not found (--readme names the file whose leaderboard block is replaced)")
    with open(readme, encoding="utf-8") as f:
        text = f.read()
    if README_START not in text or README_END not in text or text.index(README_START) > text.index(README_END):
        raise ReportError(f"{readme} has no '{README_START}' ... '{README_END}' block; add the two lines where the "
                         "leaderboard should go")
    base = os.path.dirname(os.path.abspath(readme))
    block = [README_START, "", _intro(commit, date) + f" Details: [{_link(os.path.join(out_dir, 'leaderboard.md'), base)}]"
             f"({_link(os.path.join(out_dir, 'leaderboard.md'), base)}).", "", *table_lines(board, base, links)]
    if heatmap:
        block += ["", f"![leaderboard heat map]({_link(os.path.join(out_dir, heatmap), base)})"]
    block += ["", README_END]
    head, rest = text.split(README_START, 1)
    tail = rest.split(README_END, 1)[1]
    with atomic_open(readme, "w", encoding="utf-8") as f:
        f.write(head + "\n".join(block) + tail)


def to_csv(board: Leaderboard) -> str:
    """Wide table: one row per upstream, the score, and per task its value and learning rate."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    header = ["data_tag", "upstream", "score", "tasks_scored"]
    for t in board.tasks:
        header += [f"{t}/{board.metric[t]}", f"{t}/lr"]
    w.writerow(header)
    for u in board.upstreams:
        score, counted = board.overall[u]
        row = [board.data_tag, u, "" if score is None else f"{score:.2f}", counted]
        for t in board.tasks:
            r = board.run(u, t)
            row += ["", ""] if r is None else [f"{r.score:.6g}", "" if r.lr is None else f"{r.lr:g}"]
        w.writerow(row)
    return buf.getvalue()


def runs_csv(board: Leaderboard) -> str:
    """Long table: one row per number with every metric and the files it came from."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["data_tag", "task", "upstream", "metric", "direction", "split", "value", "spread", "normalised",
                "lr", "lrs_tried", "seeds", "config", "checkpoint", "upstream_ckpt", "upstream_weights", "upstream_sha256",
                "expdir", "all_metrics"])
    for u in board.upstreams:
        for t in board.tasks:
            r = board.run(u, t)
            if r is None:
                continue
            norm = board.normalised.get((u, t))
            w.writerow([board.data_tag, t, u, r.primary, "lower" if lower_is_better(r.primary) else "higher",
                        r.split, f"{r.score:.6g}", "" if r.spread is None else f"{r.spread:.6g}",
                        "" if norm is None else f"{norm:.2f}", "" if r.lr is None else f"{r.lr:g}",
                        " ".join(f"{x:g}" for x in r.lr_candidates), _seeds_text(r, " "), r.config or "", r.checkpoint or "", r.upstream_ckpt or "",
                        (r.upstream_weights or {}).get("name") or "", (r.upstream_weights or {}).get("sha256") or "",
                        r.expdir, json.dumps(r.metrics, sort_keys=True)])
    return buf.getvalue()


def write(board: Leaderboard, out_dir: str, commit: str, date: str | None = None,
          heatmap: str | None = None, links: dict[str, str] | None = None) -> list[str]:
    """Write leaderboard.md, leaderboard.csv and leaderboard_runs.csv atomically; return paths."""
    os.makedirs(out_dir, exist_ok=True)
    outputs = {"leaderboard.md": to_markdown(board, out_dir, commit, date, heatmap, links),
               "leaderboard.csv": to_csv(board), "leaderboard_runs.csv": runs_csv(board)}
    paths = []
    for name, text in outputs.items():
        path = os.path.join(out_dir, name)
        with atomic_open(path, "w", encoding="utf-8") as f:
            f.write(text)
        paths.append(path)
    return paths
