# Stage bookkeeping for recipes; *source* it after parse_options.sh. Use:
#
#   if stage_begin 2 "extract features" data/train "upstream=$upstream" "layers=$layers"; then
#     ...work...
#     stage_done 2
#   fi
#
# stage_begin runs the stage only when stage <= N <= stop_stage. Its remaining arguments
# are the stage's inputs: an existing file counts by its content, an existing directory by
# its file list with sizes and mtimes, anything else (options) by its text. A stage whose
# done marker $stage_done_dir/stageN holds the same hash is skipped, so re-running a
# recipe redoes only what changed; `force=true` in the caller reruns it anyway. The hash is
# also exported as STAGE_HASH: run_jobs.sh only trusts a finished job log made under the
# same hash. stage_done writes the marker last, atomically, so an interrupted stage is
# never taken as done. Needs the caller's variables stage, stop_stage and expdir
# (stage_done_dir defaults to $expdir/.done).

# Timestamped message on stderr, in the format every stage line uses.
sb_log() {
  echo "$(date '+%Y-%m-%d %H:%M:%S') $*" >&2
}

# sha256 of the inputs: file content, directory listing, or the literal text.
stage_hash() {
  local arg
  for arg in "$@"; do
    if [ -f "$arg" ]; then
      printf 'file %s %s\n' "$arg" "$(sha256sum < "$arg" | cut -d' ' -f1)"
    elif [ -d "$arg" ]; then
      printf 'dir %s %s\n' "$arg" \
        "$(cd "$arg" && find -L . -type f -printf '%p %s %T@\n' | LC_ALL=C sort | sha256sum | cut -d' ' -f1)"
    else
      printf 'text %s\n' "$arg"
    fi
  done | sha256sum | cut -d' ' -f1
}

# stage_begin N WHAT [INPUT...]: succeed (run the stage) or fail (skip it).
stage_begin() {
  local n=$1 what=$2
  shift 2
  local marker=${stage_done_dir:-$expdir/.done}/stage$n
  if [ "$n" -lt "$stage" ] || [ "$n" -gt "$stop_stage" ]; then
    return 1
  fi
  STAGE_HASH=$(stage_hash "$@")
  export STAGE_HASH
  if [ "${force:-false}" != true ] && [ -f "$marker" ] && [ "$(head -n 1 "$marker")" = "$STAGE_HASH" ]; then
    sb_log "stage $n: $what (done before with the same inputs; skipped, rm $marker to redo)"
    return 1
  fi
  rm -f "$marker"
  sb_log "stage $n: $what"
  _SB_STAGE_INPUTS=("$@")
  return 0
}

# stage_done N: record stage N as finished for the inputs given to stage_begin.
stage_done() {
  local n=$1
  local marker=${stage_done_dir:-$expdir/.done}/stage$n
  mkdir -p "$(dirname "$marker")"
  {
    echo "$STAGE_HASH"
    printf '# input: %s\n' "${_SB_STAGE_INPUTS[@]}"
    echo "# finished $(date '+%Y-%m-%d %H:%M:%S')"
  } > "$marker.tmp"
  mv "$marker.tmp" "$marker"
  sb_log "stage $n: done"
}
