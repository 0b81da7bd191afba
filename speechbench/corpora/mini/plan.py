"""What to synthesise: the sizes and the seeded utterance plan of every task.

The plan is a pure function of (size, seed): every utterance's speaker, style and words,
the sets it belongs to and its task labels, before any audio exists.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from speechbench.corpora.mini import text as T
from speechbench.corpora.mini.speakers import EMOTIONS, Speaker, make_speakers

SPLITS3 = ("train", "dev", "test")


@dataclass(frozen=True)
class SizeSpec:
    """Counts for one corpus size (per split counts are train, dev, test)."""

    main_speakers: int       # read, emotion, intent, std docs, qa, asv train
    heldout_speakers: int    # asv test and the spoken std queries
    read_per_speaker: tuple[int, int, int]
    asv_per_speaker: int
    asv_trials: int          # half target, half nontarget
    emotion_per_style: tuple[int, int, int]
    intent: tuple[int, int, int]
    std_docs: int
    std_sentences_per_doc: tuple[int, int]   # min, max
    std_queries: tuple[int, int]             # per query set: with occurrences, without
    qa: tuple[int, int, int]
    unlabeled_extra: int


SIZES: dict[str, SizeSpec] = {
    "tiny": SizeSpec(main_speakers=8, heldout_speakers=4, read_per_speaker=(3, 1, 1),
                     asv_per_speaker=3, asv_trials=16, emotion_per_style=(4, 2, 2),
                     intent=(12, 6, 6), std_docs=6, std_sentences_per_doc=(2, 2),
                     std_queries=(3, 1), qa=(6, 3, 3), unlabeled_extra=4),
    "mini": SizeSpec(main_speakers=40, heldout_speakers=16, read_per_speaker=(40, 5, 5),
                     asv_per_speaker=8, asv_trials=800, emotion_per_style=(80, 20, 20),
                     intent=(300, 60, 60), std_docs=150, std_sentences_per_doc=(2, 3),
                     std_queries=(25, 5), qa=(240, 40, 40), unlabeled_extra=300),
}


@dataclass(frozen=True)
class UttSpec:
    """One utterance to synthesise."""

    utt_id: str
    speaker: Speaker
    style: str
    sentences: tuple[tuple[str, ...], ...]

    @property
    def words(self) -> list[str]:
        return [w for s in self.sentences for w in s]


@dataclass
class Plan:
    """Utterances, the data dirs listing them (``"read/train"`` -> ids) and task labels."""

    utts: dict[str, UttSpec] = field(default_factory=dict)
    sets: dict[str, list[str]] = field(default_factory=dict)
    emotion: dict[str, str] = field(default_factory=dict)
    intent: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    qa: dict[str, T.QAItem] = field(default_factory=dict)
    trials: list[tuple[str, str, str]] = field(default_factory=list)
    query_terms: dict[str, str] = field(default_factory=dict)
    speakers: list[Speaker] = field(default_factory=list)


def _counter_add(plan: Plan, counters: dict, set_name: str, spk: Speaker, kind: str,
                 sentences, style: str = "neutral") -> str:
    key = (spk.spk_id, kind)
    counters[key] = counters.get(key, 0) + 1
    utt = f"{spk.spk_id}-{kind}{counters[key]:04d}"
    plan.utts[utt] = UttSpec(utt, spk, style, tuple(tuple(s) for s in sentences))
    plan.sets.setdefault(set_name, []).append(utt)
    return utt


def make_plan(size: str, seed: int) -> Plan:
    """The full utterance plan of ``size`` for ``seed``."""
    if size not in SIZES:
        raise ValueError(f"unknown mini-corpus size '{size}' (choose one of: {', '.join(SIZES)})")
    spec = SIZES[size]
    rng = np.random.default_rng(seed)
    speakers = make_speakers(spec.main_speakers + spec.heldout_speakers, rng)
    main, heldout = speakers[: spec.main_speakers], speakers[spec.main_speakers:]
    plan = Plan(speakers=speakers)
    counters: dict = {}

    def add(set_name, spk, kind, sentences, style="neutral"):
        return _counter_add(plan, counters, set_name, spk, kind, sentences, style)

    def pick(pool):
        return pool[int(rng.integers(len(pool)))]

    for spk in main:
        for split, n in zip(SPLITS3, spec.read_per_speaker):
            for _ in range(n):
                add(f"read/{split}", spk, "r", [T.sentence(rng)])
    for split, pool in (("train", main), ("test", heldout)):
        for spk in pool:
            for _ in range(spec.asv_per_speaker):
                add(f"asv/{split}", spk, "v", [T.sentence(rng)])
    plan.trials = _trials(plan, plan.sets["asv/test"], spec.asv_trials, rng)

    rotation = itertools.cycle(main)
    for split, n in zip(SPLITS3, spec.emotion_per_style):
        for style in EMOTIONS:
            for _ in range(n):
                utt = add(f"emotion/{split}", next(rotation), "e", [T.sentence(rng)], style)
                plan.emotion[utt] = style

    for split, n in zip(SPLITS3, spec.intent):
        order = rng.permutation(len(T.INTENTS))
        for k in range(n):
            intent = T.INTENTS[int(order[k % len(order)])]
            utt = add(f"intent/{split}", pick(main), "i", [T.command(rng, intent)])
            plan.intent[utt] = intent

    _plan_std(plan, spec, main, heldout, rng, add)

    for split, n in zip(SPLITS3, spec.qa):
        for _ in range(n):
            item = T.qa_item(rng)
            utt = add(f"qa/{split}", pick(main), "a", item.sentences)
            plan.qa[utt] = item

    plan.sets["unlabeled/train"] = list(plan.sets["read/train"])
    for k in range(spec.unlabeled_extra):
        add("unlabeled/train", speakers[k % len(speakers)], "u", [T.sentence(rng)])
    return plan


def _plan_std(plan: Plan, spec: SizeSpec, main, heldout, rng, add) -> None:
    """Documents that contain the dev/eval query terms, and the spoken queries."""
    n_occ, n_abs = spec.std_queries
    terms = [str(t) for t in rng.permutation(T.NOUNS)[: 2 * n_occ]]
    absent = [str(t) for t in rng.permutation(T.ABSENT_TERMS)[: 2 * n_abs]]
    lo, hi = spec.std_sentences_per_doc
    for d in range(spec.std_docs):
        forced = terms[d % len(terms)]
        sentences = [_sentence_with(rng, forced)]
        sentences += [T.sentence(rng) for _ in range(int(rng.integers(lo, hi + 1)) - 1)]
        order = rng.permutation(len(sentences))
        add("std/docs", main[int(rng.integers(len(main)))], "d",
            [sentences[int(i)] for i in order])
    for q, name in enumerate(("queries_dev", "queries_eval")):
        chosen = terms[q * n_occ:(q + 1) * n_occ] + absent[q * n_abs:(q + 1) * n_abs]
        for k, term in enumerate(chosen):
            utt = add(f"std/{name}", heldout[(k + q) % len(heldout)], "q", [[term]])
            plan.query_terms[utt] = term


def _sentence_with(rng: np.random.Generator, noun: str) -> list[str]:
    for _ in range(100):
        words = T.sentence(rng, noun=noun)
        if noun in words:
            return words
    raise AssertionError(f"sentence generator never produced '{noun}'")


def _trials(plan: Plan, utts: list[str], n: int, rng: np.random.Generator):
    """Balanced seeded trials: n/2 same-speaker pairs and n/2 different-speaker pairs."""
    pairs = list(itertools.combinations(sorted(utts), 2))
    spk = {u: plan.utts[u].speaker.spk_id for u in utts}
    target = [p for p in pairs if spk[p[0]] == spk[p[1]]]
    nontarget = [p for p in pairs if spk[p[0]] != spk[p[1]]]
    half = min(n // 2, len(target), len(nontarget))
    out = [(a, b, "target") for i in rng.permutation(len(target))[:half]
           for a, b in [target[int(i)]]]
    out += [(a, b, "nontarget") for i in rng.permutation(len(nontarget))[:half]
            for a, b in [nontarget[int(i)]]]
    return sorted(out)
