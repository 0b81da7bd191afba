#!/usr/bin/env bash
# Phoneme recognition (CTC over phones, PER): mini corpus by default, LibriSpeech with a
# lexicon (SUPERB: train-clean-100 / dev-clean / test-clean), or your own data dirs.
#   ./run.sh                                   # everything on the mini corpus, fbank
#   ./run.sh --corpus librispeech --db /data/LibriSpeech --lexicon librispeech-lexicon.txt
#   ./run.sh --stage 2 --upstream apc --upstream-ckpt apc.ckpt
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../utils/recipe.sh"

help_message="Usage: $0 [options]  (stages: 0 mini corpus, 1 data + phone units, 2 features, 3 train, 4 decode, 5 score)"
corpus=mini             # mini or librispeech
db=                     # corpus root for a real corpus (the LibriSpeech/ directory)
lexicon=                # librispeech: CMUdict-style lexicon (librispeech-lexicon.txt) -> text.phn
stress=true             # librispeech: keep stress digits (SUPERB: AH0 AH1 ...); false strips them
train_dir=              # your own train data dir (wav.scp, text.phn)
dev_dir=                # your own dev data dir
test_dir=               # your own test data dir
decoder=greedy          # stage 4 decoding: greedy or beam (CTC prefix beam search)
beam=5                  # beam size for decoder=beam
. "$utils/parse_options.sh"

task=pr
require=text.phn
mini_data=read
. "$utils/task.sh"

units=$PWD/$data/lang_phone
prepare_librispeech() {
  [ -n "$lexicon" ] || { echo "$0: --corpus librispeech needs --lexicon (e.g. librispeech-lexicon.txt)" >&2; exit 1; }
  local stress_opt=()
  [ "$stress" = true ] || stress_opt=(--no-stress)
  python -m speechbench.corpora.librispeech --db "$db" --out "$data" --lexicon "$lexicon" "${stress_opt[@]}" \
    --sets train-clean-100,dev-clean,test-clean --names train,dev,test
}
finish_data() {  # the phone units come from the training transcripts only
  python -m speechbench.downstream._modules.units --text "$data/train/text.phn" --unit token --out-dir "$units"
}
extra_overrides="config.downstream_expert.datarc.tokens=$units/tokens.txt${extra_overrides:+,,$extra_overrides}"

sb_stage_corpus 0
sb_stage_data 1 "$lexicon" "stress=$stress"
sb_stage_extract 2
sb_stage_train 3

exp=$(sb_exp_name)
if stage_begin 4 "decode the test set with $exp ($decoder)" "$exp"/*.ckpt "decoder=$decoder" "beam=$beam"; then
  $train_cmd "$exp/log/decode_$decoder.log" python "$SPEECHBENCH_ROOT/run_benchmark.py" -m evaluate \
    -e "$(sb_best_checkpoint "$exp")" -t test \
    -o "config.downstream_expert.decoderc.type=$decoder,,config.downstream_expert.decoderc.beam=$beam"
  sb_log "$(cat "$exp/decode_test_$decoder/phone/result.txt")"
  stage_done 4
fi
sb_stage_score 5
