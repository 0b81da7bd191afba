# Stages shared by every downstream recipe; *source* it after parse_options.sh and the task's
# constants (see recipe.sh for the whole shape). A recipe lists its stages:
#
#   sb_stage_corpus 0     build the embedded mini corpus (when --corpus mini); a task with
#                         its own synthetic corpus in its real corpus's layout (keyword spotting,
#                         slot filling) gives its builder: sb_stage_corpus 0 MODULE OUT
#   sb_stage_data 1       data/<tag>/<set> for each set, then every set validated, audio included
#   sb_stage_extract 2    upstream features of every set into dump/<tag>/<upstream>/<set>
#   sb_stage_train 3      run_benchmark.py -m train (resumes a killed run)
#   sb_stage_evaluate 4   run_benchmark.py -m evaluate on the test set
#   sb_stage_score 5      exp/<tag>/<name>/RESULTS.md and a line in $expdir/RESULTS.md
#
# Task constants the recipe sets before sourcing: task (the downstream folder), require (files
# each set needs besides wav.scp; require_<set> overrides it for one set), mini_data (the mini
# corpus' data dir for this task), and when they differ from "train dev test": sets (names
# under data/<tag>/), mini_sets (their names in the mini corpus), user_dirs (the options
# naming the user's own dirs, one per set).
#
# Stage 1 takes the sets from the user's dirs (--train-dir ...), else from the corpus: the
# mini corpus is linked, a real corpus is prepared by the recipe's function prepare_<corpus>
# (which writes $data/<set>; --db is required). A recipe may define prepare_mini or
# prepare_custom to replace the linking, and finish_data for task files derived from the data
# (units, class lists): every file a recipe writes is written inside a stage.
#
# Everything a run writes is namespaced by the data it ran on (data_tag: the mini size, the
# corpus name, or "custom" for the user's dirs), so a tiny test run never collides with a mini
# or real-corpus run: data/<tag>/<set>, dump/<tag>/<upstream>/<set>, exp/<tag>/<upstream>_<layers>.
# Sourcing it also rejects leftover positional arguments and sources cmd.sh and stage.sh.

[ $# -eq 0 ] || { echo "$0: unexpected argument '$1' (options start with --; see --help)" >&2; exit 1; }
_sb_utils=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$_sb_utils/cmd.sh"
. "$_sb_utils/stage.sh"
unset _sb_utils

sets=${sets:-train dev test}
mini_sets=${mini_sets:-$sets}
user_dirs=${user_dirs:-train_dir dev_dir test_dir}
mini_dir=${mini_dir:-$SPEECHBENCH_ROOT/downloads/mini-$mini_size}
if [ -n "${data_dir:-}" ] && [ -n "${train_dir+x}" ]; then  # --data-dir D means D/train D/dev D/test
  train_dir=${train_dir:-$data_dir/train}; dev_dir=${dev_dir:-$data_dir/dev}; test_dir=${test_dir:-$data_dir/test}
fi

# The user's own dirs, one per set (empty where not given).
sb_user_dirs() {
  local var
  for var in $user_dirs; do printf '%s\n' "${!var:-}"; done
}

if [ -z "${data_tag:-}" ]; then
  if [ -n "$(sb_user_dirs | tr -d '\n')" ]; then data_tag=custom
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

# Experiment directory of this run (upstream tag, layer mode, learning rate, and the seed when it
# is not the default 1337, so runs of several seeds sit side by side).
sb_exp_name() {
  local mode=ws seed_tag=
  [ -n "$layer" ] && mode="l$layer"
  [ "$seed" = 1337 ] || seed_tag=_seed$seed
  printf '%s/%s/%s_%s%s%s' "$expdir" "$data_tag" "$(sb_upstream_tag)" "$mode" "${lr:+_lr$lr}" "$seed_tag"
}

# Done markers of this run's stages (per data, upstream, layer mode and learning rate).
sb_stage_dir() {
  printf '%s/.done/%s/%s' "$expdir" "$data_tag" "$(basename "$(sb_exp_name)")"
}

# The source of stage 1: custom (the user's dirs), mini, or the real corpus' name.
sb_data_source() {
  if [ -n "$(sb_user_dirs | tr -d '\n')" ]; then echo custom; else echo "$corpus"; fi
}

# sb_shared MARKERS LOCK FUNCTION ARGS...: run a stage whose output every run of the task shares
# (the corpus, data/<tag>, one upstream's feature dump) holding an exclusive lock on the file
# LOCK, with its done marker in $expdir/.done/<tag>/MARKERS instead of the run's own dir: runs
# started side by side (several upstreams or seeds of one task, the demo's parallel jobs) do the
# work once, and the others wait for it and find it done.
sb_shared() {
  local stage_done_dir=$expdir/.done/$data_tag/$1 lock=$2 fd
  shift 2
  mkdir -p "$(dirname "$lock")"
  exec {fd}>"$lock"
  flock "$fd"
  "$@"
  exec {fd}>&-
}

sb_stage_corpus() {
  local out=${3:-$mini_dir}
  [ "$(sb_data_source)" = mini ] || return 0
  sb_shared shared "$out.lock" _sb_build_corpus "$@"
}

_sb_build_corpus() {
  local n=$1 module=${2:-speechbench.corpora.mini} out=${3:-$mini_dir}
  if stage_begin "$n" "build the ${2:+$task }mini corpus ($mini_size) in $out" "size=$mini_size" "dir=$out" "$module"; then
    python -m "$module" --size "$mini_size" --out "$out" --nj "$nj"
    stage_done "$n"
  fi
}

# $data/<set> -> the user's dir of that set, else the mini corpus' set.
sb_link_sets() {
  local i=0 set from
  local -a user minis
  mapfile -t user < <(sb_user_dirs)
  read -r -a minis <<< "$mini_sets"
  mkdir -p "$data"
  for set in $sets; do
    from=${user[$i]:-}
    [ -n "$from" ] || from=$mini_dir/data/$mini_data/${minis[$i]}
    [ -d "$from" ] || { echo "$0: data dir $from not found (give --${user_dirs%% *} ..., or run stage 0)" >&2; exit 1; }
    from=$(cd "$from" && pwd)
    if [ "$(readlink "$data/$set" || true)" != "$from" ]; then  # a run reading the link keeps it
      rm -rf "${data:?}/$set"
      ln -s "$from" "$data/$set"
    fi
    i=$((i + 1))
  done
}

# Every set of $data, its files and its audio (each file opened), before any training; one
# validator call per distinct list of required files.
sb_validate_sets() {
  local set req
  local -A dirs=()
  for set in $sets; do
    req=require_$set
    req=${!req-$require}
    dirs[=$req]+=" $data/$set"  # "=": a key is never empty
  done
  for req in "${!dirs[@]}"; do
    python -m speechbench.data.validate ${dirs[$req]} --require "${req#=}" --audio
  done
}

# Stage 1: the data dirs of every set, validated. Extra arguments are more inputs of the stage
# (the recipe's data options), so changing one redoes it.
sb_stage_data() {
  sb_shared shared "$data.lock" _sb_prepare_data "$@"
}

_sb_prepare_data() {
  local n=$1 source known
  local -a user
  shift
  source=$(sb_data_source)
  mapfile -t user < <(sb_user_dirs)
  if [ "$source" != custom ] && [ "$source" != mini ] && ! declare -F "prepare_$source" > /dev/null; then
    known=$(declare -F | sed -n 's/^declare -f prepare_//p' | grep -v -e '^mini$' -e '^custom$' | tr '\n' ' ' || true)
    echo "$0: --corpus must be one of: mini ${known}(or give your own data dirs, see --help)" >&2
    exit 1
  fi
  if stage_begin "$n" "data dirs for $task from ${source/#custom/your data dirs} ($data)" "source=$source" \
      "corpus=$corpus" "${db:-}" "sets=$sets" "${user[@]}" "mini_dir=$mini_dir" "$@"; then
    if [ "$source" != custom ] && [ "$source" != mini ]; then
      [ -n "${db:-}" ] || { echo "$0: --corpus $corpus needs --db, the $corpus root directory" >&2; exit 1; }
      [ -d "$db" ] || { echo "$0: --db '$db' is not a directory; point it at the $corpus root" >&2; exit 1; }
    fi
    if declare -F "prepare_$source" > /dev/null; then "prepare_$source"; else sb_link_sets; fi
    sb_validate_sets
    if declare -F finish_data > /dev/null; then finish_data; fi
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
  [ "$use_cache" = true ] || return 0
  sb_shared "shared/features/$(sb_upstream_tag)" "dump/$data_tag/$(sb_upstream_tag).lock" _sb_extract "$@"
}

_sb_extract() {
  local n=$1 set dump
  local -a dirs=() outs=()
  dump=dump/$data_tag/$(sb_upstream_tag)
  for set in $sets; do dirs+=("$data/$set"); outs+=("$dump/$set"); done
  sb_upstream_args
  if stage_begin "$n" "extract $(sb_upstream_tag) features (layers $layers)" "$data"/* "${upstream_args[@]}" \
      "layers=$layers" "nj=$nj"; then
    if [ "$upstream" = control ]; then  # chance/ceiling features come from the labels, not from audio
      python -m speechbench.upstream.control.write --task "$task" --kind "${upstream_options#kind=}" \
        --data-dir "${dirs[@]}" --out "${outs[@]}"
    elif [ "$nj" -eq 1 ] && [ "$cmd_backend" = local ]; then  # one local job: every set in this process
      python -m speechbench.features.extract "${upstream_args[@]}" --data-dir "${dirs[@]}" --out "${outs[@]}" \
        --layers "$layers" --nj 1 --num-threads 1
    else
      for set in $sets; do
        python -m speechbench.features.extract "${upstream_args[@]}" --data-dir "$data/$set" --out "$dump/$set" \
          --layers "$layers" --nj "$nj" --cmd "$extract_cmd" --num-threads 1
      done
    fi
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

# Score stage: RESULTS.md of the experiment (default $(sb_exp_name)) on a split (default test).
sb_stage_score() {
  local n=$1 split=${2:-test} exp=${3:-$(sb_exp_name)}
  if stage_begin "$n" "score $exp" "$exp/.stage_hash" "$exp/${split}_results.json"; then
    python -m speechbench.report.results --expdir "$exp" --split "$split" --summary "$expdir/RESULTS.md"
    stage_done "$n"
  fi
}

stage_done_dir=${stage_done_dir:-$(sb_stage_dir)}
