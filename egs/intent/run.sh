#!/usr/bin/env bash
# Intent classification (three slot heads over a pooled utterance; accuracy = all three
# slots right): mini corpus by default (its command set), Fluent Speech Commands, or your
# own data dirs.
#   ./run.sh                                                        # mini corpus, fbank
#   ./run.sh --corpus fluent_commands --db /data/fluent_speech_commands_dataset
#   ./run.sh --train-dir my/train --dev-dir my/dev --test-dir my/test   # dirs with utt2intent
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../utils/recipe.sh"

corpus=mini             # mini or fluent_commands
db=                     # fluent_commands: the fluent_speech_commands_dataset directory
train_dir=              # your own train data dir (wav.scp, utt2intent)
dev_dir=                # your own dev data dir
test_dir=               # your own test data dir
. "$utils/parse_options.sh"

task=intent
require=utt2intent
mini_data=intent
. "$utils/task.sh"

# The tiny corpus has fewer training utterances than commands: the slot values come from the
# corpus's command set, so unseen dev/test values score as errors.
classes=$PWD/$data/classes.yaml
prepare_mini() {
  sb_link_sets
  python -m speechbench.corpora.mini.intents --out "$classes"
}
prepare_fluent_commands() {
  python -m speechbench.corpora.fluent_commands --db "$db" --out "$data"
}
[ "$(sb_data_source)" != mini ] || extra_overrides="config.downstream_expert.datarc.classes=$classes${extra_overrides:+,,$extra_overrides}"

sb_stage_corpus 0
sb_stage_data 1
sb_stage_extract 2
sb_stage_train 3
sb_stage_evaluate 4
sb_stage_score 5
