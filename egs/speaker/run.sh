#!/usr/bin/env bash
# Speaker identification (SUPERB SID): mini corpus by default, VoxCeleb1 (iden_split.txt) as
# the real corpus, or your own data dirs (--train-dir ...; each holds wav.scp and utt2spk).
#   ./run.sh                                   # everything on the mini corpus, fbank
#   ./run.sh --corpus voxceleb1 --db /data/VoxCeleb1   # SUPERB settings: conf/voxceleb1.yaml
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../utils/recipe.sh"

corpus=mini             # mini or voxceleb1
db=                     # voxceleb1: root holding iden_split.txt and wav/ (or dev/wav, test/wav)
train_dir=              # your own train data dir (wav.scp, utt2spk)
dev_dir=                # your own dev data dir (same speakers as train)
test_dir=               # your own test data dir (same speakers as train)
. "$utils/parse_options.sh"

task=speaker
require=utt2spk
mini_data=read
. "$utils/task.sh"

prepare_voxceleb1() {
  python -m speechbench.corpora.voxceleb1 --db "$db" --out "$data" --task speaker
}

sb_stage_corpus 0
sb_stage_data 1
sb_stage_extract 2
sb_stage_train 3
sb_stage_evaluate 4
sb_stage_score 5
