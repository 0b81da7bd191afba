#!/usr/bin/env bash
# Pretrain a small self-supervised upstream on unlabelled audio (a Kaldi data dir) and write
# it in its authors' checkpoint layout, ready for `-k` / `--upstream-ckpt`.
#   ./run.sh --upstream apc                   # mini corpus, unlabelled split
#   ./run.sh --upstream tera --data-dir /path/to/data/train --steps 20000 --device cuda
# Upstreams: apc vq_apc npc mockingjay tera audio_albert cpc.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
utils=../utils
. "$utils/path.sh"

help_message="Usage: $0 [options]  (stages: 0 mini corpus, 1 data check, 2 pretrain)"
. "$utils/recipe_defaults.sh"
upstream=apc            # apc, vq_apc, npc, mockingjay, tera, audio_albert or cpc
data_dir=               # unlabelled data dir (default: the mini corpus' unlabeled/train)
corpus=mini             # mini: build the embedded corpus when --data-dir is not given
pretrain_config=        # pretraining YAML (default speechbench/pretrain/conf/<upstream>.yaml)
steps=                  # override the config's number of steps
batch_size=             # override the config's batch size
lr=                     # override the config's learning rate
seed=0                  # pretraining seed
device=cpu              # cpu or cuda
num_threads=2           # CPU threads
expdir=exp              # the checkpoint goes to exp/<upstream>/<upstream>.ckpt
. "$utils/parse_options.sh"

stage_done_dir=$expdir/.done/$upstream
. "$utils/task.sh"
[ -n "$data_dir" ] || data_dir=$mini_dir/data/unlabeled/train
out=$expdir/$upstream/$upstream.ckpt

[ -z "${data_dir##"$mini_dir"*}" ] && sb_stage_corpus 0

if stage_begin 1 "check the unlabelled data dir $data_dir" "$data_dir"; then
  python -m speechbench.data.validate "$data_dir" --audio
  stage_done 1
fi

args=(--upstream "$upstream" --data-dir "$data_dir" --out "$out" --seed "$seed" --device "$device"
      --num-threads "$num_threads" --no-progress)
[ -n "$pretrain_config" ] && args+=(--config "$pretrain_config")
[ -n "$steps" ] && args+=(--steps "$steps")
[ -n "$batch_size" ] && args+=(--batch-size "$batch_size")
[ -n "$lr" ] && args+=(--lr "$lr")
# The options as one text input: --out names the stage's output, so hashing that file would redo the stage on every re-run.
if stage_begin 2 "pretrain $upstream -> $out" "$data_dir" "${pretrain_config:-default}" "options=${args[*]}"; then
  mkdir -p "$expdir/$upstream/log"
  $train_cmd "$expdir/$upstream/log/run.log" python -m speechbench.pretrain "${args[@]}"
  sb_log "checkpoint in the official $upstream layout: $out (use: --upstream $upstream --upstream-ckpt $(realpath "$out"))"
  stage_done 2
fi
