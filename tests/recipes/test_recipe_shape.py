"""Every task recipe has the shape of egs/TEMPLATE: shared header, options, task constants, stages; no work
outside a stage; results in $expdir; --help lists the shared options."""
from __future__ import annotations

import glob
import os
import re
import subprocess

import pytest

from testutil import REPO

TASK_RECIPES = sorted(p for p in glob.glob(os.path.join(REPO, "egs", "*", "run.sh"))
                      if os.path.basename(os.path.dirname(p)) != "pretrain")
HEADER = ["set -euo pipefail", '. "$(dirname "${BASH_SOURCE[0]}")/../utils/recipe.sh"']
WORK = re.compile(r"(^|\|\| |&& )\s*(python|\$train_cmd|\$extract_cmd|ln |rm |mkdir |cp |mv )")


def _lines(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return f.read().splitlines()


def work_outside_stages(path: str) -> list[str]:
    """Lines that run a program or write a file neither inside a function nor inside a stage_begin block."""
    out, closer = [], None
    for n, line in enumerate(_lines(path), 1):
        if closer is None:
            m = re.match(r"^(\s*)(\w+\(\) \{|if stage_begin)", line)
            if m and not line.rstrip().endswith("}"):
                closer = m.group(1) + ("}" if m.group(2).endswith("{") else "fi")
            elif WORK.search(line):
                out.append(f"{os.path.relpath(path, REPO)}:{n}: {line.strip()}")
        elif line.rstrip() == closer:
            closer = None
    return out


@pytest.mark.parametrize("path", TASK_RECIPES, ids=lambda p: os.path.basename(os.path.dirname(p)))
def test_recipe_has_the_template_shape(path):
    lines = _lines(path)
    code = [x for x in lines if x.strip() and not x.startswith("#")]
    assert lines[0] == "#!/usr/bin/env bash" and code[:2] == HEADER
    parse, task_sh = code.index('. "$utils/parse_options.sh"'), code.index('. "$utils/task.sh"')
    assert parse < task_sh and any(x.startswith("task=") for x in code[parse:task_sh])
    stages = [x.split()[:2] for x in code if re.match(r"^sb_stage_\w+ \d", x)]
    assert stages[:2] == [["sb_stage_corpus", "0"], ["sb_stage_data", "1"]]
    assert work_outside_stages(path) == []
    assert not re.search(r"--summary (RESULTS\.md|\"RESULTS\.md\")", "\n".join(lines))


def test_work_outside_a_stage_is_found(tmp_path):
    script = tmp_path / "run.sh"
    script.write_text('prepare_x() {\n  python -m a\n}\nif stage_begin 1 "x"; then\n  python -m b\n  stage_done 1\nfi\n'
                      '[ -f units ] || python -m c --out units\n')
    (found,) = work_outside_stages(str(script))
    assert found.endswith("run.sh:8: [ -f units ] || python -m c --out units")


@pytest.mark.parametrize("path", [*TASK_RECIPES, os.path.join(REPO, "egs", "pretrain", "run.sh")],
                         ids=lambda p: os.path.basename(os.path.dirname(p)))
def test_help_lists_the_shared_options(path, tmp_path):
    out = subprocess.run(["bash", path, "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    for option in ("--stage", "--stop-stage", "--upstream", "--nj", "--cmd-backend", "--expdir"):
        assert re.search(rf"^  {option} +\[", out.stdout, re.M), option
