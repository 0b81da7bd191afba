"""The ``speechbench`` console script: ``speechbench report|sweep|models ...``.

Training and evaluation stay in ``run_benchmark.py`` and the recipes; this only dispatches
to the modules that do the work (``speechbench.report.build``, ``speechbench.report.sweep``,
``speechbench.hub.listing``).
"""
from __future__ import annotations

import sys

USAGE = """usage: speechbench <command> [options]

commands:
  report   collect every egs/*/exp/ result into leaderboard.md/.csv and PNG figures
  sweep    train one head per learning rate through a recipe, keep the best on dev
  models   released checkpoints by name (-k NAME), with size and whether each is cached

`speechbench <command> --help` for its options."""


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "report":
        from speechbench.report.build import main as run
    elif command == "sweep":
        from speechbench.report.sweep import main as run
    elif command == "models":
        from speechbench.hub.listing import main as run
    else:
        print(f"speechbench: unknown command '{command}'\n\n{USAGE}", file=sys.stderr)
        return 2
    return run(rest)


if __name__ == "__main__":
    sys.exit(main())
