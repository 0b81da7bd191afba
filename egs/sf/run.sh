#!/usr/bin/env bash
# Slot filling (SUPERB SF: CTC over characters and slot tags; slot-type F1, slot-value CER):
# mini corpus by default (spoken commands with slots, in the audio SNIPS layout), audio SNIPS
# with SUPERB's speaker split, or your own data dirs.
#   ./run.sh                                             # mini corpus, fbank
#   ./run.sh --corpus snips --db /data/SNIPS
#   ./run.sh --data-dir my                               # my/{train,dev,test} with text.slot
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
utils=../utils
. "$utils/path.sh"

help_message="Usage: $0 [options]  (stages: 0 mini corpus, 1 data + units, 2 features, 3 train, 4 decode, 5 score)"
. "$utils/task_defaults.sh"
corpus=mini             # mini or snips
db=                     # snips: the SNIPS directory (all.iob.snips.txt, train/, valid/, test/)
train_dir=              # your own train data dir (wav.scp, text.slot)
dev_dir=                # your own dev data dir
test_dir=               # your own test data dir
. "$utils/parse_options.sh"
. "$utils/task.sh"

task=sf
sets="train dev test"
mini_sets="train dev test"
require=text.slot
stage_done_dir=$(sb_stage_dir)
sf_mini=${mini_dir}-sf
units=$PWD/$data/lang_char_slot

sb_stage_task_corpus 0 speechbench.corpora.mini.sf "$sf_mini"
if [ -n "$train_dir" ]; then
  sb_stage_link_data 1 "$train_dir"
else
  case $corpus in
    mini) src=$sf_mini/SNIPS; speakers=(--train-speakers all --valid-speakers all --test-speakers all) ;;
    snips) src=$db; speakers=() ;;
    *) echo "$0: --corpus must be mini or snips (or give --train-dir/--dev-dir/--test-dir)" >&2; exit 1 ;;
  esac
  if stage_begin 1 "SNIPS data from $src" "$src" "${speakers[@]}"; then
    python -m speechbench.corpora.snips --db "$src" --out "$data" "${speakers[@]}"
    for set in $sets; do python -m speechbench.data.validate "$data/$set" --require "$require"; done
    stage_done 1
  fi
fi
# Units (characters and slot tags) come from the training transcripts only.
if [ -f $data/train/text.slot ] && { [ ! -f "$units/tokens.txt" ] || [ $data/train/text.slot -nt "$units/tokens.txt" ]; }; then
  python -m speechbench.downstream._modules.units --text $data/train/text.slot --unit char_slot --out-dir "$units"
fi
extra_overrides="config.downstream_expert.datarc.tokens=$units/tokens.txt${extra_overrides:+,,$extra_overrides}"
sb_stage_extract 2
sb_stage_train 3
sb_stage_evaluate 4
sb_stage_score 5
