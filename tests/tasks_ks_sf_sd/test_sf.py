"""Slot filling: the char_slot units (tags are single CTC units next to their value)."""
from __future__ import annotations

import pytest

from speechbench.downstream._modules.units import UnknownSymbolError, Tokenizer, build_units, load_tokenizer
from speechbench.metrics.slot_filling import parse_slots
from testutil import dev_improves


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


class _Logger:
    def __init__(self):
        self.values = {}

    def add_scalar(self, tag, value, step):
        self.values[tag] = value


def test_expert_scores_slots_and_keeps_the_highest_dev_f1(tmp_path):
    from speechbench.corpora.snips import prepare_snips
    from speechbench.downstream.sf.expert import DownstreamExpert
    from speechbench.train.config import ConfigError
    from tasks_ks_sf_sd.fake_trees import snips_tree

    data = tmp_path / "data"
    prepare_snips(str(snips_tree(tmp_path)), str(data), {s: "all" for s in ("train", "valid", "test")})
    build_units(str(data / "train" / "text.slot"), "char_slot", str(tmp_path / "lang"))
    config = {"datarc": {"train": str(data / "train"), "dev": str(data / "dev"), "test": str(data / "test"),
                         "tokens": str(tmp_path / "lang" / "tokens.txt")},
              "modelrc": {"project_dim": 8, "hidden_size": 4, "num_layers": 1}}
    expert = DownstreamExpert(3, config, str(tmp_path / "exp"))
    ref = "PLAY B-genre ROCK AND ROLL E-genre BY B-artist BEYONCE E-artist"
    logger = _Logger()
    half = {"loss": [1.0], "refs": [("u", ref)], "hyps": [("u", "PLAY B-genre ROCK AND ROLL E-genre BY BEYONCE")]}
    expert.log_records("dev", half, logger, 1)
    assert dev_improves(expert, logger.values, None)
    assert logger.values["dev-slot_type_f1"] == pytest.approx(2 / 3)
    assert logger.values["dev-slot_value_cer"] == pytest.approx(7 / 20)   # BEYONCE missed
    assert logger.values["dev-wer"] == 0.0                                # the words are all right
    worse = {**half, "hyps": [("u", "PLAY ROCK AND ROLL BY BEYONCE")]}
    best = logger.values["dev-slot_type_f1"]
    expert.log_records("dev", worse, logger, 2)
    assert not dev_improves(expert, logger.values, best)                  # F1 0 is not better
    expert.log_records("dev", {**half, "hyps": [("u", ref)]}, logger, 3)
    assert dev_improves(expert, logger.values, best)
    (tmp_path / "exp").mkdir()
    expert.log_records("test", half, logger, 3)
    assert (tmp_path / "exp" / "test_predictions.txt").read_text().startswith("u PLAY B-genre")
    config["datarc"]["unit"] = "char"
    with pytest.raises(ConfigError, match="char_slot"):
        DownstreamExpert(3, config, str(tmp_path / "exp"))
