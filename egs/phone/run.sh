#!/usr/bin/env bash
# Phone classification (frame-level linear probe): mini corpus by default, LibriSpeech with
# MFA alignments or TIMIT as real corpora, or your own data dirs (--train-dir ...).
#   ./run.sh                                   # everything on the mini corpus, fbank
#   ./run.sh --stage 2 --upstream apc --upstream-ckpt apc.ckpt
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
utils=../utils
. "$utils/path.sh"

help_message="Usage: $0 [options]  (stages: 0 mini corpus, 1 data, 2 features, 3 train, 4 evaluate, 5 score)"
. "$utils/task_defaults.sh"
corpus=mini             # mini, librispeech or timit
db=                     # corpus root for a real corpus (the LibriSpeech/ or TIMIT/ directory)
alignments=             # librispeech: Montreal Forced Aligner TextGrid dir
train_dir=              # your own train data dir (wav.scp, ali.scp, phones.txt)
dev_dir=                # your own dev data dir
test_dir=               # your own test data dir
. "$utils/parse_options.sh"
. "$utils/task.sh"

task=phone
sets="train dev test"
mini_sets="train dev test"
require=ali.scp,phones.txt
stage_done_dir=$(sb_stage_dir)

sb_stage_corpus 0
case $corpus in
  mini) sb_stage_link_data 1 "$mini_dir/data/read" ;;
  librispeech)
    if stage_begin 1 "LibriSpeech data with MFA alignments from $db" "$db" "$alignments"; then
      python -m speechbench.corpora.librispeech --db "$db" --out "$data" --alignments "$alignments" \
        --sets train-clean-100,dev-clean,test-clean --names train,dev,test
      stage_done 1
    fi ;;
  timit)
    if stage_begin 1 "TIMIT data (61 -> 39 phones, core test set) from $db" "$db"; then
      python -m speechbench.corpora.timit --db "$db" --out "$data"
      stage_done 1
    fi ;;
  *) echo "$0: --corpus must be mini, librispeech or timit (or give --train-dir/--dev-dir/--test-dir)" >&2; exit 1 ;;
esac
sb_stage_extract 2
sb_stage_train 3
sb_stage_evaluate 4
sb_stage_score 5
