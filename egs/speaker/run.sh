#!/usr/bin/env bash
# Speaker identification (SUPERB SID): mini corpus by default, VoxCeleb1 (iden_split.txt) as
# the real corpus, or your own data dirs (--train-dir ...; each holds wav.scp and utt2spk).
#   ./run.sh                                   # everything on the mini corpus, fbank
#   ./run.sh --corpus voxceleb1 --db /data/VoxCeleb1   # SUPERB settings: conf/voxceleb1.yaml
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
utils=../utils
. "$utils/path.sh"

help_message="Usage: $0 [options]  (stages: 0 mini corpus, 1 data, 2 features, 3 train, 4 evaluate, 5 score)"
stage=0                 # first stage to run
stop_stage=100          # last stage to run
corpus=mini             # mini or voxceleb1
db=                     # voxceleb1: root holding iden_split.txt and wav/ (or dev/wav, test/wav)
mini_size=mini          # tiny (tests) or mini (demo)
mini_dir=               # where the mini corpus is built (default downloads/mini-<size>)
data_dir=               # your own data: a dir holding train/ dev/ test/ data dirs
train_dir=              # your own train data dir (wav.scp, utt2spk)
dev_dir=                # your own dev data dir (same speakers as train)
test_dir=               # your own test data dir (same speakers as train)
data_tag=               # name of this data in data/, dump/, exp/ (default: mini size, corpus, or custom)
upstream=baseline       # upstream name (speechbench/upstream/<name>)
upstream_ckpt=          # upstream checkpoint file (-k)
upstream_options=       # upstream options key=value,...
layer=                  # one hidden layer instead of the weighted sum
layers=all              # layers kept in the feature cache (all, 0,4,8 or best)
use_cache=true          # train from cached features (stage 2) instead of running the upstream
train_config=           # task config YAML (default conf/<corpus>.yaml)
lr=                     # learning rate override
extra_overrides=        # more -o overrides (config.a.b=v,,config.c=w)
seed=1337               # training seed
nj=2                    # parallel jobs
expdir=exp              # experiments go to exp/<upstream>_<layers>
cmd_backend=local       # local or slurm (egs/utils/cmd.sh)
slurm_conf=conf/slurm.conf  # Slurm options for cmd_backend=slurm
max_parallel=           # local backend: jobs at once (empty: nproc)
force=false             # true: rerun the selected stages even when done
. "$utils/parse_options.sh"
[ $# -eq 0 ] || { echo "$0: unexpected argument '$1' (options start with --; see --help)" >&2; exit 1; }
. "$utils/cmd.sh"
. "$utils/stage.sh"
. "$utils/task.sh"

task=speaker
sets="train dev test"
mini_sets="train dev test"
require=utt2spk
stage_done_dir=$(sb_stage_dir)

sb_stage_corpus 0
case $corpus in
  mini) sb_stage_link_data 1 "$mini_dir/data/read" ;;
  voxceleb1)
    if stage_begin 1 "VoxCeleb1 identification split from $db" "$db/iden_split.txt"; then
      python -m speechbench.corpora.voxceleb1 --db "$db" --out "$data" --task speaker
      for set in $sets; do python -m speechbench.data.validate "$data/$set" --require "$require"; done
      stage_done 1
    fi ;;
  *) echo "$0: --corpus must be mini or voxceleb1 (or give --train-dir/--dev-dir/--test-dir)" >&2; exit 1 ;;
esac
sb_stage_extract 2
sb_stage_train 3
sb_stage_evaluate 4
sb_stage_score 5
