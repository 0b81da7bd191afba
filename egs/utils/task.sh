# Stages shared by every downstream recipe; *source* it after stage.sh. A recipe sets its
# defaults (task, sets, mini_sets, require, ...), parses options, then calls:
#
#   sb_stage_corpus 0                 build the embedded mini corpus (when --corpus mini)
#   sb_stage_task_corpus 0 MODULE OUT  or a task's own mini corpus (python -m MODULE --out OUT)
#   sb_stage_link_data 1 SRC_PARENT   data/<set> -> SRC_PARENT/<mini set> (or --*-dir), validated
#   sb_stage_extract 2                upstream features of every set into dump/<tag>/<set>
#   sb_stage_train 3                  run_benchmark.py -m train (resumes a killed run)
#   sb_stage_evaluate 4               run_benchmark.py -m evaluate on the test set
#   sb_stage_score 5                  exp/<tag>/<name>/RESULTS.md and a line in exp/RESULTS.md
#
# Variables read: task upstream upstream_ckpt upstream_options layer layers use_cache nj
# seed lr train_config extra_overrides sets (train dev test names under data/) mini_size mini_dir
# require (files each set must hold) data_tag expdir, and train_cmd/extract_cmd from cmd.sh.
# Sourcing it also rejects leftover positional arguments and sources cmd.sh and stage.sh.
# Everything a run writes is namespaced by the data it ran on (data_tag: the mini size, the
# corpus name, or "custom" for --train-dir/--dev-dir/--test-dir), so a tiny test run never
# collides with a mini or real-corpus run: data/<tag>/<set>, dump/<tag>/<upstream>/<set>,
# exp/<tag>/<upstream>_<layers>.

[ $# -eq 0 ] || { echo "$0: unexpected argument '$1' (options start with --; see --help)" >&2; exit 1; }
_sb_utils=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$_sb_utils/cmd.sh"
. "$_sb_utils/stage.sh"
unset _sb_utils

mini_dir=${mini_dir:-$SPEECHBENCH_ROOT/downloads/mini-$mini_size}
if [ -n "${data_dir:-}" ] && [ -n "${train_dir+x}" ]; then  # --data-dir D means D/train D/dev D/test
  train_dir=${train_dir:-$data_dir/train}; dev_dir=${dev_dir:-$data_dir/dev}; test_dir=${test_dir:-$data_dir/test}
fi
if [ -z "${data_tag:-}" ]; then
  if [ -n "${train_dir:-}" ]; then data_tag=custom
  elif [ "$corpus" = mini ]; then data_tag=$mini_size
  else data_tag=$corpus
  fi
fi
data=data/$data_tag

# Name of this upstream setting: the upstream, plus the checkpoint's file name when given.
sb_upstream_tag() {
  local t=$upstream
  [ -n "$upstream_ckpt" ] && t+="_$(basename "${upstream_ckpt%.*}")"
  [ -n "$upstream_options" ] && t+="_$(printf '%s' "$upstream_options" | tr -c 'A-Za-z0-9.' '_')"
  printf '%s' "$t"
}

# Experiment directory of this run (upstream tag, layer mode, learning rate).
sb_exp_name() {
  local mode=ws
  [ -n "$layer" ] && mode="l$layer"
  printf '%s/%s/%s_%s%s' "$expdir" "$data_tag" "$(sb_upstream_tag)" "$mode" "${lr:+_lr$lr}"
}

# Done markers of this run's stages (per data, upstream, layer mode and learning rate).
sb_stage_dir() {
  printf '%s/.done/%s/%s' "$expdir" "$data_tag" "$(basename "$(sb_exp_name)")"
}

sb_stage_corpus() {
  local n=$1
  [ "$corpus" = mini ] && [ -z "${train_dir:-}" ] || return 0
  if stage_begin "$n" "build the mini corpus ($mini_size) in $mini_dir" "size=$mini_size" "dir=$mini_dir"; then
    python -m speechbench.corpora.mini --size "$mini_size" --out "$mini_dir" --nj "$nj"
    stage_done "$n"
  fi
}

# A task's own synthetic corpus in its real corpus's layout (keyword spotting, slot filling):
# `python -m MODULE --size <mini size> --out OUT --nj <nj>`, when --corpus mini.
sb_stage_task_corpus() {
  local n=$1 module=$2 out=$3
  [ "$corpus" = mini ] && [ -z "${train_dir:-}" ] || return 0
  if stage_begin "$n" "build the $task mini corpus ($mini_size) in $out" "size=$mini_size" "dir=$out"; then
    python -m "$module" --size "$mini_size" --out "$out" --nj "$nj"
    stage_done "$n"
  fi
}

# $data/<set> for each of train dev test: user dirs, else the mini corpus sets under $1.
sb_stage_link_data() {
  local n=$1 src=$2 i set from
  local user=("$train_dir" "$dev_dir" "$test_dir")
  read -r -a names <<< "$sets"
  read -r -a minis <<< "$mini_sets"
  if stage_begin "$n" "data dirs for $task from ${train_dir:-$src}" "$src" "sets=$sets" "${user[@]}"; then
    mkdir -p "$data"
    for i in 0 1 2; do
      set=${names[$i]}
      from=${user[$i]:-}
      [ -n "$from" ] || from=$src/${minis[$i]}
      [ -d "$from" ] || { echo "$0: data dir $from not found (set --${set}-dir, or run stage 0)" >&2; exit 1; }
      rm -rf "${data:?}/$set"
      ln -s "$(cd "$from" && pwd)" "$data/$set"
      python -m speechbench.data.validate "$data/$set" --require "$require"
    done
    stage_done "$n"
  fi
}

# Absolute dump dirs of the three sets, comma-separated (the runner's --feature_cache).
sb_dump_dirs() {
  local set out=()
  for set in $sets; do out+=("$PWD/dump/$data_tag/$(sb_upstream_tag)/$set"); done
  (IFS=,; printf '%s' "${out[*]}")
}

sb_upstream_args() {
  upstream_args=(--upstream "$upstream")
  [ -n "$upstream_ckpt" ] && upstream_args+=(--upstream-ckpt "$upstream_ckpt")
  [ -n "$upstream_options" ] && upstream_args+=(--upstream-options "$upstream_options")
  return 0
}

sb_stage_extract() {
  local n=$1 set
  [ "$use_cache" = true ] || return 0
  sb_upstream_args
  if stage_begin "$n" "extract $(sb_upstream_tag) features (layers $layers)" "$data"/* "${upstream_args[@]}" \
      "layers=$layers" "nj=$nj"; then
    for set in $sets; do
      python -m speechbench.features.extract "${upstream_args[@]}" --data-dir "$data/$set" \
        --out "dump/$data_tag/$(sb_upstream_tag)/$set" --layers "$layers" --nj "$nj" --cmd "$extract_cmd" --num-threads 1
    done
    stage_done "$n"
  fi
}

# -o overrides pointing the task's datarc at $data/<set> (plus lr and the recipe's extras).
sb_overrides() {
  read -r -a names <<< "$sets"
  local o="config.downstream_expert.datarc.train=$PWD/$data/${names[0]}"
  o+=",,config.downstream_expert.datarc.dev=$PWD/$data/${names[1]}"
  o+=",,config.downstream_expert.datarc.test=$PWD/$data/${names[2]}"
  [ -n "$lr" ] && o+=",,config.optimizer.lr=$lr"
  [ -n "$extra_overrides" ] && o+=",,$extra_overrides"
  printf '%s' "$o"
}

sb_stage_train() {
  local n=$1 exp conf=${train_config:-conf/$corpus.yaml}
  exp=$(sb_exp_name)
  local args=(-u "$upstream" -d "$task" -c "$conf" -o "$(sb_overrides)" --seed "$seed" -p "$exp")
  [ -n "$upstream_ckpt" ] && args+=(-k "$upstream_ckpt")
  [ -n "$upstream_options" ] && args+=(--upstream_options "$upstream_options")
  [ -n "$layer" ] && args+=(-l "$layer")
  [ "$use_cache" = true ] && args+=(--feature_cache "$(sb_dump_dirs)")
  local inputs=("$conf" "args=${args[*]}" "$data"/*)
  [ -n "$upstream_ckpt" ] && inputs+=("$upstream_ckpt")
  [ "$use_cache" = true ] && inputs+=($(sb_dump_dirs | tr , ' '))
  if stage_begin "$n" "train $task on $(sb_upstream_tag) -> $exp" "${inputs[@]}"; then
    if [ -d "$exp" ] && [ "$(cat "$exp/.stage_hash" 2>/dev/null)" != "$STAGE_HASH" ]; then
      sb_log "$exp holds a run with other settings; keeping it as $exp.old-$(date +%s)"
      mv "$exp" "$exp.old-$(date +%s)"
    fi
    mkdir -p "$exp/log"
    echo "$STAGE_HASH" > "$exp/.stage_hash"
    if ls "$exp"/states-*.ckpt >/dev/null 2>&1; then
      sb_log "resuming the interrupted run in $exp"
      $train_cmd "$exp/log/train.log" python "$SPEECHBENCH_ROOT/run_benchmark.py" -m train -e "$exp"
    else
      $train_cmd "$exp/log/train.log" python "$SPEECHBENCH_ROOT/run_benchmark.py" -m train -n "$(basename "$exp")" "${args[@]}"
    fi
    stage_done "$n"
  fi
}

# The checkpoint to score: best on dev, else the newest.
sb_best_checkpoint() {
  local exp=$1
  if [ -f "$exp/best-states-dev.ckpt" ]; then printf '%s' "$exp/best-states-dev.ckpt"; else printf '%s' "$exp"; fi
}

sb_stage_evaluate() {
  local n=$1 exp ckpt
  exp=$(sb_exp_name)
  ckpt=$(sb_best_checkpoint "$exp")
  if stage_begin "$n" "evaluate $exp on ${sets##* }" "$exp/.stage_hash" "$exp"/*.ckpt; then
    $train_cmd "$exp/log/evaluate.log" python "$SPEECHBENCH_ROOT/run_benchmark.py" -m evaluate -e "$ckpt" -t test
    stage_done "$n"
  fi
}

sb_stage_score() {
  local n=$1 exp
  exp=$(sb_exp_name)
  if stage_begin "$n" "score $exp" "$exp/.stage_hash" "$exp/test_results.json"; then
    python -m speechbench.report.results --expdir "$exp" --summary "$expdir/RESULTS.md"
    stage_done "$n"
  fi
}
