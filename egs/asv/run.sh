#!/usr/bin/env bash
# Speaker verification (SUPERB ASV): x-vector head, cosine scoring of trials, EER and minDCF.
# Mini corpus by default, VoxCeleb1 (veri_test2.txt trials) as the real corpus, or your own
# data dirs (--train-dir with utt2spk; --test-dir with trials). Dev is a set of
# whole training speakers held out with generated trials (--dev-speakers), unless --dev-dir
# (with trials) is given: the best checkpoint is chosen on it, never on the test trials.
#   ./run.sh                                   # everything on the mini corpus, fbank
#   ./run.sh --corpus voxceleb1 --db /data/VoxCeleb1   # SUPERB settings: conf/voxceleb1.yaml
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../utils/recipe.sh"

corpus=mini             # mini or voxceleb1
db=                     # voxceleb1: root holding veri_test2.txt, vox1_meta.csv and wav/ (or dev/wav, test/wav)
trials=veri_test2.txt   # voxceleb1: trial list under --db (veri_test2.txt is the cleaned Vox1-O)
dev_speakers=           # speakers held out of training for dev trials (default: 4 mini, 20 voxceleb1)
train_dir=              # your own train data dir (wav.scp, utt2spk)
dev_dir=                # your own dev data dir with trials (default: held out of train)
test_dir=               # your own test data dir (wav.scp, trials)
. "$utils/parse_options.sh"

task=asv
require=utt2spk
require_dev=trials
require_test=trials
user_dirs="train_dir test_dir"  # --dev-dir alone replaces the held-out speakers of any corpus
. "$utils/task.sh"

# $data/train and $data/dev (held-out training speakers with trials, unless --dev-dir) from
# a training dir; $data/test linked to a test dir with trials.
asv_split() {
  local train_src=$1 test_src=$2 d
  for d in "$train_src" "$test_src" ${dev_dir:+"$dev_dir"}; do
    [ -d "$d" ] || { echo "$0: data dir $d not found (set --train-dir/--test-dir, or run stage 0)" >&2; exit 1; }
  done
  mkdir -p "$data"
  rm -rf "$data/train" "$data/dev" "$data/test"
  if [ -n "$dev_dir" ]; then
    ln -s "$(cd "$train_src" && pwd)" "$data/train"
    ln -s "$(cd "$dev_dir" && pwd)" "$data/dev"
  else
    python -m speechbench.data.trials --train "$train_src" --out-train "$data/train" \
      --out-dev "$data/dev" --dev-speakers "${dev_speakers:-4}" --seed 0
  fi
  ln -s "$(cd "$test_src" && pwd)" "$data/test"
}
prepare_custom() {
  [ -n "$train_dir" ] && [ -n "$test_dir" ] || { echo "$0: your own data needs --train-dir and --test-dir (a data dir with trials)" >&2; exit 1; }
  asv_split "$train_dir" "$test_dir"
}
prepare_mini() {
  asv_split "$mini_dir/data/asv/train" "$mini_dir/data/asv/test"
}
prepare_voxceleb1() {  # test (the trial list) and train_all (iden_split.txt), split unless --dev-dir
  local split=(--dev-speakers "${dev_speakers:-20}")
  [ -z "$dev_dir" ] || split=(--no-split)
  python -m speechbench.corpora.voxceleb1 --db "$db" --out "$data" --task asv --trials "$trials" "${split[@]}"
  if [ -n "$dev_dir" ]; then
    rm -rf "$data/train" "$data/dev"
    ln -s train_all "$data/train"
    ln -s "$(cd "$dev_dir" && pwd)" "$data/dev"
  fi
}

sb_stage_corpus 0
sb_stage_data 1 "trials=$trials" "dev_speakers=$dev_speakers" "$dev_dir"
sb_stage_extract 2
sb_stage_train 3
sb_stage_evaluate 4
sb_stage_score 5
