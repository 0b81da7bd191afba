#!/usr/bin/env bash
# Speaker verification (SUPERB ASV): x-vector head, cosine scoring of trials, EER and minDCF.
# Mini corpus by default, VoxCeleb1 (veri_test2.txt trials) as the real corpus, or your own
# data dirs (--train-dir with utt2spk; --test-dir with trials). Dev is a set of
# whole training speakers held out with generated trials (--dev-speakers), unless --dev-dir
# (with trials) is given: the best checkpoint is chosen on it, never on the test trials.
#   ./run.sh                                   # everything on the mini corpus, fbank
#   ./run.sh --corpus voxceleb1 --db /data/VoxCeleb1   # SUPERB settings: conf/voxceleb1.yaml
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
utils=../utils
. "$utils/path.sh"

help_message="Usage: $0 [options]  (stages: 0 mini corpus, 1 data, 2 features, 3 train, 4 evaluate, 5 score)"
. "$utils/task_defaults.sh"
corpus=mini             # mini or voxceleb1
db=                     # voxceleb1: root holding veri_test2.txt, vox1_meta.csv and wav/ (or dev/wav, test/wav)
trials=veri_test2.txt   # voxceleb1: trial list under --db (veri_test2.txt is the cleaned Vox1-O)
dev_speakers=           # speakers held out of training for dev trials (default: 4 mini, 20 voxceleb1)
train_dir=              # your own train data dir (wav.scp, utt2spk)
dev_dir=                # your own dev data dir with trials (default: held out of train)
test_dir=               # your own test data dir (wav.scp, trials)
. "$utils/parse_options.sh"
. "$utils/task.sh"

task=asv
sets="train dev test"
stage_done_dir=$(sb_stage_dir)

# $data/train, $data/dev (held-out training speakers + trials, unless --dev-dir) and $data/test.
asv_data_dirs() {
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

sb_stage_corpus 0
if stage_begin 1 "data dirs for $task ($data_tag)" "corpus=$corpus" "$db" "trials=$trials" \
    "dev_speakers=$dev_speakers" "$train_dir" "$dev_dir" "$test_dir" "mini_dir=$mini_dir"; then
  if [ -n "$train_dir" ]; then
    [ -n "$test_dir" ] || { echo "$0: --train-dir needs --test-dir (a data dir with trials)" >&2; exit 1; }
    asv_data_dirs "$train_dir" "$test_dir"
  elif [ "$corpus" = mini ]; then
    asv_data_dirs "$mini_dir/data/asv/train" "$mini_dir/data/asv/test"
  elif [ "$corpus" = voxceleb1 ]; then
    python -m speechbench.corpora.voxceleb1 --db "$db" --out "$data" --task asv --trials "$trials" \
      --dev-speakers "${dev_speakers:-20}"
  else
    echo "$0: --corpus must be mini or voxceleb1 (or give --train-dir/--test-dir)" >&2; exit 1
  fi
  python -m speechbench.data.validate "$data/train" --require utt2spk
  python -m speechbench.data.validate "$data/dev" --require trials
  python -m speechbench.data.validate "$data/test" --require trials
  stage_done 1
fi
sb_stage_extract 2
sb_stage_train 3
sb_stage_evaluate 4
sb_stage_score 5
