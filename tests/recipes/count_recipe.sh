#!/usr/bin/env bash
# A recipe with trivial stages, for testing the stage machinery of egs/utils (stage.sh,
# parse_options.sh, cmd.sh, run_jobs.sh) from any directory: defaults, option parsing,
# environment, job backend, then numbered stages that skip themselves when done with the same
# inputs. Outputs go under --expdir relative to where it runs.
set -euo pipefail
utils=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../egs/utils" && pwd)
. "$utils/path.sh"

help_message="Usage: $0 [options]   (trivial stages: 1 list utterances, 2 count them in nj jobs, 3 report)"
stage=1                 # first stage to run
stop_stage=100          # last stage to run
corpus=mini             # mini, or the name of a real corpus found under --db
db=                     # corpus root (a directory of *.wav) when --corpus is not mini
upstream=baseline       # upstream name (speechbench/upstream/<name>)
upstream_ckpt=          # upstream weights: a released name (speechbench models), a file, or random
nj=2                    # parallel jobs
expdir=exp/TEMPLATE     # outputs, logs and done markers
cmd_backend=local       # local or slurm (see egs/utils/cmd.sh)
slurm_conf=conf/slurm.conf  # Slurm options for cmd_backend=slurm
max_parallel=           # local backend: jobs at once (empty: nproc)
force=false             # true: rerun the selected stages even when done
. "$utils/parse_options.sh"
[ $# -eq 0 ] || { echo "$0: unexpected argument '$1' (options start with --; see --help)" >&2; exit 1; }
. "$utils/cmd.sh"
. "$utils/stage.sh"

data=$expdir/data
if stage_begin 1 "list the utterances of $corpus" "corpus=$corpus" "$db"; then
  mkdir -p "$data"
  if [ "$corpus" = mini ]; then
    printf 'spk%d-utt%d\n' 1 1 1 2 1 3 2 1 2 2 > "$data/utts"
  else
    [ -d "$db" ] || { echo "$0: --db '$db' is not a directory; point it at the $corpus root" >&2; exit 1; }
    find "$db" -name '*.wav' -printf '%f\n' | sed 's/\.wav$//' | sort > "$data/utts"
  fi
  stage_done 1
fi

if stage_begin 2 "count utterances with $upstream in $nj jobs" "$data/utts" "upstream=$upstream" \
    "upstream_ckpt=$upstream_ckpt" "nj=$nj"; then
  $extract_cmd JOB=1:"$nj" "$expdir/log/count.JOB.log" \
    bash -c 'awk -v nj="$1" -v job="$2" "NR % nj == job - 1" "$3" | wc -l > "$4/count.$2"' \
    count "$nj" JOB "$data/utts" "$expdir"
  stage_done 2
fi

if stage_begin 3 "report" "$expdir"/count.* "upstream=$upstream"; then
  total=$(cat "$expdir"/count.* | awk '{s += $1} END {print s}')
  echo "utterances=$total upstream=$upstream" > "$expdir/RESULTS"
  sb_log "$(cat "$expdir/RESULTS")"
  stage_done 3
fi
