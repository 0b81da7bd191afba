#!/usr/bin/env bash
# Intent classification (three slot heads over a pooled utterance; accuracy = all three
# slots right): mini corpus by default (its command set), Fluent Speech Commands, or your
# own data dirs.
#   ./run.sh                                                        # mini corpus, fbank
#   ./run.sh --corpus fluent_commands --db /data/fluent_speech_commands_dataset
#   ./run.sh --train-dir my/train --dev-dir my/dev --test-dir my/test   # dirs with utt2intent
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
utils=../utils
. "$utils/path.sh"

help_message="Usage: $0 [options]  (stages: 0 mini corpus, 1 data, 2 features, 3 train, 4 evaluate, 5 score)"
. "$utils/task_defaults.sh"
corpus=mini             # mini or fluent_commands
db=                     # fluent_commands: the fluent_speech_commands_dataset directory
train_dir=              # your own train data dir (wav.scp, utt2intent)
dev_dir=                # your own dev data dir
test_dir=               # your own test data dir
. "$utils/parse_options.sh"
. "$utils/task.sh"

task=intent
sets="train dev test"
mini_sets="train dev test"
require=utt2intent
stage_done_dir=$(sb_stage_dir)

sb_stage_corpus 0
if [ -n "$train_dir" ]; then
  sb_stage_link_data 1 "$train_dir"
else
  case $corpus in
    mini)
      sb_stage_link_data 1 "$mini_dir/data/intent"
      # The tiny corpus has fewer training utterances than commands: fix the slot values
      # from the corpus's command set, so unseen dev/test values score as errors.
      classes=$PWD/$data/classes.yaml
      mkdir -p "$data"
      [ -f "$classes" ] || python -m speechbench.corpora.mini.intents --out "$classes"
      extra_overrides="config.downstream_expert.datarc.classes=$classes${extra_overrides:+,,$extra_overrides}" ;;
    fluent_commands)
      if stage_begin 1 "Fluent Speech Commands data from $db" "$db/data"; then
        python -m speechbench.corpora.fluent_commands --db "$db" --out "$data"
        for set in $sets; do python -m speechbench.data.validate "$data/$set" --require "$require"; done
        stage_done 1
      fi ;;
    *) echo "$0: --corpus must be mini or fluent_commands (or give --train-dir/--dev-dir/--test-dir)" >&2; exit 1 ;;
  esac
fi
sb_stage_extract 2
sb_stage_train 3
sb_stage_evaluate 4
sb_stage_score 5
