# Options every task recipe shares (recipe.sh sources it); the recipe adds its own (corpus, db,
# data dirs, task options) after it. `--help` lists these after the recipe's own.
. "$(dirname "${BASH_SOURCE[0]}")/recipe_defaults.sh"
_po_shared_defaults+=("${BASH_SOURCE[0]}")
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
expdir=exp              # experiments go to exp/<data tag>/<upstream>_<ws|lN>
