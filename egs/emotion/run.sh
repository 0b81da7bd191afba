#!/usr/bin/env bash
# Emotion recognition (mean pooling + linear, accuracy): mini corpus by default (its four
# prosody styles), IEMOCAP with leave-one-session-out cross-validation, or your own data dirs.
#   ./run.sh                                           # everything on the mini corpus, fbank
#   ./run.sh --corpus iemocap --db /data/IEMOCAP_full_release            # 5 folds + average
#   ./run.sh --corpus iemocap --db ... --fold 3                          # one fold
#   ./run.sh --train-dir my/train --dev-dir my/dev --test-dir my/test    # dirs with utt2emotion
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
utils=../utils
. "$utils/path.sh"

help_message="Usage: $0 [options]  (stages: 0 mini corpus, 1 data, 2 features, 3 train, 4 evaluate, 5 score)"
. "$utils/task_defaults.sh"
corpus=mini             # mini or iemocap
db=                     # iemocap: the IEMOCAP_full_release directory
fold=all                # iemocap: test session 1..5, or all (5 folds, then their average)
dev_fraction=0.2        # iemocap: share of the training sessions held out as dev
fold_seed=0             # iemocap: seed of the dev slice
train_dir=              # your own train data dir (wav.scp, utt2emotion)
dev_dir=                # your own dev data dir
test_dir=               # your own test data dir
. "$utils/parse_options.sh"
. "$utils/task.sh"

task=emotion
sets="train dev test"
mini_sets="train dev test"
require=utt2emotion
stage_done_dir=$(sb_stage_dir)

if [ "$corpus" != iemocap ] || [ -n "$train_dir" ]; then
  sb_stage_corpus 0
  case $corpus in
    mini) sb_stage_link_data 1 "$mini_dir/data/emotion" ;;
    *) echo "$0: --corpus must be mini or iemocap (or give --train-dir/--dev-dir/--test-dir)" >&2; exit 1 ;;
  esac
  sb_stage_extract 2
  sb_stage_train 3
  sb_stage_evaluate 4
  sb_stage_score 5
  exit 0
fi

# IEMOCAP: one data dir per session; fold k tests on session k and trains on the others
# (minus a seeded dev slice). Features are extracted once per session and shared by the folds.
case $fold in
  all) folds="1 2 3 4 5" ;;
  [1-5]) folds=$fold ;;
  *) echo "$0: --fold must be 1..5 or all, not '$fold'" >&2; exit 1 ;;
esac
sessions="session1 session2 session3 session4 session5"
if stage_begin 1 "IEMOCAP sessions and folds from $db" "$db" "dev_fraction=$dev_fraction" "fold_seed=$fold_seed"; then
  [ -d "$db" ] || { echo "$0: --db '$db' is not a directory; point it at IEMOCAP_full_release" >&2; exit 1; }
  python -m speechbench.corpora.iemocap --db "$db" --out "$data"
  session_dirs=$(printf "$data/%s," $sessions)
  for k in 1 2 3 4 5; do
    rm -rf "${data:?}/fold$k"
    python -m speechbench.downstream.emotion.cross_validation make-fold --sessions "${session_dirs%,}" \
      --fold "$k" --out "$data/fold$k" --dev-fraction "$dev_fraction" --seed "$fold_seed"
    for set in train dev test; do python -m speechbench.data.validate "$data/fold$k/$set" --require "$require"; done
  done
  stage_done 1
fi

sets=$sessions
cv_dumps=$(sb_dump_dirs)
sb_stage_extract 2
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

if [ "$fold" = all ] && [ 5 -ge "$stage" ] && [ 5 -le "$stop_stage" ]; then
  cv_exp=$(sb_exp_name)_cv
  sb_log "stage 5: average of folds ${folds// /,} -> $cv_exp"
  python -m speechbench.downstream.emotion.cross_validation average --out "$cv_exp" "${fold_exps[@]}"
  python -m speechbench.report.results --expdir "$cv_exp" --summary RESULTS.md
fi
