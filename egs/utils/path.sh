# Project environment for recipes; *source* it first. Finds the repository from this
# file's location (egs/utils/ -> ../..), puts its .venv first on PATH, the repository on
# PYTHONPATH, and sets LC_ALL=C so sort/join order matches the Kaldi files we write.

SPEECHBENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [ ! -x "$SPEECHBENCH_ROOT/.venv/bin/python" ]; then
  echo "path.sh: no Python environment at $SPEECHBENCH_ROOT/.venv; run \`make install\` in $SPEECHBENCH_ROOT" >&2
  exit 1
fi
export SPEECHBENCH_ROOT
export VIRTUAL_ENV=$SPEECHBENCH_ROOT/.venv
export PATH=$VIRTUAL_ENV/bin:$SPEECHBENCH_ROOT/egs/utils:$PATH
export PYTHONPATH=$SPEECHBENCH_ROOT${PYTHONPATH:+:$PYTHONPATH}
export PYTHONUNBUFFERED=1
export LC_ALL=C
