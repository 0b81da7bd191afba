#!/usr/bin/env bash
# Query-by-example spoken term detection (subsequence DTW on frozen features; MTWV/ATWV/Cnxe):
# mini corpus by default, QUESST 2014 (English, as SUPERB) as the real corpus, or your own dirs.
# Nothing is trained: stage 3 scores every layer on dev and reports the best one on eval.
#   ./run.sh                                   # everything on the mini corpus, fbank
#   ./run.sh --corpus quesst14 --db /data/quesst14Database --upstream hubert --upstream-ckpt hubert_base_ls960.pt
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
utils=../utils
. "$utils/path.sh"

help_message="Usage: $0 [options]  (stages: 0 mini corpus, 1 data, 2 features, 3 DTW scoring, 5 report)"
. "$utils/task_defaults.sh"
corpus=mini             # mini or quesst14
db=                     # quesst14: the quesst14Database directory
languages=nnenglish     # quesst14: language keys to keep (SUPERB: nnenglish)
docs_dir=               # your own documents data dir (wav.scp)
dev_dir=                # your own dev queries data dir (wav.scp, ground_truth)
eval_dir=               # your own eval queries data dir (wav.scp, ground_truth)
layer=all               # hidden-state index, or all: the best MTWV on dev
. "$utils/parse_options.sh"
[ -z "$data_tag" ] && [ -n "$docs_dir" ] && data_tag=custom
. "$utils/task.sh"

task=std
sets="docs queries_dev queries_eval"
require=ground_truth
stage_done_dir=$(sb_stage_dir)
exp=$expdir/$data_tag/$(sb_upstream_tag)_l$layer

[ -n "$docs_dir" ] || sb_stage_corpus 0
case $corpus in
  mini)
    if stage_begin 1 "data dirs for std (${docs_dir:-$mini_dir/data/std})" "$mini_dir/data/std" "$docs_dir" "$dev_dir" \
        "$eval_dir"; then
      mkdir -p "$data"
      for pair in "docs:$docs_dir" "queries_dev:$dev_dir" "queries_eval:$eval_dir"; do
        set=${pair%%:*} from=${pair#*:}
        [ -n "$from" ] || from=$mini_dir/data/std/$set
        [ -d "$from" ] || { echo "$0: data dir $from not found (set --docs-dir/--dev-dir/--eval-dir, or run stage 0)" >&2; exit 1; }
        rm -rf "${data:?}/$set"
        ln -s "$(cd "$from" && pwd)" "$data/$set"
        if [ "$set" = docs ]; then
          python -m speechbench.data.validate "$data/$set"
        else
          python -m speechbench.data.validate "$data/$set" --require "$require"
        fi
      done
      stage_done 1
    fi ;;
  quesst14)
    if stage_begin 1 "QUESST 2014 data ($languages) from $db" "$db" "languages=$languages"; then
      python -m speechbench.corpora.quesst14 --db "$db" --out "$data" --languages "$languages"
      stage_done 1
    fi ;;
  *) echo "$0: --corpus must be mini or quesst14 (or give --docs-dir/--dev-dir/--eval-dir)" >&2; exit 1 ;;
esac
sb_stage_extract 2

sb_upstream_args
if stage_begin 3 "DTW scoring of $(sb_upstream_tag), layer $layer -> $exp" "$data"/* "${upstream_args[@]}" \
    "layer=$layer" "use_cache=$use_cache"; then
  cache_args=()
  if [ "$use_cache" = true ]; then
    dump=$PWD/dump/$data_tag/$(sb_upstream_tag)
    cache_args=(--feature-cache-docs "$dump/docs" --feature-cache-queries "$dump/queries_dev" "$dump/queries_eval")
  fi
  mkdir -p "$exp/log"
  $train_cmd "$exp/log/score.log" python -m speechbench.downstream.std.score "${upstream_args[@]}" \
    --queries "$data/queries_dev" "$data/queries_eval" --docs "$data/docs" "${cache_args[@]}" --layer "$layer" \
    --out "$exp" --num-threads 1
  stage_done 3
fi

if stage_begin 5 "report $exp" "$exp/eval_results.json"; then
  python -m speechbench.report.results --expdir "$exp" --split eval --summary RESULTS.md
  stage_done 5
fi
