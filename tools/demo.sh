#!/usr/bin/env bash
# The demo (`make demo`): on the embedded mini corpus, pretrain small upstreams on its
# unlabelled split, run every task's recipe for the fbank baseline and each pretrained
# upstream (features cached by the recipes), then write the leaderboard.
#   tools/demo.sh                           # mini corpus, all upstreams and tasks -> result/demo/
#   tools/demo.sh --size tiny --upstreams apc --tasks "phone emotion" --pretrain-steps 20 --train-steps 40
#   tools/demo.sh --lr-sweep "1e-2 1e-3"    # best of these learning rates per upstream and task
#   tools/demo.sh --upstreams "apc wav2vec2:wav2vec_small"  # UPSTREAM:NAME: a released model, fetched by name
#   tools/demo.sh --seeds 3                 # every head with seeds 1337, 1338, 1339: mean ± spread
#   tools/demo.sh --upstreams all           # every upstream the demo can pretrain (make demo UPSTREAMS=all)
#   tools/demo.sh --jobs 1                  # one step at a time (default: one per core, side by side)
# Besides the upstreams, every trained task gets two control rows (speechbench/upstream/control):
# *chance*, the head on features that carry nothing, and *ceiling*, on features that carry the answer.
# Re-running skips finished work (the recipes' stage markers) and redoes only the report.
# Output: <out>/leaderboard.md, leaderboard.csv, leaderboard_runs.csv, *.png, timings.tsv,
# and one log per step in <out>/logs/. A task whose recipe is missing is skipped with a
# warning; a failing step is reported at the end (exit 1) without stopping the others.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
. egs/utils/path.sh

help_message="Usage: $0 [options]"
size=mini                      # mini corpus size: mini (the demo) or tiny (CI)
upstreams="apc npc tera cpc"  # upstreams to pretrain and benchmark (besides fbank); UPSTREAM:NAME uses released weights; all: every one with a speechbench/pretrain/conf/*.yaml
tasks="phone pr asr ks std qa speaker asv sd emotion intent sf"  # recipes under egs/ to run
pretrain_steps=300             # pretraining steps (empty: speechbench/pretrain/conf/<upstream>.yaml)
train_steps=300                # training steps of every trained head (empty: each recipe's config)
task_steps="sf:1000"           # TASK:STEPS for tasks --train-steps leaves at chance (slot filling's CTC over characters and tags)
seeds=1                        # seeds per head (1337, 1338, ...); the leaderboard shows mean ± standard deviation
controls=true                  # chance and ceiling control rows (false: upstreams only)
task_args=                     # more options for every task recipe (e.g. "--seed 7")
lr_sweep=                      # learning rates to sweep per upstream and task (empty: each recipe's own)
exp_root=                      # experiments under DIR/<recipe>/exp/ instead of egs/<recipe>/exp/ (tests, scratch runs)
out=                           # output folder (default result/demo, or result/demo-<size> when not mini)
jobs=$(nproc)                  # steps run side by side, one thread each (pretraining and heads; a head waits for its upstream)
nj=2                           # parallel jobs for corpus building, and for each recipe's feature extraction when --jobs is 1
threads=1                      # CPU threads of every step (more than the free cores makes torch crawl)
. egs/utils/parse_options.sh
. egs/utils/stage.sh  # sb_log: the timestamped progress line every recipe prints
[ $# -eq 0 ] || { echo "$0: unexpected argument '$1' (options start with --; see --help)" >&2; exit 1; }
# torch's intra-op threads spin when the cores are busy: one SD training step took 12 s with 2
# threads beside other work and 0.6 s with 1 (LSTM heads do many small operations).
export OMP_NUM_THREADS=$threads
[ "$upstreams" = all ] && upstreams=$(cd speechbench/pretrain/conf && ls -- *.yaml | sed 's/\.yaml$//' | tr '\n' ' ')
case $size in mini|tiny) ;; *) echo "$0: --size must be mini or tiny, got '$size'" >&2; exit 1 ;; esac
[[ $seeds =~ ^[1-9][0-9]*$ ]] || { echo "$0: --seeds must be a positive number, got '$seeds'" >&2; exit 1; }
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "$0: --jobs must be a positive number, got '$jobs'" >&2; exit 1; }
recipe_nj=$nj
[ "$jobs" -eq 1 ] || recipe_nj=1  # side by side, each recipe extracts in its own process (no extra Python per job)
[ -n "$out" ] || { [ "$size" = mini ] && out=result/demo || out=result/demo-$size; }
mkdir -p "$out/logs"
out=$(cd "$out" && pwd)
if [ -n "$exp_root" ]; then mkdir -p "$exp_root" && exp_root=$(cd "$exp_root" && pwd); fi
timings=$out/timings.tsv
status_dir=$out/logs/steps    # one line per finished step (name, seconds, status), by step number
rm -rf "$status_dir" && mkdir -p "$status_dir"
untrained_tasks=" std "        # scored without a trained head: nothing to sweep
t_start=$SECONDS

# Task recipes present, in order; the others are announced and skipped.
todo=()
for t in $tasks; do
  if [ -f "egs/$t/run.sh" ]; then todo+=("$t"); else sb_log "demo: warning: egs/$t/run.sh not found; skipping task $t"; fi
done
read -r -a ups <<< "$upstreams"
pretrained=0
for u in "${ups[@]}"; do [[ $u == *:* ]] || pretrained=$((pretrained + 1)); done
heads=0
for t in "${todo[@]}"; do
  if [[ $untrained_tasks == *" $t "* ]]; then heads=$((heads + 1 + ${#ups[@]})); else heads=$((heads + (1 + ${#ups[@]}) * seeds)); fi
done
[ "$controls" = true ] && heads=$((heads + 2 * ${#todo[@]}))
total=$(( 1 + pretrained + heads + 1 ))
n=0

# step K NAME LOG CMD...: run step number K, its output into LOG, one progress line before and
# after, its line of timings.tsv into its status file (status_file K).
step() {
  local k=$1 name=$2 log=$3 t0=$SECONDS rc=0 status=ok
  shift 3
  sb_log "[demo $k/$total, $((SECONDS - t_start)) s] $name ..."
  "$@" > "$log" 2>&1 || rc=$?
  local dt=$((SECONDS - t0))
  if [ $rc -eq 0 ]; then
    sb_log "[demo $k/$total] $name: done in $dt s"
  else
    status=failed
    sb_log "[demo $k/$total] $name: FAILED (exit $rc) after $dt s; last lines of $log:"
    tail -n 15 "$log" | sed 's/^/    /' >&2
  fi
  printf '%s\t%d\t%s\n' "$name" "$dt" "$status" > "$(status_file "$k")"
}
status_file() { printf '%s/%04d' "$status_dir" "$1"; }

# run_step NAME LOG CMD...: the next step, now. launch NAME LOG CMD...: the next step in the
# background once fewer than --jobs steps run. await K: until step K has finished. reap: wait
# for one background step to end.
running=0
reap() {
  wait -n || true
  running=$((running - 1))
}
run_step() {
  n=$((n + 1))
  step "$n" "$@"
}
launch() {
  n=$((n + 1))
  while [ "$running" -ge "$jobs" ]; do reap; done
  step "$n" "$@" &
  running=$((running + 1))
}
await() {
  while [ ! -f "$(status_file "$1")" ] && [ "$running" -gt 0 ]; do reap; done
}

run_step "mini corpus ($size)" "$out/logs/corpus.log" \
  python -m speechbench.corpora.mini --size "$size" --out "downloads/mini-$size" --nj "$nj"

declare -A ckpt=() pretrain_step=()
for u in "${ups[@]}"; do
  if [[ $u == *:* ]]; then ckpt[$u]=${u#*:}; continue; fi  # a released model's name: the recipes fetch it
  pdir=${exp_root:+$exp_root/pretrain/}exp/$size
  args=(--upstream "$u" --mini-size "$size" --expdir "$pdir" --num-threads "$threads")
  [ -n "$pretrain_steps" ] && args+=(--steps "$pretrain_steps")
  launch "pretrain $u" "$out/logs/pretrain_$u.log" bash egs/pretrain/run.sh "${args[@]}"
  pretrain_step[$u]=$n
  [ -n "$exp_root" ] && ckpt[$u]=$pdir/$u/$u.ckpt || ckpt[$u]=$root/egs/pretrain/$pdir/$u/$u.ckpt
done

read -r -a extra <<< "$task_args"
declare -A steps_of=()
for ts in $task_steps; do steps_of[${ts%%:*}]=${ts#*:}; done
# add_steps_args T: append to args the recipe option setting task T's training steps (evaluate on
# dev twice, log layer weights four times).
add_steps_args() {
  local s=${steps_of[$1]:-$train_steps}
  [ -n "$s" ] || return 0
  local half=$(( s / 2 > 0 ? s / 2 : 1 )) quarter=$(( s / 4 > 0 ? s / 4 : 1 ))
  args+=(--extra-overrides "config.runner.total_steps=$s,,config.runner.eval_step=$half,,config.runner.save_step=$half,,config.runner.log_step=$quarter")
}
for t in "${todo[@]}"; do
  task_seeds=$(seq 1337 $((1336 + seeds)))
  [[ $untrained_tasks == *" $t "* ]] && task_seeds=1337
  runs=(baseline "${ups[@]}")
  [ "$controls" = true ] && runs+=(control:chance control:ceiling)
  for u in "${runs[@]}"; do
    args=(--mini-size "$size" --nj "$recipe_nj" "${extra[@]}")
    [ -n "$exp_root" ] && args+=(--expdir "$exp_root/$t/exp")
    [[ $untrained_tasks == *" $t "* ]] || add_steps_args "$t"
    if [[ $u == control:* ]]; then
      args+=(--upstream control --upstream-options "kind=${u#control:}")
    elif [ "$u" != baseline ]; then
      [ -n "${pretrain_step[$u]:-}" ] && await "${pretrain_step[$u]}"
      if [[ $u != *:* ]] && [ ! -f "${ckpt[$u]}" ]; then
        sb_log "demo: warning: no $u checkpoint (${ckpt[$u]}); skipping $t with $u"
        n=$((n + $(wc -w <<< "$task_seeds"))); continue
      fi
      args+=(--upstream "${u%%:*}" --upstream-ckpt "${ckpt[$u]}")
    fi
    log=$out/logs/${t}_${u/:/_}
    [[ $u == control:* ]] && these_seeds=1337 || these_seeds=$task_seeds
    for seed in $these_seeds; do
      [ "$seed" = 1337 ] && name="$t with $u" || name="$t with $u (seed $seed)"
      [ "$seed" = 1337 ] || log=$out/logs/${t}_${u/:/_}_seed$seed
      if [ -n "$lr_sweep" ] && [[ $untrained_tasks != *" $t "* ]] && [[ $u != control:* ]]; then
        launch "$name (lr sweep: $lr_sweep)" "$log.log" \
          speechbench sweep "egs/$t" --lrs "$lr_sweep" --log "$log.recipe.log" -- "${args[@]}" --seed "$seed"
      else
        launch "$name" "$log.log" bash "egs/$t/run.sh" "${args[@]}" --seed "$seed"
      fi
    done
  done
done

wait
run_step "leaderboard" "$out/logs/report.log" speechbench report --egs "${exp_root:-$root/egs}" --data-tag "$size" --out "$out"
cat "$out/logs/report.log" >&2
{ printf 'step\tseconds\tstatus\n'; cat "$status_dir"/*; } > "$timings"
sb_log "demo: finished in $((SECONDS - t_start)) s; per-step times in $timings; leaderboard in $out/leaderboard.md"
mapfile -t failed < <(awk -F '\t' '$3 == "failed" { print $1 }' "$status_dir"/*)
if [ ${#failed[@]} -gt 0 ]; then
  sb_log "demo: ${#failed[@]} step(s) failed: $(IFS=,; echo "${failed[*]}") (see $out/logs/)"
  exit 1
fi
