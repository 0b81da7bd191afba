#!/usr/bin/env bash
# TASK (its head and metric): mini corpus by default, CORPUS as the real corpus, or your own data
# dirs. Copy this folder to egs/<task>/ and replace TASK, CORPUS and the comments (README.md);
# every recipe under egs/ has this shape.
#   ./run.sh                                   # every stage on the mini corpus, fbank
#   ./run.sh --corpus CORPUS --db /data/CORPUS --upstream apc --upstream-ckpt /abs/apc.ckpt
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../utils/recipe.sh"

corpus=mini             # mini or CORPUS
db=                     # CORPUS: the corpus root
train_dir=              # your own train data dir (wav.scp and the task's label file)
dev_dir=                # your own dev data dir
test_dir=               # your own test data dir
. "$utils/parse_options.sh"

task=TASK               # the downstream: speechbench/downstream/TASK, config conf/<corpus>.yaml
require=utt2label       # files every set needs besides wav.scp
mini_data=TASK          # the mini corpus' data dir for this task (<mini dir>/data/TASK/{train,dev,test})
. "$utils/task.sh"

prepare_CORPUS() {  # stage 1 for --corpus CORPUS: write $data/{train,dev,test} from $db
  python -m speechbench.corpora.CORPUS --db "$db" --out "$data"
}

sb_stage_corpus 0
sb_stage_data 1
sb_stage_extract 2
sb_stage_train 3
sb_stage_evaluate 4
sb_stage_score 5
