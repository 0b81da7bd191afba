#!/usr/bin/env bash
# Spoken question answering (text question, spoken passage, answer time span; FF1/AOS): mini
# corpus by default, Spoken SQuAD (NMSQA release) as the real corpus, or your own data dirs.
#   ./run.sh                                   # everything on the mini corpus, fbank
#   ./run.sh --corpus spoken_squad --db /data/NMSQA --splits train,dev,dev
#   ./run.sh --stage 2 --upstream apc --upstream-ckpt apc.ckpt
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../utils/recipe.sh"

corpus=mini             # mini or spoken_squad
db=                     # spoken_squad: directory with S-answer-span.csv, S-v1.1.json, S_audios/
splits=train,dev,dev    # spoken_squad: the release's split names used as train,dev,test
audio_ext=wav           # spoken_squad: passage audio extension
train_dir=              # your own train data dir (wav.scp, question, utt2answer)
dev_dir=                # your own dev data dir
test_dir=               # your own test data dir
. "$utils/parse_options.sh"

task=qa
require=question,utt2answer
mini_data=qa
. "$utils/task.sh"

# The release's splits into $data/release, and train/dev/test linked to the chosen ones.
prepare_spoken_squad() {
  local i names targets
  IFS=, read -r -a names <<< "$splits"
  [ ${#names[@]} -eq 3 ] || { echo "$0: --splits needs three names (train,dev,test), got '$splits'" >&2; exit 1; }
  python -m speechbench.corpora.spoken_squad --db "$db" --out "$data/release" --ext "$audio_ext" \
    --splits "$(printf '%s\n' "${names[@]}" | sort -u | paste -sd,)"
  read -r -a targets <<< "$sets"
  for i in 0 1 2; do
    rm -rf "${data:?}/${targets[$i]}"
    ln -s "release/${names[$i]}" "$data/${targets[$i]}"
  done
}

sb_stage_corpus 0
sb_stage_data 1 "splits=$splits" "ext=$audio_ext"
sb_stage_extract 2
sb_stage_train 3
sb_stage_evaluate 4
sb_stage_score 5
