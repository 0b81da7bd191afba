#!/usr/bin/env bash
# Keyword spotting (SUPERB KS: 10 keywords + _unknown_ + _silence_, accuracy): mini corpus by
# default (isolated words of its speakers, in the Speech Commands layout), Speech Commands
# v0.01 (with SUPERB's separate test set), or your own data dirs.
#   ./run.sh                                                          # mini corpus, fbank
#   ./run.sh --corpus speech_commands --db /data/speech_commands_v0.01 \
#            --test-db /data/speech_commands_test_set_v0.01
#   ./run.sh --data-dir my                                            # my/{train,dev,test} with utt2label
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../utils/recipe.sh"

corpus=mini             # mini or speech_commands
db=                     # speech_commands: the speech_commands_v0.01 directory
test_db=                # speech_commands: the v0.01 test set SUPERB scores (empty: testing_list.txt)
train_dir=              # your own train data dir (wav.scp, utt2label)
dev_dir=                # your own dev data dir
test_dir=               # your own test data dir
. "$utils/parse_options.sh"

task=ks
require=utt2label
. "$utils/task.sh"

ks_mini=${mini_dir}-ks
prepare_mini() {
  python -m speechbench.corpora.speech_commands --db "$ks_mini/speech_commands" --out "$data"
}
prepare_speech_commands() {
  python -m speechbench.corpora.speech_commands --db "$db" ${test_db:+--test-db "$test_db"} --out "$data"
}

sb_stage_corpus 0 speechbench.corpora.mini.ks "$ks_mini"
sb_stage_data 1 "test_db=$test_db"
sb_stage_extract 2
sb_stage_train 3
sb_stage_evaluate 4
sb_stage_score 5
