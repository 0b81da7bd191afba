# Options every recipe shares: the stage range, jobs and their backend, the mini corpus.
# task_defaults.sh and egs/pretrain source it in their defaults block; `--help` lists these
# after the recipe's own (parse_options.sh prints every file in _po_shared_defaults).
_po_shared_defaults+=("${BASH_SOURCE[0]}")
stage=0                 # first stage to run
stop_stage=100          # last stage to run
mini_size=mini          # tiny (tests) or mini (demo)
mini_dir=               # where the mini corpus is built (default downloads/mini-<size>)
nj=2                    # parallel jobs
cmd_backend=local       # local or slurm (egs/utils/cmd.sh)
slurm_conf=conf/slurm.conf  # Slurm options for cmd_backend=slurm
max_parallel=           # local backend: jobs at once (empty: nproc)
force=false             # true: rerun the selected stages even when done
