"""Slot filling: the char_slot units (tags are single CTC units next to their value)."""
from __future__ import annotations

import pytest

from speechbench.downstream._modules.units import UnknownSymbolError, Tokenizer, build_units, load_tokenizer
from speechbench.metrics.slot_filling import parse_slots


def test_tags_sit_next_to_their_value_without_word_boundaries(tmp_path):
    text = tmp_path / "text.slot"
    text.write_text("u1 PLAY B-artist THE BEATLES E-artist NOW\nu2 B-object LAMP E-object B-time TODAY E-time\n")
    symbols = build_units(str(text), "char_slot", str(tmp_path / "lang"))
    assert {"B-artist", "E-artist", "B-object", "E-object", "B-time", "E-time", "|"} <= set(symbols)
    tok = load_tokenizer("char_slot", str(tmp_path / "lang" / "tokens.txt"))
    assert tok.split("PLAY B-artist THE BEATLES E-artist NOW") == [
        *"PLAY", "|", "B-artist", *"THE", "|", *"BEATLES", "E-artist", "|", *"NOW"]
    assert tok.split("B-object LAMP E-object B-time TODAY E-time") == [
        "B-object", *"LAMP", "E-object", "|", "B-time", *"TODAY", "E-time"]
    for line in ("PLAY B-artist THE BEATLES E-artist NOW", "B-object LAMP E-object B-time TODAY E-time"):
        assert tok.decode(tok.encode(line)) == line
    assert parse_slots(tok.decode(tok.encode("B-time TODAY E-time"))) == [("time", "TODAY")]
    with pytest.raises(UnknownSymbolError, match="B-city"):
        tok.encode("B-city PARIS E-city")


def test_char_slot_keeps_plain_char_behaviour_for_words():
    tok = Tokenizer("char_slot", ["<blank>", "|", "A", "B", "B-x", "E-x"])
    assert tok.decode([2, 1, 4, 3, 5]) == "A B-x B E-x"
    assert tok.split("A-B") == ["A", "-", "B"]  # a hyphenated word is characters, not a tag
