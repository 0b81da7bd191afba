#!/usr/bin/env bash
# Speaker diarization (SUPERB SD: frame-level activities of two speakers with a PIT loss; DER
# with overlap scored): mini corpus by default (two-speaker mixtures of its utterances, in the
# Libri2Mix layout), Libri2Mix, or your own data dirs.
#   ./run.sh                                              # mini corpus, fbank
#   ./run.sh --corpus librimix --db /data/Libri2Mix/wav16k/max --rttm-dir /data/LibriMix/metadata/LibriSpeech
#   ./run.sh --data-dir my                                # my/{train,dev,test}: wav.scp per recording + rttm
#   ./run.sh --stage 4 --collar 0.25                      # re-score with a 250 ms collar
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../utils/recipe.sh"
help_message="Usage: $0 [options]  (stages: 0 mini corpus, 1 mixtures + data, 2 features, 3 train, 4 decode, 5 score)"

corpus=mini             # mini or librimix
db=                     # librimix: the Libri2Mix wav16k/max directory
rttm_dir=               # librimix: the source utterances' RTTMs (LibriMix fork: metadata/LibriSpeech)
mix=both                # librimix: mixture kind read (SUPERB: both)
collar=0                # seconds each side of reference boundaries left unscored (SUPERB: 0)
threshold=0.5           # decoding: speaker active above this probability
median=11               # decoding: median filter length (frames, odd)
train_dir=              # your own train data dir (wav.scp, rttm)
dev_dir=                # your own dev data dir
test_dir=               # your own test data dir
. "$utils/parse_options.sh"

task=sd
require=rttm
. "$utils/task.sh"

sd_mini=${mini_dir}-sd
prepare_mini() {  # two-speaker mixtures of the mini corpus's utterances, in the Libri2Mix layout
  python -m speechbench.corpora.mini.sd --base "$mini_dir" --out "$sd_mini"
  python -m speechbench.corpora.librimix --db "$sd_mini/Libri2Mix/wav16k/max" --rttm-dir "$sd_mini/metadata/LibriSpeech" \
    --out "$data" --mix clean --splits train,dev,test
}
prepare_librimix() {
  [ -n "$rttm_dir" ] || { echo "$0: --corpus librimix needs --rttm-dir, the source utterances' RTTMs" >&2; exit 1; }
  python -m speechbench.corpora.librimix --db "$db" --rttm-dir "$rttm_dir" --out "$data" --mix "$mix"
}

sb_stage_corpus 0
sb_stage_data 1 "rttm_dir=$rttm_dir" "mix=$mix"
sb_stage_extract 2
sb_stage_train 3
exp=$(sb_exp_name)
decode="config.downstream_expert.decoderc.collar=$collar,,config.downstream_expert.decoderc.threshold=$threshold,,config.downstream_expert.decoderc.median=$median"
if stage_begin 4 "decode and score the test set with $exp (threshold $threshold, median $median, collar $collar)" \
    "$exp"/*.ckpt "$decode"; then
  $train_cmd "$exp/log/decode.log" python "$SPEECHBENCH_ROOT/run_benchmark.py" -m evaluate \
    -e "$(sb_best_checkpoint "$exp")" -t test -o "$decode"
  sb_log "$(tr '\n' ';' < "$exp/scoring/der.txt")"
  stage_done 4
fi
sb_stage_score 5
