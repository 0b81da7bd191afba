"""Slot-type F1 and slot-value CER (SUPERB SF) on hand-computed cases."""
from __future__ import annotations

import pytest

from speechbench.metrics.slot_filling import is_slot_tag, parse_slots, slot_type_f1, slot_value_cer, strip_tags

REFS = {"u1": "play B-artist the beatles E-artist on B-service spotify E-service",
        "u2": "what is the weather",
        "u3": "book B-party_size_number two E-party_size_number"}
HYPS = {"u1": "play B-artist the beetles E-artist",
        "u2": "what is the B-city weather E-city",
        "u3": "book two"}


def test_slot_type_f1_by_hand():
    # u1: types {artist, service} vs {artist}: P 1, R 1/2, F1 2/3; u2: none vs {city}: 0; u3: {party...} vs none: 0
    assert slot_type_f1(REFS, HYPS) == pytest.approx((2 / 3 + 0 + 0) / 3)
    assert slot_type_f1(REFS, REFS) == 1.0
    assert slot_type_f1({"a": "x y"}, {"a": "x"}) == 1.0  # no slots on either side is right


def test_slot_value_cer_by_hand():
    # beatles -> beetles: 1 edit; spotify missed: 7; two missed: 3; reference characters 11 + 7 + 3
    assert slot_value_cer(REFS, HYPS) == pytest.approx(11 / 21)
    assert slot_value_cer(REFS, REFS) == 0.0


def test_each_reference_value_takes_the_closest_hypothesis_value_of_its_type():
    refs = {"u": "from B-city nyc E-city to B-city la E-city"}
    hyps = {"u": "B-city la E-city B-date la E-date"}
    # nyc -> la: 3 edits, la -> la: 0; the date slot is not counted; 5 reference characters
    assert slot_value_cer(refs, hyps) == pytest.approx(3 / 5)
    assert slot_type_f1(refs, hyps) == pytest.approx(2 * 0.5 * 1 / 1.5)


def test_parsing_follows_the_superb_rule():
    assert parse_slots("B-a x B-b y E-a E-b z") == [("a", "x y")]            # shortest span, inner tags dropped
    assert parse_slots("B-a E-a B-a v E-a") == [("a", "v")]                 # a value has at least one word
    assert parse_slots("B-a x") == [] and parse_slots("x E-a") == []          # unmatched tags are ignored
    assert parse_slots("B-timeRange in the morning E-timeRange") == [("timeRange", "in the morning")]
    assert parse_slots("B-52'S E-MAIL B-A x E-A") == []                        # not tags: upper-case or digits
    assert strip_tags("play B-artist the beatles E-artist") == "play the beatles"
    assert is_slot_tag("B-object_name") and not is_slot_tag("b-object") and not is_slot_tag("B-")


def test_mismatched_utterances_are_an_error():
    with pytest.raises(ValueError, match="no hypothesis"):
        slot_type_f1(REFS, {"u1": "x"})
    with pytest.raises(ValueError, match="no slot values"):
        slot_value_cer({"u": "no slots"}, {"u": "B-a x E-a"})
