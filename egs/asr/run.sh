#!/usr/bin/env bash
# ASR (CTC over characters or sentencepiece units; WER and CER): mini corpus by default,
# LibriSpeech (SUPERB: train-clean-100 / dev-clean / test-clean), or your own data dirs.
#   ./run.sh                                             # everything on the mini corpus, fbank
#   ./run.sh --corpus librispeech --db /data/LibriSpeech --upstream wav2vec2 --upstream-ckpt w2v.pt
#   ./run.sh --unit sentencepiece --vocab-size 300       # subword units instead of characters
#   ./run.sh --stage 4 --decoder beam --beam 10          # re-decode the test set with beam search
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../utils/recipe.sh"

help_message="Usage: $0 [options]  (stages: 0 mini corpus, 1 data + units, 2 features, 3 train, 4 decode, 5 score)"
corpus=mini             # mini or librispeech
db=                     # corpus root for a real corpus (the LibriSpeech/ directory)
test_set=test-clean     # librispeech: the subset scored as test (test-clean or test-other)
unit=char               # char or sentencepiece
vocab_size=300          # sentencepiece vocabulary size
train_dir=              # your own train data dir (wav.scp, text)
dev_dir=                # your own dev data dir
test_dir=               # your own test data dir
hidden_size=            # BiLSTM units per direction (default: the config's)
decoder=greedy          # stage 4 decoding: greedy or beam (CTC prefix beam search)
beam=5                  # beam size for decoder=beam
lm=                     # word n-gram LM (ARPA) fused into the beam search (decoder=beam)
lm_weight=2.0           # LM weight (SUPERB: 2)
word_score=-1.0         # per-word score (SUPERB: -1)
. "$utils/parse_options.sh"

task=asr
require=text
mini_data=read
case $unit in
  char) lang=lang_char ;;
  sentencepiece) lang=lang_bpe$vocab_size; expdir=$expdir/$lang ;;
  *) echo "$0: --unit must be char or sentencepiece" >&2; exit 1 ;;
esac
. "$utils/task.sh"

units=$PWD/$data/$lang
prepare_librispeech() {
  python -m speechbench.corpora.librispeech --db "$db" --out "$data" \
    --sets "train-clean-100,dev-clean,$test_set" --names train,dev,test
}
finish_data() {  # units (and the sentencepiece model) come from the training text only
  python -m speechbench.downstream._modules.units --text "$data/train/text" --unit "$unit" \
    --vocab-size "$vocab_size" --out-dir "$units"
}
o="config.downstream_expert.datarc.unit=$unit,,config.downstream_expert.datarc.tokens=$units/tokens.txt"
[ "$unit" = sentencepiece ] && o+=",,config.downstream_expert.datarc.spm_model=$units/spm.model"
[ -n "$hidden_size" ] && o+=",,config.downstream_expert.modelrc.hidden_size=$hidden_size"
extra_overrides="$o${extra_overrides:+,,$extra_overrides}"

sb_stage_corpus 0
sb_stage_data 1 "test_set=$test_set" "unit=$unit" "vocab_size=$vocab_size"
sb_stage_extract 2
sb_stage_train 3

exp=$(sb_exp_name)
decode="config.downstream_expert.decoderc.type=$decoder,,config.downstream_expert.decoderc.beam=$beam"
if [ -n "$lm" ]; then
  [ "$decoder" = beam ] || { echo "$0: --lm needs --decoder beam" >&2; exit 1; }
  decode+=",,config.downstream_expert.decoderc.lm=$(cd "$(dirname "$lm")" && pwd)/$(basename "$lm")"
  decode+=",,config.downstream_expert.decoderc.lm_weight=$lm_weight,,config.downstream_expert.decoderc.word_score=$word_score"
fi
if stage_begin 4 "decode the test set with $exp ($decoder)" "$exp"/*.ckpt "$decode" ${lm:+"$lm"}; then
  $train_cmd "$exp/log/decode_$decoder.log" python "$SPEECHBENCH_ROOT/run_benchmark.py" -m evaluate \
    -e "$(sb_best_checkpoint "$exp")" -t test -o "$decode"
  sb_log "$(cat "$exp/decode_test_$decoder/word/result.txt")"
  stage_done 4
fi
sb_stage_score 5
