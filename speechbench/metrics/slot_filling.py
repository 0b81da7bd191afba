"""Slot-filling metrics of SUPERB SF: slot-type F1 and slot-value CER over slot-tagged text.

A transcript marks each slot value with a begin and an end tag around its words,
``B-<type> value words E-<type>`` (e.g. ``play B-artist the beatles E-artist``); a tag is
``B-``/``E-`` followed by a type name that starts with a lower-case letter, so upper-case
words (SNIPS) and hyphenated words never read as tags. Parsing follows s3prl
(``downstream/ctc/metric.py``): the slots of a text are the non-overlapping, left-to-right,
shortest matches of ``B-t <words> E-t`` with the same type ``t``; unmatched tags are
ignored, and tags left inside a hypothesis value are removed from it.

Definitions (as s3prl computes them; ``R``/``H`` are the slot *types* present in one
reference/hypothesis, ignoring how often each occurs):

* **slot-type F1**: per utterance, 1 if ``R`` and ``H`` are both empty, 0 if exactly one is
  empty, else ``2PR / (P + R)`` with ``P = |R ∩ H| / |H|`` and ``R = |R ∩ H| / |R|``
  (0 when both are 0); the score is the mean over utterances.
* **slot-value CER**: every reference slot ``(t, v)`` is paired with the hypothesis value of
  type ``t`` closest to ``v`` in character edit distance (the first such one on ties; the
  empty string when the hypothesis has no slot of type ``t``); the score is the sum of the
  character edit distances of all pairs over the total reference value length (characters,
  spaces included). Hypothesis slots of types absent from the reference are not counted.
"""
from __future__ import annotations

import re
from typing import Mapping, Sequence

from speechbench.metrics._checks import check_nonempty, check_same_ids
from speechbench.metrics.error_rate import align

TAG = re.compile(r"^[BE]-[a-z][A-Za-z0-9_.]*$")

Slot = tuple[str, str]  # (type, value words joined by single spaces)


def is_slot_tag(word: str) -> bool:
    """True for ``B-<type>``/``E-<type>`` words (type starting with a lower-case letter)."""
    return TAG.match(word) is not None


def parse_slots(text: str) -> list[Slot]:
    """``(type, value)`` of every ``B-t ... E-t`` span of ``text``, left to right."""
    words = text.split()
    slots: list[Slot] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word.startswith("B-") and is_slot_tag(word):
            end = "E-" + word[2:]
            # the shortest span: the first matching end tag after at least one value word
            close = next((j for j in range(i + 2, len(words)) if words[j] == end), None)
            if close is not None:
                value = [w for w in words[i + 1:close] if not is_slot_tag(w)]
                slots.append((word[2:], " ".join(value)))
                i = close + 1
                continue
        i += 1
    return slots


def strip_tags(text: str) -> str:
    """The words of a slot-tagged text without its tags."""
    return " ".join(w for w in text.split() if not is_slot_tag(w))


def _by_type(slots: Sequence[Slot]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for slot_type, value in slots:
        out.setdefault(slot_type, []).append(value)
    return out


def _type_f1(ref: set[str], hyp: set[str]) -> float:
    if not ref and not hyp:
        return 1.0
    if not ref or not hyp:
        return 0.0
    common = len(ref & hyp)
    precision, recall = common / len(hyp), common / len(ref)
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


def _char_distance(ref: str, hyp: str) -> int:
    return align(list(ref), list(hyp)).errors


def slot_type_f1(refs: Mapping[str, str], hyps: Mapping[str, str]) -> float:
    """Mean per-utterance F1 of the slot types (see the module docstring); tagged texts by utterance."""
    check_same_ids(refs, hyps)
    check_nonempty(len(refs), "utterances")
    scores = [_type_f1(set(_by_type(parse_slots(refs[u]))), set(_by_type(parse_slots(hyps[u])))) for u in refs]
    return sum(scores) / len(scores)


def slot_value_cer(refs: Mapping[str, str], hyps: Mapping[str, str]) -> float:
    """Character error rate of the slot values (see the module docstring); tagged texts by utterance."""
    check_same_ids(refs, hyps)
    errors = length = 0
    for utt in refs:
        hyp_values = _by_type(parse_slots(hyps[utt]))
        for slot_type, value in parse_slots(refs[utt]):
            candidates = hyp_values.get(slot_type, [""])
            errors += min(_char_distance(value, c) for c in candidates)
            length += len(value)
    if length == 0:
        raise ValueError("slot-value CER is undefined: the references hold no slot values")
    return errors / length
