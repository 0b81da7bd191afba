# Start of every task recipe (egs/<task>/run.sh); *source* it first:
#
#   set -euo pipefail
#   . "$(dirname "${BASH_SOURCE[0]}")/../utils/recipe.sh"
#   corpus=mini             # the recipe's own options (name=value  # help text)
#   . "$utils/parse_options.sh"
#   task=<name>; require=<files>; mini_data=<dir>      # what the task needs
#   . "$utils/task.sh"                                  # the shared stages
#   sb_stage_corpus 0; sb_stage_data 1; ...             # the recipe's stage list
#
# It moves into the recipe's directory (its data/, dump/ and exp/ are written there, so a
# recipe runs the same from any directory), activates the project environment (path.sh),
# sets $utils, the default usage line, and the options every task shares (task_defaults.sh;
# `--help` lists them after the recipe's own).
cd "$(dirname "${BASH_SOURCE[1]}")"
utils=../utils
. "$utils/path.sh"
help_message="Usage: $0 [options]  (stages: 0 mini corpus, 1 data, 2 features, 3 train, 4 evaluate, 5 score)"
. "$utils/task_defaults.sh"
