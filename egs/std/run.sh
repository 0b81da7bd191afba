#!/usr/bin/env bash
# Query-by-example spoken term detection (subsequence DTW on frozen features; MTWV/ATWV/Cnxe):
# mini corpus by default, QUESST 2014 (English, as SUPERB) as the real corpus, or your own dirs.
# Nothing is trained: stage 3 scores every layer on dev and reports the best one on eval.
#   ./run.sh                                   # everything on the mini corpus, fbank
#   ./run.sh --corpus quesst14 --db /data/quesst14Database --upstream hubert --upstream-ckpt hubert_base_ls960.pt
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../utils/recipe.sh"

help_message="Usage: $0 [options]  (stages: 0 mini corpus, 1 data, 2 features, 3 DTW scoring, 5 report)"
corpus=mini             # mini or quesst14
db=                     # quesst14: the quesst14Database directory
languages=nnenglish     # quesst14: language keys to keep (SUPERB: nnenglish)
docs_dir=               # your own documents data dir (wav.scp)
dev_dir=                # your own dev queries data dir (wav.scp, ground_truth)
eval_dir=               # your own eval queries data dir (wav.scp, ground_truth)
layer=all               # hidden-state index, or all: the best MTWV on dev
. "$utils/parse_options.sh"

task=std
sets="docs queries_dev queries_eval"
user_dirs="docs_dir dev_dir eval_dir"
require=ground_truth
require_docs=
mini_data=std
. "$utils/task.sh"

prepare_quesst14() {
  python -m speechbench.corpora.quesst14 --db "$db" --out "$data" --languages "$languages"
}

sb_stage_corpus 0
sb_stage_data 1 "languages=$languages"
sb_stage_extract 2

exp=$(sb_exp_name)
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
sb_stage_score 5 eval
