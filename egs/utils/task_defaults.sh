# Options every task recipe shares; a recipe sources this first in its defaults block, then
# adds its own (corpus, db, data dir comments, task options). `--help` lists both.
stage=0                 # first stage to run
stop_stage=100          # last stage to run
mini_size=mini          # tiny (tests) or mini (demo)
mini_dir=               # where the mini corpus is built (default downloads/mini-<size>)
data_dir=               # your own data: a dir holding train/ dev/ test/ data dirs
data_tag=               # name of this data in data/, dump/, exp/ (default: mini size, corpus, or custom)
upstream=baseline       # upstream name (speechbench/upstream/<name>)
upstream_ckpt=          # upstream weights (-k): a released name (speechbench models), a file, or random
upstream_options=       # upstream options key=value,...
layer=                  # one hidden layer instead of the weighted sum
layers=all              # layers kept in the feature cache (all, 0,4,8 or best)
use_cache=true          # train from cached features (stage 2) instead of running the upstream
train_config=           # task config YAML (default conf/<corpus>.yaml)
lr=                     # learning rate override
extra_overrides=        # more -o overrides (config.a.b=v,,config.c=w)
seed=1337               # training seed
nj=2                    # parallel jobs
expdir=exp              # experiments go to exp/<data tag>/<upstream>_<ws|lN>
cmd_backend=local       # local or slurm (egs/utils/cmd.sh)
slurm_conf=conf/slurm.conf  # Slurm options for cmd_backend=slurm
max_parallel=           # local backend: jobs at once (empty: nproc)
force=false             # true: rerun the selected stages even when done
