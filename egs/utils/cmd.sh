# Job backends for recipes; *source* it after parse_options.sh. Sets train_cmd, decode_cmd
# and extract_cmd to the same runner (run_jobs.sh) for the backend in $cmd_backend:
#
#   local  JOB=1:N jobs on this machine, at most $max_parallel (default: nproc) at once
#   slurm  one `sbatch --array` per call, options from $slurm_conf (partition, time, mem,
#          gpus; see egs/TEMPLATE/conf/slurm.conf); training and extraction ask for a GPU
#
# Use: $extract_cmd JOB=1:$nj $dir/log/extract.JOB.log python -m ... --job JOB
# The command line is the same for both backends; edit here, or pass --cmd-backend.

_cmd_runner=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/run_jobs.sh
case ${cmd_backend:-local} in
  local)
    _cmd_base="$_cmd_runner --backend local"
    [ -n "${max_parallel:-}" ] && _cmd_base+=" --max-parallel $max_parallel"
    train_cmd=$_cmd_base
    decode_cmd=$_cmd_base
    extract_cmd=$_cmd_base
    ;;
  slurm)
    _cmd_base="$_cmd_runner --backend slurm --slurm-conf ${slurm_conf:-conf/slurm.conf}"
    train_cmd="$_cmd_base --gpus 1"
    decode_cmd=$_cmd_base
    extract_cmd="$_cmd_base --gpus 1"
    ;;
  *)
    echo "cmd.sh: cmd_backend must be local or slurm, got '${cmd_backend}'" >&2
    exit 1
    ;;
esac
unset _cmd_runner _cmd_base
