"""Slot filling (SUPERB SF, audio SNIPS): CTC over characters and slot tags, scored on the slots.

SUPERB runs slot filling as its ASR task with a different vocabulary (s3prl: the ``ctc``
downstream with ``snips.yaml``): the transcript is the sentence with every slot value
wrapped in tags, ``play B-artist the beatles E-artist``, each tag one CTC unit next to the
characters of its value. So this expert is the ASR expert (same head, SpecAugment and
decoders; see :mod:`speechbench.downstream.asr.expert`) on ``char_slot`` units.

Data dir files beyond ``wav.scp``: ``text.slot`` (the slot-tagged transcript; tags are
``B-<type>``/``E-<type>`` with a type starting with a lower-case letter, see
:mod:`speechbench.metrics.slot_filling`). The unit table ``datarc.tokens`` is built from the
training ``text.slot`` in the data stage (``python -m speechbench.downstream._modules.units
--unit char_slot``); a dev/test character or slot type missing from it is one error.

Metrics (s3prl's definitions, in :mod:`speechbench.metrics.slot_filling`): ``slot_type_f1``
(first: the best checkpoint has the highest dev value; the SUPERB SF number with
``slot_value_cer``), ``slot_value_cer``, and ``wer``/``cer`` of the words with the tags
removed. The test split writes ``test_predictions.txt`` (decoded tagged text) and a
sclite-style word report of the untagged text under ``decode_test_<type>/word/``.
"""
from __future__ import annotations

import os

import numpy as np

from speechbench.downstream.asr.expert import DownstreamExpert as ASRExpert
from speechbench.metrics.error_rate import char_tokens, error_rate, write_sclite_report
from speechbench.metrics.slot_filling import slot_type_f1, slot_value_cer, strip_tags
from speechbench.errors import ConfigError
from speechbench.utils_io import atomic_open

DATARC = {"train": "data/train", "dev": "data/dev", "test": "data/test", "unit": "char_slot",
          "tokens": "data/lang_char_slot/tokens.txt", "spm_model": None, "batch_size": 32, "num_workers": 0,
          "seed": 0}


class DownstreamExpert(ASRExpert):
    TASK = "sf"
    TRANSCRIPT = "text.slot"
    METRIC = ("slot_type_f1", "max")
    OTHER_METRICS = {"slot_value_cer": "min", "wer": "min", "cer": "min"}
    DATARC = DATARC
    WORD_LM = False

    def __init__(self, upstream_dim: int, downstream_expert: dict, expdir: str, **kwargs: object) -> None:
        unit = (downstream_expert.get("datarc") or {}).get("unit", "char_slot")
        if unit != "char_slot":
            raise ConfigError(f"sf datarc.unit must be char_slot (characters and slot tags), got '{unit}'")
        super().__init__(upstream_dim, downstream_expert, expdir, **kwargs)

    def log_records(self, split: str, records: dict, logger, global_step: int, **kwargs: object) -> None:
        logger.add_scalar(f"{split}-loss", float(np.mean(records["loss"])), global_step)
        if split == "train":
            return
        hyps, refs = dict(records["hyps"]), dict(records["refs"])
        plain = [{u: strip_tags(t) for u, t in side.items()} for side in (refs, hyps)]
        words = [{u: t.split() for u, t in side.items()} for side in plain]
        chars = [{u: char_tokens(t) for u, t in side.items()} for side in plain]
        scores = {"slot_type_f1": slot_type_f1(refs, hyps), "wer": error_rate(*words).rate,
                  "cer": error_rate(*chars).rate}
        try:
            scores["slot_value_cer"] = slot_value_cer(refs, hyps)
        except ValueError:  # no slot values in this split's references: nothing to score
            pass
        for name, value in scores.items():
            logger.add_scalar(f"{split}-{name}{self._decoder_tag()}", value, global_step)
        if split == "test":
            out = os.path.join(self.expdir, f"decode_{split}_{self.decoderc['type']}", "word")
            os.makedirs(out, exist_ok=True)
            write_sclite_report(out, *words, unit="word")
            with atomic_open(os.path.join(self.expdir, f"{split}_predictions.txt"), "w", encoding="utf-8") as f:
                f.writelines(f"{u} {hyps[u]}\n" for u in sorted(hyps))
