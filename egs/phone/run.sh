#!/usr/bin/env bash
# Phone classification (frame-level linear probe): mini corpus by default, LibriSpeech with
# MFA alignments or TIMIT as real corpora, or your own data dirs (--train-dir ...).
#   ./run.sh                                   # everything on the mini corpus, fbank
#   ./run.sh --corpus librispeech --db /data/LibriSpeech --alignments /data/mfa_librispeech
#   ./run.sh --stage 2 --upstream apc --upstream-ckpt apc.ckpt
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../utils/recipe.sh"

corpus=mini             # mini, librispeech or timit
db=                     # corpus root for a real corpus (the LibriSpeech/ or TIMIT/ directory)
alignments=             # librispeech: Montreal Forced Aligner TextGrid dir (the frame labels)
train_dir=              # your own train data dir (wav.scp, ali.scp, phones.txt)
dev_dir=                # your own dev data dir
test_dir=               # your own test data dir
. "$utils/parse_options.sh"

task=phone
require=ali.scp,phones.txt
mini_data=read
. "$utils/task.sh"

prepare_librispeech() {
  [ -n "$alignments" ] || { echo "$0: --corpus librispeech needs --alignments, the MFA TextGrid dir (the frame labels)" >&2; exit 1; }
  python -m speechbench.corpora.librispeech --db "$db" --out "$data" --alignments "$alignments" \
    --sets train-clean-100,dev-clean,test-clean --names train,dev,test
}
prepare_timit() {  # 61 -> 39 phones, core test set
  python -m speechbench.corpora.timit --db "$db" --out "$data"
}

sb_stage_corpus 0
sb_stage_data 1 "$alignments"
sb_stage_extract 2
sb_stage_train 3
sb_stage_evaluate 4
sb_stage_score 5
