#!/usr/bin/env bash
# Emotion recognition (mean pooling + linear, accuracy): mini corpus by default (its four
# prosody styles), IEMOCAP with leave-one-session-out cross-validation, or your own data dirs.
#   ./run.sh                                           # everything on the mini corpus, fbank
#   ./run.sh --corpus iemocap --db /data/IEMOCAP_full_release            # 5 folds + average
#   ./run.sh --corpus iemocap --db ... --fold 3                          # one fold
#   ./run.sh --train-dir my/train --dev-dir my/dev --test-dir my/test    # dirs with utt2emotion
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../utils/recipe.sh"

corpus=mini             # mini or iemocap
db=                     # iemocap: the IEMOCAP_full_release directory
fold=all                # iemocap: test session 1..5, or all (5 folds, then their average)
dev_fraction=0.2        # iemocap: share of the training sessions held out as dev
fold_seed=0             # iemocap: seed of the dev slice
train_dir=              # your own train data dir (wav.scp, utt2emotion)
dev_dir=                # your own dev data dir
test_dir=               # your own test data dir
. "$utils/parse_options.sh"

task=emotion
require=utt2emotion
mini_data=emotion
case $fold in
  all) folds="1 2 3 4 5" ;;
  [1-5]) folds=$fold ;;
  *) echo "$0: --fold must be 1..5 or all, not '$fold'" >&2; exit 1 ;;
esac
# IEMOCAP: one data dir per session (features are extracted once per session and shared by
# the folds); fold k tests on session k and trains on the others, minus a seeded dev slice.
cross_validation=false
if [ "$corpus" = iemocap ] && [ -z "$train_dir$dev_dir$test_dir" ]; then
  cross_validation=true
  sets="session1 session2 session3 session4 session5"
fi
. "$utils/task.sh"

prepare_iemocap() {
  local k
  python -m speechbench.corpora.iemocap --db "$db" --out "$data"
  for k in 1 2 3 4 5; do
    rm -rf "${data:?}/fold$k"
    python -m speechbench.downstream.emotion.cross_validation make-fold --sessions "$(printf "$data/%s," $sets)" \
      --fold "$k" --out "$data/fold$k" --dev-fraction "$dev_fraction" --seed "$fold_seed"
  done
  python -m speechbench.data.validate "$data"/fold[1-5]/{train,dev,test} --require "$require"
}

sb_stage_corpus 0
sb_stage_data 1 "dev_fraction=$dev_fraction" "fold_seed=$fold_seed"
sb_stage_extract 2
if [ "$cross_validation" = false ]; then
  sb_stage_train 3
  sb_stage_evaluate 4
  sb_stage_score 5
  exit 0
fi

cv_dumps=$(sb_dump_dirs)
sb_dump_dirs() { printf '%s' "$cv_dumps"; }  # every fold reads the per-session caches
base_tag=$data_tag
fold_exps=()
for k in $folds; do
  data_tag=$base_tag/fold$k
  sets="fold$k/train fold$k/dev fold$k/test"
  stage_done_dir=$(sb_stage_dir)
  sb_stage_train 3
  sb_stage_evaluate 4
  sb_stage_score 5
  fold_exps+=("$(sb_exp_name)")
done
data_tag=$base_tag
stage_done_dir=$(sb_stage_dir)

if [ "$fold" = all ]; then
  cv_exp=$(sb_exp_name)_cv
  if stage_begin 5 "average of folds ${folds// /,} -> $cv_exp" "${fold_exps[@]/%//test_results.json}"; then
    python -m speechbench.downstream.emotion.cross_validation average --out "$cv_exp" "${fold_exps[@]}"
    python -m speechbench.report.results --expdir "$cv_exp" --summary "$expdir/RESULTS.md"
    stage_done 5
  fi
fi
