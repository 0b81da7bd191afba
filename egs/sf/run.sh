#!/usr/bin/env bash
# Slot filling (SUPERB SF: a CTC head over characters with slot tags; slot-type F1 and
# slot-value CER): mini corpus by default (its commands with slots, in the audio SNIPS
# layout), audio SNIPS with SUPERB's speaker split, or your own data dirs.
#   ./run.sh                                            # mini corpus, fbank
#   ./run.sh --corpus snips --db /data/SNIPS
#   ./run.sh --data-dir my                              # my/{train,dev,test} with text.slot
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../utils/recipe.sh"
help_message="Usage: $0 [options]  (stages: 0 mini corpus, 1 data + units, 2 features, 3 train, 4 decode, 5 score)"

corpus=mini             # mini or snips
db=                     # snips: the SNIPS directory (all.iob.snips.txt, train/, valid/, test/)
train_dir=              # your own train data dir (wav.scp, text.slot)
dev_dir=                # your own dev data dir
test_dir=               # your own test data dir
. "$utils/parse_options.sh"

task=sf
require=text.slot
. "$utils/task.sh"

sf_mini=${mini_dir}-sf
units=$PWD/$data/lang_char_slot
prepare_mini() {  # every mini speaker split is already train, dev or test
  python -m speechbench.corpora.snips --db "$sf_mini/SNIPS" --out "$data" \
    --train-speakers all --valid-speakers all --test-speakers all
}
prepare_snips() {
  python -m speechbench.corpora.snips --db "$db" --out "$data"
}
finish_data() {
  python -m speechbench.downstream._modules.units --text "$data/train/text.slot" --unit char_slot --out-dir "$units"
}
extra_overrides="config.downstream_expert.datarc.tokens=$units/tokens.txt${extra_overrides:+,,$extra_overrides}"

sb_stage_corpus 0 speechbench.corpora.mini.sf "$sf_mini"
sb_stage_data 1
sb_stage_extract 2
sb_stage_train 3
sb_stage_evaluate 4
sb_stage_score 5
