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
. "$utils/task_defaults.sh"
corpus=mini             # mini or voxceleb1
db=                     # voxceleb1: root holding iden_split.txt and wav/ (or dev/wav, test/wav)
train_dir=              # your own train data dir (wav.scp, utt2spk)
dev_dir=                # your own dev data dir (same speakers as train)
test_dir=               # your own test data dir (same speakers as train)
. "$utils/parse_options.sh"
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
