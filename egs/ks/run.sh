#!/usr/bin/env bash
# Keyword spotting (SUPERB KS: 10 keywords + _unknown_ + _silence_, accuracy): mini corpus by
# default (isolated words of its speakers, in the Speech Commands layout), Speech Commands
# v0.01 (with SUPERB's separate test set), or your own data dirs.
#   ./run.sh                                                          # mini corpus, fbank
#   ./run.sh --corpus speech_commands --db /data/speech_commands_v0.01 \
#            --test-db /data/speech_commands_test_set_v0.01
#   ./run.sh --data-dir my                                            # my/{train,dev,test} with utt2label
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
utils=../utils
. "$utils/path.sh"

help_message="Usage: $0 [options]  (stages: 0 mini corpus, 1 data, 2 features, 3 train, 4 evaluate, 5 score)"
. "$utils/task_defaults.sh"
corpus=mini             # mini or speech_commands
db=                     # speech_commands: the speech_commands_v0.01 directory
test_db=                # speech_commands: the v0.01 test set SUPERB scores (empty: testing_list.txt)
train_dir=              # your own train data dir (wav.scp, utt2label)
dev_dir=                # your own dev data dir
test_dir=               # your own test data dir
. "$utils/parse_options.sh"
. "$utils/task.sh"

task=ks
sets="train dev test"
mini_sets="train dev test"
require=utt2label
stage_done_dir=$(sb_stage_dir)
ks_mini=${mini_dir}-ks

sb_stage_task_corpus 0 speechbench.corpora.mini.ks "$ks_mini"
if [ -n "$train_dir" ]; then
  sb_stage_link_data 1 "$train_dir"
else
  case $corpus in
    mini) src=$ks_mini/speech_commands ;;
    speech_commands) src=$db ;;
    *) echo "$0: --corpus must be mini or speech_commands (or give --train-dir/--dev-dir/--test-dir)" >&2; exit 1 ;;
  esac
  if stage_begin 1 "Speech Commands data from $src" "$src" "test_db=$test_db"; then
    python -m speechbench.corpora.speech_commands --db "$src" ${test_db:+--test-db "$test_db"} --out "$data"
    for set in $sets; do python -m speechbench.data.validate "$data/$set" --require "$require"; done
    stage_done 1
  fi
fi
sb_stage_extract 2
sb_stage_train 3
sb_stage_evaluate 4
sb_stage_score 5
