"""Output units of the CTC tasks: a ``tokens.txt`` table built from the training text.

Three kinds, chosen by ``unit``:

* ``token``: space-separated symbols as written (phone transcripts ``text.phn``);
* ``char``: characters, the word boundary written ``|`` (SUPERB ASR: ``|``, letters, ``'``);
* ``sentencepiece``: subwords from a sentencepiece model trained on the training text
  (``spm.model`` next to ``tokens.txt``);
* ``char_slot``: ``char`` plus one unit per slot tag (``B-<type>``/``E-<type>`` words of a
  slot-tagged transcript, see :mod:`speechbench.metrics.slot_filling`), as SUPERB's slot
  filling: a tag sits next to its value's characters, with no word boundary between them.

``tokens.txt`` holds ``symbol id`` lines; id 0 is the CTC blank ``<blank>``. The data stage
writes it once, from the training set only, so dev/test never add units, into a directory
of its own (not a data dir, whose files must all be ``utt value`` text):

    python -m speechbench.downstream._modules.units --text data/train/text --unit char --out-dir data/lang_char

A dev/test transcript with a ``token``/``char`` symbol missing from the table is an error
naming the symbols and the fix (normalise the text, or rebuild the units from text that
has them). With ``sentencepiece`` unseen characters become ``<unk>`` (sentencepiece's own
rule); scoring uses the words of ``text``, so a ``<unk>`` only costs what it gets wrong.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from typing import Sequence

from speechbench.data.kaldi_dir import DataDirError, read_kv
from speechbench.errors import ConfigError, run_command
from speechbench.metrics.slot_filling import is_slot_tag
from speechbench.utils_io import atomic_open, read_fields

BLANK = "<blank>"
WORD_BOUNDARY = "|"
UNITS = ("token", "char", "sentencepiece", "char_slot")
SPM_MODEL = "spm.model"


class UnknownSymbolError(DataDirError):
    """A transcript uses symbols the unit table does not have."""


def read_tokens(path: str) -> list[str]:
    """``symbol id`` lines -> symbols by id; ids must be 0..N-1 and id 0 the blank."""
    if not os.path.isfile(path):
        raise DataDirError(f"{path} not found: the CTC tasks need their unit table; build it with "
                           f"`python -m speechbench.downstream._modules.units --text <train>/text "
                           f"--unit char|token|sentencepiece --out-dir data/lang_<unit>`")
    table: dict[int, str] = {}
    for _, (symbol, index) in read_fields(path, 2, "`symbol id` with a new integer id", DataDirError,
                                          valid=lambda f: f[1].isdigit() and int(f[1]) not in table):
        table[int(index)] = symbol
    if sorted(table) != list(range(len(table))) or table.get(0) != BLANK:
        raise DataDirError(f"{path}: ids must run 0..{len(table) - 1} with `{BLANK} 0` first "
                           f"(the CTC blank); rebuild it with speechbench.downstream._modules.units")
    return [table[i] for i in range(len(table))]


def write_tokens(path: str, symbols: Sequence[str]) -> None:
    """Write ``symbol id`` lines (atomically); ``symbols[0]`` must be the blank."""
    if not symbols or symbols[0] != BLANK:
        raise ValueError(f"the first unit must be {BLANK}")
    with atomic_open(path, "w", encoding="utf-8") as f:
        f.writelines(f"{s} {i}\n" for i, s in enumerate(symbols))


class Tokenizer:
    """Text <-> CTC ids (0 is the blank) for one kind of unit."""

    def __init__(self, unit: str, symbols: Sequence[str], spm_model: str | None = None) -> None:
        if unit not in UNITS:
            raise ConfigError(f"unit '{unit}' is not one of {UNITS}")
        self.unit, self.symbols = unit, list(symbols)
        self.index = {s: i for i, s in enumerate(self.symbols)}
        self.spm = None
        if unit == "sentencepiece":
            self.spm = _load_spm(spm_model)
            pieces = [BLANK] + [self.spm.id_to_piece(i) for i in range(self.spm.get_piece_size())]
            if pieces != self.symbols:
                raise DataDirError(f"{spm_model} does not match its tokens.txt ({len(pieces)} vs "
                                   f"{len(self.symbols)} units): rebuild both with the units command")

    def __len__(self) -> int:
        return len(self.symbols)

    def split(self, text: str) -> list[str]:
        """The unit symbols of ``text`` (before lookup)."""
        if self.unit == "token":
            return text.split()
        if self.unit == "char":
            return list(WORD_BOUNDARY.join(text.split()))
        if self.unit == "char_slot":
            return _char_slot_split(text)
        return self.spm.encode(text, out_type=str)

    def encode(self, text: str) -> list[int]:
        """CTC target ids; raises :class:`UnknownSymbolError` for symbols not in the table."""
        if self.spm is not None:
            return [i + 1 for i in self.spm.encode(text)]
        symbols = self.split(text)
        missing = sorted({s for s in symbols if s not in self.index or s == BLANK})
        if missing:
            raise UnknownSymbolError(" ".join(missing))
        return [self.index[s] for s in symbols]

    def decode(self, ids: Sequence[int]) -> str:
        """Text from CTC ids (blanks already removed): words for char/sentencepiece, symbols for token."""
        if self.spm is not None:
            return self.spm.decode([i - 1 for i in ids if i > 0])
        symbols = [self.symbols[i] for i in ids if i > 0]
        if self.unit == "token":
            return " ".join(symbols)
        if self.unit == "char_slot":
            symbols = [f" {s} " if is_slot_tag(s) else s for s in symbols]
        return " ".join("".join(symbols).replace(WORD_BOUNDARY, " ").split())


def _char_slot_split(text: str) -> list[str]:
    """Characters with ``|`` between words; slot tags are single symbols next to their value."""
    out: list[str] = []
    after_word = False
    for word in text.split():
        if is_slot_tag(word):
            if word.startswith("B-") and after_word:
                out.append(WORD_BOUNDARY)
                after_word = False
            out.append(word)
            continue
        if after_word:
            out.append(WORD_BOUNDARY)
        out.extend(word)
        after_word = True
    return out


def _load_spm(path: str | None):
    import sentencepiece

    if not path or not os.path.isfile(path):
        raise DataDirError(f"sentencepiece model {path} not found: build it with "
                           f"`python -m speechbench.downstream._modules.units --unit sentencepiece ...`")
    return sentencepiece.SentencePieceProcessor(model_file=path)


def load_tokenizer(unit: str, tokens_path: str, spm_model: str | None = None) -> Tokenizer:
    """The tokenizer of a data stage's ``tokens.txt`` (and ``spm.model`` for sentencepiece)."""
    return Tokenizer(unit, read_tokens(tokens_path), spm_model if unit == "sentencepiece" else None)


def build_units(text_path: str, unit: str, out_dir: str, vocab_size: int = 300) -> list[str]:
    """Write ``out_dir/tokens.txt`` (and ``spm.model``) from the transcripts in ``text_path``."""
    if unit not in UNITS:
        raise ConfigError(f"unit '{unit}' is not one of {UNITS}")
    try:
        texts = list(read_kv(text_path).values())
    except FileNotFoundError:
        raise DataDirError(f"{text_path} not found: the units are built from the training transcripts") from None
    if not any(t.strip() for t in texts):
        raise DataDirError(f"{text_path}: no transcripts to build units from")
    os.makedirs(out_dir, exist_ok=True)
    if unit == "sentencepiece":
        symbols = _train_spm(texts, os.path.join(out_dir, SPM_MODEL), vocab_size)
    else:
        probe = Tokenizer(unit, [BLANK])
        found = {s for t in texts for s in probe.split(t)}
        if BLANK in found:
            raise DataDirError(f"{text_path}: the symbol {BLANK} is reserved for the CTC blank")
        boundary = [WORD_BOUNDARY] if unit in ("char", "char_slot") else []
        symbols = [BLANK] + boundary + sorted(found - set(boundary))
    write_tokens(os.path.join(out_dir, "tokens.txt"), symbols)
    return symbols


def _train_spm(texts: list[str], model_path: str, vocab_size: int) -> list[str]:
    import sentencepiece

    with tempfile.TemporaryDirectory() as tmp:
        corpus = os.path.join(tmp, "text")
        with open(corpus, "w", encoding="utf-8") as f:
            f.writelines(t + "\n" for t in texts)
        try:
            sentencepiece.SentencePieceTrainer.train(
                input=corpus, model_prefix=os.path.join(tmp, "spm"), vocab_size=vocab_size,
                model_type="unigram", character_coverage=1.0, bos_id=-1, eos_id=-1, unk_id=0,
                num_threads=1, minloglevel=2)
        except RuntimeError as e:  # e.g. vocab_size larger than the text allows
            raise DataDirError(f"sentencepiece training on {len(texts)} transcripts failed: {e}; "
                               f"choose a --vocab-size the text supports") from None
        with open(os.path.join(tmp, "spm.model"), "rb") as src, atomic_open(model_path, "wb") as dst:
            dst.write(src.read())
    processor = sentencepiece.SentencePieceProcessor(model_file=model_path)
    return [BLANK] + [processor.id_to_piece(i) for i in range(processor.get_piece_size())]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m speechbench.downstream._modules.units",
                                     description="Build the CTC unit table (tokens.txt) from training transcripts.")
    parser.add_argument("--text", required=True, help="training transcripts, `utt text` lines (text or text.phn)")
    parser.add_argument("--unit", required=True, choices=UNITS)
    parser.add_argument("--out-dir", required=True, help="where tokens.txt (and spm.model) go")
    parser.add_argument("--vocab-size", type=int, default=300, help="sentencepiece vocabulary size")
    args = parser.parse_args(argv)

    def body() -> None:
        symbols = build_units(args.text, args.unit, args.out_dir, args.vocab_size)
        print(f"{len(symbols)} units (with {BLANK}) -> {os.path.join(args.out_dir, 'tokens.txt')}")
    return run_command(body)


if __name__ == "__main__":
    sys.exit(main())
