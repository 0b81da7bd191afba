"""Seeded sentence generator: templates over small word lists (a few hundred words).

Every generator takes a ``numpy.random.Generator`` and returns lower-case words without
punctuation, so transcripts, keyword searches and answer spans are exact word matches.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NAMES = ("anna peter maria james linda david sarah thomas emma robert julia michael laura "
         "daniel nina oliver grace henry lucy victor").split()
NOUNS = ("box book chair table lamp bottle basket letter key coat hat shoe cup plate window "
         "door picture guitar bicycle ticket camera pencil candle mirror blanket pillow kettle "
         "bucket ladder wallet jacket umbrella computer radio map clock bag rope apple banana "
         "carrot potato tomato cookie sandwich flower stone shell feather ribbon button coin "
         "engine wheel hammer brush violin envelope").split()
COLORS = "red blue green yellow black white brown purple".split()
ADJECTIVES = COLORS + ("small large heavy old new broken clean dirty empty wooden metal soft "
                       "warm cold bright dark tiny huge strange lovely quiet noisy shiny dusty "
                       "famous expensive cheap round square tall").split()
PLACES = ("kitchen garden office library station market bakery school hospital museum harbor "
          "garage hallway basement attic church theater restaurant airport village forest "
          "river bridge park beach farm factory").split()
VERBS = [tuple(p.split("/")) for p in (
    "paint/painted clean/cleaned carry/carried find/found buy/bought sell/sold open/opened "
    "close/closed fix/fixed move/moved wash/washed watch/watched build/built break/broke "
    "bring/brought hide/hid drop/dropped lift/lifted order/ordered borrow/borrowed "
    "return/returned check/checked cook/cooked draw/drew catch/caught lose/lost keep/kept "
    "send/sent pack/packed push/pushed").split()]
TIMES = ("yesterday|today|last night|this morning|on monday|on tuesday|on wednesday|"
         "on thursday|on friday|on saturday|on sunday|last week|in april|in june|in october|"
         "in december|after lunch|before dinner").split("|")
NUMBERS = "two three four five six seven eight nine ten eleven twelve twenty".split()
RELATIVES = "mother father sister brother uncle aunt cousin neighbor teacher friend".split()
ADVERBS = "slowly quickly quietly suddenly carefully happily badly early late again".split()
PREPOSITIONS = "in under behind near beside on".split()
QUESTION_WORDS = "why when where how".split()
# Spoken-term-detection terms that the generator never uses: queries with no occurrence.
ABSENT_TERMS = ("volcano penguin telescope saxophone dinosaur avalanche kangaroo lighthouse "
                "submarine pyramid tornado crocodile").split()


def plural(noun: str) -> str:
    """English plural of the nouns above."""
    if noun.endswith(("x", "sh", "ch", "s")) or noun in ("potato", "tomato"):
        return noun + "es"
    return noun + "s"


def _pick(rng: np.random.Generator, items):
    return items[int(rng.integers(len(items)))]


def sentence(rng: np.random.Generator, noun: str | None = None) -> list[str]:
    """One read sentence of 4-10 words; ``noun`` (singular) is forced in when given."""
    n1 = noun or _pick(rng, NOUNS)
    n2 = _pick(rng, NOUNS)
    adj, name, name2 = _pick(rng, ADJECTIVES), _pick(rng, NAMES), _pick(rng, NAMES)
    base, past = _pick(rng, VERBS)
    time, place = _pick(rng, TIMES), _pick(rng, PLACES)
    templates = [
        f"the {adj} {n1} is {_pick(rng, PREPOSITIONS)} the {n2}",
        f"{name} {past} the {adj} {n1} {time}",
        f"{name} and {name2} {past} {_pick(rng, NUMBERS)} {plural(n1)} {time}",
        f"please {base} the {n1} in the {place}",
        f"{_pick(rng, QUESTION_WORDS)} did {name} {base} the {adj} {n1}",
        f"we will {base} the {adj} {n1} {time}",
        f"my {_pick(rng, RELATIVES)} {past} the {n1} to the {place}",
        f"there are {_pick(rng, NUMBERS)} {adj} {plural(n1)} in the {place}",
        f"{name} thinks the {n1} is very {adj}",
        f"the {n1} {past} {_pick(rng, ADVERBS)} near the {place} {time}",
        f"{name} {_pick(rng, ADVERBS)} {past} a {n1} for the {place}",
    ]
    return _pick(rng, templates).split()


# ---- intents (Fluent Speech Commands style: action, object, location) ----
LOCATIONS = ("kitchen", "bedroom", "washroom")
INTENT_PHRASES: dict[tuple[str, str], tuple[str, ...]] = {
    ("activate", "lights"): ("turn on the lights{loc}", "switch on the lights{loc}",
                             "lights on{loc}", "switch the lights on{loc}",
                             "can you turn the lights on{loc}"),
    ("deactivate", "lights"): ("turn off the lights{loc}", "switch off the lights{loc}",
                               "lights off{loc}", "kill the lights{loc}"),
    ("increase", "heat"): ("turn up the heat{loc}", "increase the temperature{loc}",
                           "make it warmer{loc}", "heat up{loc}"),
    ("decrease", "heat"): ("turn down the heat{loc}", "decrease the temperature{loc}",
                           "make it cooler{loc}", "it is too hot{loc}"),
    ("activate", "lamp"): ("turn on the lamp", "switch on the lamp", "lamp on"),
    ("deactivate", "lamp"): ("turn off the lamp", "switch off the lamp", "lamp off"),
    ("activate", "music"): ("play the music", "put on some music", "start the music"),
    ("deactivate", "music"): ("stop the music", "pause the music", "turn off the music"),
    ("increase", "volume"): ("turn up the volume", "louder please", "increase the volume",
                             "make it louder"),
    ("decrease", "volume"): ("turn down the volume", "quieter please", "decrease the volume",
                             "make it quieter"),
}
for _obj in ("newspaper", "juice", "socks", "shoes"):
    INTENT_PHRASES[("bring", _obj)] = (f"bring me the {_obj}", f"fetch my {_obj}",
                                       f"get me the {_obj}", f"i need my {_obj}")
for _lang in ("english", "chinese", "german", "korean"):
    INTENT_PHRASES[("change_language", _lang)] = (
        f"change the language to {_lang}", f"switch to {_lang}", f"set the language to {_lang}",
        f"i want to use {_lang}")
INTENT_PHRASES[("change_language", "none")] = (
    "change the language", "switch the language", "i want another language",
    "use a different language")
_WITH_LOCATION = {("activate", "lights"), ("deactivate", "lights"), ("increase", "heat"),
                  ("decrease", "heat")}
INTENTS: tuple[tuple[str, str, str], ...] = tuple(
    (a, o, loc) for (a, o) in INTENT_PHRASES
    for loc in (("none",) + LOCATIONS if (a, o) in _WITH_LOCATION else ("none",)))


def command(rng: np.random.Generator, intent: tuple[str, str, str]) -> list[str]:
    """One phrasing of ``intent`` = (action, object, location)."""
    action, obj, loc = intent
    phrase = _pick(rng, INTENT_PHRASES[(action, obj)])
    return phrase.format(loc="" if loc == "none" else f" in the {loc}").split()


# ---- question answering ----
@dataclass
class QAItem:
    """A passage (list of sentences), a question and the answer (sentence index, word range)."""

    sentences: list[list[str]]
    question: list[str]
    answer_sentence: int
    answer_words: tuple[int, int]


def _fact(rng: np.random.Generator, name: str,
          name2: str) -> list[tuple[list[str], list[str], int, int]]:
    """One fact sentence and the questions it answers: (sentence, question, a0, a1)."""
    noun, place = _pick(rng, NOUNS), _pick(rng, PLACES)
    color, num, time = _pick(rng, COLORS), _pick(rng, NUMBERS), _pick(rng, TIMES)
    kind = int(rng.integers(5))
    if kind == 0:
        s = f"{name} put the {noun} in the {place}".split()
        return [(s, f"where did {name} put the {noun}".split(), 6, 7),
                (s, f"who put the {noun} in the {place}".split(), 0, 1),
                (s, f"what did {name} put in the {place}".split(), 3, 4)]
    if kind == 1:
        s = f"{name} bought {num} {plural(noun)} {time}".split()
        return [(s, f"how many {plural(noun)} did {name} buy".split(), 2, 3),
                (s, f"when did {name} buy the {plural(noun)}".split(), 4, len(s))]
    if kind == 2:
        s = f"the {noun} of {name} was {color}".split()
        return [(s, f"what color was the {noun} of {name}".split(), 5, 6)]
    if kind == 3:
        s = f"{name} lives near the {place}".split()
        return [(s, f"where does {name} live".split(), 4, 5)]
    s = f"{name} works with {name2} at the {place}".split()
    return [(s, f"who works with {name}".split(), 3, 4),
            (s, f"where does {name} work".split(), 6, 7)]


def qa_item(rng: np.random.Generator) -> QAItem:
    """A 2-4 sentence passage with distinct people, and one question about one sentence."""
    n_sent = int(rng.integers(2, 5))
    people = [str(p) for p in rng.permutation(NAMES)[: 2 * n_sent]]
    facts = [_fact(rng, people[2 * k], people[2 * k + 1]) for k in range(n_sent)]
    k = int(rng.integers(n_sent))
    sent, question, a0, a1 = _pick(rng, facts[k])
    return QAItem(sentences=[f[0][0] for f in facts], question=question, answer_sentence=k,
                  answer_words=(a0, a1))
