"""What the CTC tasks (phoneme recognition, ASR) share: transcript data, loss, decoding, scoring.

A task subclass sets ``TASK``, ``TRANSCRIPT`` (its data-dir file), ``METRICS`` and builds
``self.head`` (features ``[B, T, D]`` + lengths -> logits ``[B, T', V]`` + output lengths,
``T'`` shorter when the head downsamples in time); everything else is here.

Evaluation decodes (greedy, or the prefix beam search with ``decoderc.type: beam``) and
scores against the transcripts; metric names get a ``_beam<N>[_lm]`` suffix when not greedy,
so a results table says how each number was decoded. The test split also writes
``<split>_predictions.txt`` and a sclite-style report per metric under
``decode_<split>_<type>/<unit>/`` (``ref.trn``, ``hyp.trn``, ``alignment.txt``, ``result.txt``).
"""
from __future__ import annotations

import logging
import os

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from speechbench.config_sections import ConfigError, expert_sections
from speechbench.data.dataset import UtteranceDataset
from speechbench.data.kaldi_dir import DataDirError
from speechbench.data.loader import make_dataloader
from speechbench.downstream._modules.ctc import greedy_decode, prefix_beam_search
from speechbench.downstream._modules.pooling import pad_features
from speechbench.downstream._modules.units import Tokenizer, UnknownSymbolError, load_tokenizer
from speechbench.metrics.error_rate import char_tokens, error_rate, write_sclite_report
from speechbench.utils_io import atomic_open

log = logging.getLogger("speechbench")
DECODERC = {"type": "greedy", "beam": 5, "token_beam": None, "lm": None, "lm_weight": 2.0, "word_score": -1.0,
            "unk_score": -20.0}
DECODERS = ("greedy", "beam")
# metric unit -> how a decoded/reference text becomes scoring tokens
SCORING_TOKENS = {"word": str.split, "phone": str.split, "char": char_tokens}


class TranscriptDataset(UtteranceDataset):
    """Utterances with a transcript file; items ``(utt, wav, target ids, transcript)``."""

    def __init__(self, data_dir: str, transcript: str, tokenizer: Tokenizer, tokens_path: str) -> None:
        self.require = (transcript,)
        super().__init__(data_dir)
        texts = self.data.file(transcript, needed_for="CTC targets (transcripts)")
        missing = [u for u in self.utts if u not in texts]
        if missing:
            raise DataDirError(f"{data_dir}/{transcript}: {len(missing)} utterances have no transcript "
                               f"(e.g. {missing[:3]}); run `python -m speechbench.data.validate {data_dir} --fix`")
        self.texts = {u: texts[u] for u in self.utts}
        self.targets: dict[str, list[int]] = {}
        unknown: dict[str, str] = {}
        for utt in self.utts:
            try:
                self.targets[utt] = tokenizer.encode(self.texts[utt])
            except UnknownSymbolError as e:
                for symbol in str(e).split():
                    unknown.setdefault(symbol, utt)
        if unknown:
            shown = ", ".join(f"'{s}' (e.g. in {u})" for s, u in sorted(unknown.items())[:10])
            raise DataDirError(f"{data_dir}/{transcript}: {len(unknown)} symbols are not in {tokens_path}: {shown}; "
                               f"normalise these transcripts, or rebuild the units from a training text that has them")

    def labels(self, utt: str) -> tuple:
        return torch.tensor(self.targets[utt], dtype=torch.long), self.texts[utt]


class CTCExpert(nn.Module):
    """Base expert: subclasses set the class attributes and ``self.head`` in ``__init__``."""

    TASK = "ctc"
    TRANSCRIPT = "text"
    METRICS: tuple[tuple[str, str], ...] = (("wer", "word"),)  # (name, unit); the first is the primary metric
    METRIC = ("wer", "min")
    DATARC: dict = {}
    SECTIONS: dict[str, dict] = {}  # the subclass's own sections (``modelrc``, ...) -> their defaults
    WORD_LM = False  # whether decoderc.lm (a word n-gram LM) applies

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "METRIC" not in vars(cls):  # a task scored by other than its METRICS declares its own
            cls.METRIC = (cls.METRICS[0][0], "min")  # error rates: lower is better
            cls.OTHER_METRICS = {name: "min" for name, _ in cls.METRICS[1:]}

    def __init__(self, downstream_expert: dict, expdir: str) -> None:
        super().__init__()
        self.rc = expert_sections(downstream_expert, {"datarc": self.DATARC, "decoderc": DECODERC, **self.SECTIONS},
                                  self.TASK)
        self.datarc, self.decoderc = self.rc["datarc"], self.rc["decoderc"]
        if self.decoderc["type"] not in DECODERS:
            raise ConfigError(f"{self.TASK} decoderc.type '{self.decoderc['type']}' is not one of {DECODERS}")
        if self.decoderc["lm"] and not self.WORD_LM:
            raise ConfigError(f"{self.TASK} decoderc.lm: word LMs apply to word-level tasks (asr) only")
        if self.decoderc["lm"] and self.decoderc["type"] != "beam":
            raise ConfigError(f"{self.TASK} decoderc.lm needs decoderc.type: beam (got '{self.decoderc['type']}')")
        self.expdir = expdir
        spm = self.datarc.get("spm_model")
        self.tokenizer = load_tokenizer(self.datarc.get("unit", "token"), self.datarc["tokens"], spm)
        self.datasets: dict[str, TranscriptDataset] = {}
        for split in ("train", "dev"):  # a bad dir or an unknown dev symbol fails now, not after training
            self._dataset(split)
        self.fusion = None  # a word LM for the beam search (see speechbench.downstream.asr.lm)
        self._warned_short = False

    @property
    def vocab_size(self) -> int:
        return len(self.tokenizer)

    def _dataset(self, split: str) -> TranscriptDataset:
        if split not in self.datasets:
            self.datasets[split] = TranscriptDataset(self.datarc[split], self.TRANSCRIPT, self.tokenizer,
                                                     self.datarc["tokens"])
        return self.datasets[split]

    def get_dataloader(self, split: str):
        ds = self._dataset(split)
        return make_dataloader(ds, ds.lengths(), self.datarc["batch_size"], train=split == "train",
                               seed=self.datarc["seed"], num_workers=self.datarc["num_workers"])

    def logits(self, padded: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``[B, T', V]`` logits and output lengths; subclasses may add training-only augmentation here."""
        return self.head(padded, lengths)

    def forward(self, split: str, features: list[torch.Tensor], utt_ids: list[str], targets: list[torch.Tensor],
                texts: list[str], records: dict) -> torch.Tensor:
        padded, _ = pad_features(features)
        lengths = torch.tensor([len(f) for f in features], device=padded.device)
        logits, lengths = self.logits(padded, lengths)
        log_probs = logits.float().log_softmax(-1)
        target_lengths = torch.tensor([len(t) for t in targets], device=padded.device)
        if not self._warned_short and bool((lengths < target_lengths).any()):
            self._warned_short = True
            short = [u for u, n, m in zip(utt_ids, lengths.tolist(), target_lengths.tolist()) if n < m]
            log.warning("%s: %d utterances have fewer frames than CTC targets (e.g. %s); CTC ignores them "
                        "(zero_infinity). Use finer units or less downsampling", self.TASK, len(short), short[:3])
        loss = F.ctc_loss(log_probs.transpose(0, 1), torch.cat(targets).to(padded.device), lengths, target_lengths,
                          blank=0, zero_infinity=True)
        records.setdefault("loss", []).append(loss.item())
        if split != "train":
            for utt, lp, n, text in zip(utt_ids, log_probs, lengths.tolist(), texts):
                records.setdefault("hyps", []).append((utt, self.tokenizer.decode(self.decode(lp[:n]))))
                records.setdefault("refs", []).append((utt, text))
        return loss

    def decode(self, log_probs: torch.Tensor) -> list[int]:
        """Token ids of one utterance ``[T, V]`` with the configured decoder."""
        if self.decoderc["type"] == "greedy":
            return greedy_decode(log_probs)
        fusion = self.fusion
        hyps = prefix_beam_search(log_probs, beam=self.decoderc["beam"], token_beam=self.decoderc["token_beam"],
                                  word_scorer=fusion.word_scorer if fusion else None,
                                  final_scorer=fusion.final_score if fusion else None)
        return list(hyps[0][0]) if hyps else []

    def _decoder_tag(self) -> str:
        """Metric-name suffix saying how a non-greedy score was decoded (``_beam5``, ``_beam5_lm``)."""
        d = self.decoderc
        if d["type"] == "greedy":
            return ""
        return f"_beam{d['beam']}" + ("_lm" if d["lm"] else "")

    def log_records(self, split: str, records: dict, logger, global_step: int, **kwargs: object) -> None:
        logger.add_scalar(f"{split}-loss", float(np.mean(records["loss"])), global_step)
        if split == "train":
            return
        hyps, refs = dict(records["hyps"]), dict(records["refs"])
        for name, unit in self.METRICS:
            tok = SCORING_TOKENS[unit]
            ref_tokens = {u: tok(t) for u, t in refs.items()}
            hyp_tokens = {u: tok(t) for u, t in hyps.items()}
            if split == "test":
                out = os.path.join(self.expdir, f"decode_{split}_{self.decoderc['type']}", unit)
                os.makedirs(out, exist_ok=True)
                result = write_sclite_report(out, ref_tokens, hyp_tokens, unit=unit)
            else:
                result = error_rate(ref_tokens, hyp_tokens)
            logger.add_scalar(f"{split}-{name}{self._decoder_tag()}", result.rate, global_step)
        if split == "test":
            with atomic_open(os.path.join(self.expdir, f"{split}_predictions.txt"), "w", encoding="utf-8") as f:
                f.writelines(f"{u} {hyps[u]}\n" for u in sorted(hyps))
