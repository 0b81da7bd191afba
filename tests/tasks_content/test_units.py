"""CTC unit tables: building from training text, encoding, decoding, errors."""
from __future__ import annotations

import os

import pytest

from speechbench.data.kaldi_dir import DataDirError
from speechbench.downstream._modules.units import (BLANK, UnknownSymbolError, build_units, load_tokenizer, main,
                                                   read_tokens)


@pytest.fixture()
def text(tmp_path) -> str:
    path = tmp_path / "text"
    path.write_text("u1 the cat's hat\nu2 a bat sat\nu3 the hat\n", encoding="utf-8")
    return str(path)


def test_char_units_round_trip(text, tmp_path):
    symbols = build_units(text, "char", str(tmp_path / "lang"))
    assert symbols[:2] == [BLANK, "|"]
    assert sorted(symbols[2:]) == symbols[2:] and "'" in symbols
    assert read_tokens(str(tmp_path / "lang" / "tokens.txt")) == symbols
    tok = load_tokenizer("char", str(tmp_path / "lang" / "tokens.txt"))
    ids = tok.encode("the  cat's hat")
    assert [tok.symbols[i] for i in ids] == list("the|cat's|hat")
    assert tok.decode(ids) == "the cat's hat"
    with pytest.raises(UnknownSymbolError, match="x z"):
        tok.encode("zebra x")


def test_token_units_for_phones(tmp_path):
    phn = tmp_path / "text.phn"
    phn.write_text("u1 DH AH0 K AE1 T\nu2 AH0 SPN\n", encoding="utf-8")
    symbols = build_units(str(phn), "token", str(tmp_path / "lang"))
    assert symbols == [BLANK, "AE1", "AH0", "DH", "K", "SPN", "T"]
    tok = load_tokenizer("token", str(tmp_path / "lang" / "tokens.txt"))
    assert tok.decode(tok.encode("K AE1 T")) == "K AE1 T"


def test_sentencepiece_units(tmp_path):
    words = "the quick brown fox jumps over lazy dog while seven silver swans swim by shore".split()
    lines = [f"u{i} " + " ".join(words[(i * k) % len(words)] for k in range(1, 9)) for i in range(200)]
    (tmp_path / "text").write_text("\n".join(lines) + "\n", encoding="utf-8")
    lang = tmp_path / "lang"
    symbols = build_units(str(tmp_path / "text"), "sentencepiece", str(lang), vocab_size=40)
    assert symbols[0] == BLANK and len(symbols) == 41
    tok = load_tokenizer("sentencepiece", str(lang / "tokens.txt"), str(lang / "spm.model"))
    ids = tok.encode("the lazy fox")
    assert 0 not in ids and tok.decode(ids) == "the lazy fox"
    # unseen characters become <unk> (id 1 = sentencepiece's 0), never an error
    assert 1 in tok.encode("qq#")


def test_tokens_file_errors(tmp_path):
    with pytest.raises(DataDirError, match="not found.*units --text"):
        read_tokens(str(tmp_path / "missing.txt"))
    bad = tmp_path / "tokens.txt"
    bad.write_text("a 0\nb 1\n", encoding="utf-8")
    with pytest.raises(DataDirError, match="<blank> 0"):
        read_tokens(str(bad))
    bad.write_text("<blank> 0\nb x\n", encoding="utf-8")
    with pytest.raises(DataDirError, match=r"tokens.txt:2"):
        read_tokens(str(bad))


def test_cli(text, tmp_path, capsys):
    assert main(["--text", text, "--unit", "char", "--out-dir", str(tmp_path / "l")]) == 0
    assert os.path.isfile(tmp_path / "l" / "tokens.txt")
    assert main(["--text", str(tmp_path / "nope"), "--unit", "char", "--out-dir", str(tmp_path / "l")]) == 2
    assert "nope not found" in capsys.readouterr().err
