#!/usr/bin/env bash
# Spoken question answering (text question, spoken passage, answer time span; FF1/AOS): mini
# corpus by default, Spoken SQuAD (NMSQA release) as the real corpus, or your own data dirs.
#   ./run.sh                                   # everything on the mini corpus, fbank
#   ./run.sh --corpus spoken_squad --db /data/NMSQA --splits train,dev,dev
#   ./run.sh --stage 2 --upstream apc --upstream-ckpt apc.ckpt
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
utils=../utils
. "$utils/path.sh"

help_message="Usage: $0 [options]  (stages: 0 mini corpus, 1 data, 2 features, 3 train, 4 evaluate, 5 score)"
. "$utils/task_defaults.sh"
corpus=mini             # mini or spoken_squad
db=                     # spoken_squad: directory with S-answer-span.csv, S-v1.1.json, S_audios/
splits=train,dev,dev    # spoken_squad: the release's split names used as train,dev,test
audio_ext=wav           # spoken_squad: passage audio extension
train_dir=              # your own train data dir (wav.scp, question, utt2answer)
dev_dir=                # your own dev data dir
test_dir=               # your own test data dir
. "$utils/parse_options.sh"
. "$utils/task.sh"

task=qa
sets="train dev test"
mini_sets="train dev test"
require=question,utt2answer
stage_done_dir=$(sb_stage_dir)

sb_stage_corpus 0
case $corpus in
  mini) sb_stage_link_data 1 "$mini_dir/data/qa" ;;
  spoken_squad)
    IFS=, read -r -a names <<< "$splits"
    [ ${#names[@]} -eq 3 ] || { echo "$0: --splits needs three names (train,dev,test), got '$splits'" >&2; exit 1; }
    if stage_begin 1 "Spoken SQuAD data ($splits) from $db" "$db" "splits=$splits" "ext=$audio_ext"; then
      python -m speechbench.corpora.spoken_squad --db "$db" --out "$data/release" --ext "$audio_ext" \
        --splits "$(printf '%s\n' "${names[@]}" | sort -u | paste -sd,)"
      read -r -a targets <<< "$sets"
      for i in 0 1 2; do
        rm -rf "${data:?}/${targets[$i]}"
        ln -s "release/${names[$i]}" "$data/${targets[$i]}"
        python -m speechbench.data.validate "$data/${targets[$i]}" --require "$require"
      done
      stage_done 1
    fi ;;
  *) echo "$0: --corpus must be mini or spoken_squad (or give --train-dir/--dev-dir/--test-dir)" >&2; exit 1 ;;
esac
sb_stage_extract 2
sb_stage_train 3
sb_stage_evaluate 4
sb_stage_score 5
