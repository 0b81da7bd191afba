"""Invariants of the tiny synthetic corpus: labels agree with the audio, splits have the
speaker properties each task needs, and building is deterministic and idempotent."""
from __future__ import annotations

import math
import os

import kaldiio
import numpy as np
import soundfile as sf

from speechbench.corpora.mini import text as T
from speechbench.corpora.mini.phones import CMU_PHONES
from speechbench.data.kaldi_dir import c_sorted, read_kv

SETS = ["read/train", "read/dev", "read/test", "asv/train", "asv/test", "emotion/train",
        "emotion/dev", "emotion/test", "intent/train", "intent/dev", "intent/test", "std/docs",
        "std/queries_dev", "std/queries_eval", "qa/train", "qa/dev", "qa/test",
        "unlabeled/train"]


def _d(corpus: str, name: str) -> str:
    return os.path.join(corpus, "data", name)


def _speakers(corpus: str, name: str) -> set[str]:
    return set(read_kv(os.path.join(_d(corpus, name), "utt2spk")).values())


def _ctm(path: str) -> dict[str, list[tuple[float, float, str]]]:
    out: dict[str, list[tuple[float, float, str]]] = {}
    with open(path) as f:
        for line in f:
            utt, _, start, dur, word = line.split()
            out.setdefault(utt, []).append((float(start), float(start) + float(dur), word))
    return out


def test_every_set_is_a_consistent_kaldi_dir(tiny_corpus):
    for name in SETS:
        d = _d(tiny_corpus, name)
        wav = read_kv(os.path.join(d, "wav.scp"))
        utt2spk = read_kv(os.path.join(d, "utt2spk"))
        assert wav, f"{name} is empty"
        assert list(wav) == c_sorted(wav) and list(utt2spk) == list(wav)
        assert list(read_kv(os.path.join(d, "utt2dur"))) == list(wav)
        assert all(u.startswith(s + "-") for u, s in utt2spk.items())
        spk2utt = read_kv(os.path.join(d, "spk2utt"))
        assert sorted(u for v in spk2utt.values() for u in v.split()) == sorted(wav)
        if not name.startswith("unlabeled"):
            assert list(read_kv(os.path.join(d, "text"))) == list(wav)


def test_audio_is_16k_mono_int16_and_utt2dur_matches(tiny_corpus):
    for name in ("read/train", "qa/dev", "std/queries_eval"):
        d = _d(tiny_corpus, name)
        durs = read_kv(os.path.join(d, "utt2dur"))
        for utt, path in read_kv(os.path.join(d, "wav.scp")).items():
            info = sf.info(path)
            assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
            assert round(float(durs[utt]) * 16000) == info.frames


def test_alignments_cover_every_frame_with_known_phones(tiny_corpus):
    for split in ("train", "dev", "test"):
        d = _d(tiny_corpus, f"read/{split}")
        table = read_kv(os.path.join(d, "phones.txt"))
        assert list(table) == ["sil"] + list(CMU_PHONES)
        assert [int(v) for v in table.values()] == list(range(40))
        durs = read_kv(os.path.join(d, "utt2dur"))
        phn = read_kv(os.path.join(d, "text.phn"))
        ali = dict(kaldiio.load_scp(os.path.join(d, "ali.scp")))
        assert sorted(ali) == sorted(durs)
        for utt, dur in durs.items():
            frames = ali[utt]
            samples = sf.info(read_kv(os.path.join(d, "wav.scp"))[utt]).frames
            assert frames.dtype == np.int32
            # ceil(dur * 100), with dur*100 rounded first so 2.000000 s gives 200, not 201
            assert len(frames) == math.ceil(samples / 160)
            assert len(frames) == math.ceil(round(float(dur) * 1e5) / 1e3)
            assert frames.min() >= 0 and frames.max() < 40
            assert frames[0] == 0 and frames[-1] == 0, "utterances start and end in silence"
            assert (frames != 0).mean() > 0.4
            spoken = {int(table[p]) for p in phn[utt].split()}
            assert 0 not in spoken and set(np.unique(frames)) - {0} <= spoken


def test_word_timings_lie_inside_the_audio_in_order(tiny_corpus):
    for name in ("read/test", "std/docs", "qa/train", "intent/dev"):
        d = _d(tiny_corpus, name)
        durs = read_kv(os.path.join(d, "utt2dur"))
        texts = read_kv(os.path.join(d, "text"))
        for utt, words in _ctm(os.path.join(d, "words.ctm")).items():
            assert [w for _, _, w in words] == texts[utt].split()
            eps = 2e-6  # ctm start and duration are rounded to the microsecond separately
            assert all(0 <= s < e <= float(durs[utt]) + eps for s, e, _ in words)
            assert all(a[1] <= b[0] + eps for a, b in zip(words, words[1:]))


def test_read_splits_share_speakers_and_asv_splits_do_not(tiny_corpus):
    read = [_speakers(tiny_corpus, f"read/{s}") for s in ("train", "dev", "test")]
    assert read[0] == read[1] == read[2] and len(read[0]) >= 8
    assert not _speakers(tiny_corpus, "asv/train") & _speakers(tiny_corpus, "asv/test")


def test_trials_are_balanced_and_correct(tiny_corpus):
    d = _d(tiny_corpus, "asv/test")
    utt2spk = read_kv(os.path.join(d, "utt2spk"))
    with open(os.path.join(d, "trials")) as f:
        trials = [line.split() for line in f]
    labels = [t[2] for t in trials]
    assert labels.count("target") == labels.count("nontarget") > 0
    for a, b, label in trials:
        assert (utt2spk[a] == utt2spk[b]) == (label == "target")


def test_emotion_has_four_styles_from_several_speakers(tiny_corpus):
    for split in ("train", "dev", "test"):
        d = _d(tiny_corpus, f"emotion/{split}")
        emo = read_kv(os.path.join(d, "utt2emotion"))
        assert set(emo.values()) == {"neutral", "happy", "sad", "angry"}
    train = read_kv(os.path.join(_d(tiny_corpus, "emotion/train"), "utt2emotion"))
    utt2spk = read_kv(os.path.join(_d(tiny_corpus, "emotion/train"), "utt2spk"))
    for style in ("neutral", "happy", "sad", "angry"):
        assert len({utt2spk[u] for u, e in train.items() if e == style}) >= 2


def test_intents_are_three_known_slots(tiny_corpus):
    actions = {a for a, _, _ in T.INTENTS}
    objects = {o for _, o, _ in T.INTENTS}
    for split in ("train", "dev", "test"):
        path = os.path.join(_d(tiny_corpus, f"intent/{split}"), "utt2intent")
        for slots in read_kv(path).values():
            action, obj, loc = slots.split()
            assert action in actions and obj in objects and loc in T.LOCATIONS + ("none",)
    assert len(actions) == 6 and len(objects) == 14


def test_std_ground_truth_lists_every_occurrence_inside_the_docs(tiny_corpus):
    docs = _d(tiny_corpus, "std/docs")
    doc_dur = read_kv(os.path.join(docs, "utt2dur"))
    doc_spk = read_kv(os.path.join(docs, "utt2spk"))
    ctm = _ctm(os.path.join(docs, "words.ctm"))
    for name in ("queries_dev", "queries_eval"):
        d = _d(tiny_corpus, f"std/{name}")
        terms = read_kv(os.path.join(d, "text"))
        q_spk = read_kv(os.path.join(d, "utt2spk"))
        with open(os.path.join(d, "ground_truth")) as f:
            truth = [line.split() for line in f]
        expected = {(q, doc, round(s, 6)) for q, term in terms.items()
                    for doc, words in ctm.items() for s, _, w in words if w == term}
        assert {(q, doc, round(float(s), 6)) for q, doc, s, _ in truth} == expected
        for q, doc, start, end in truth:
            assert 0 <= float(start) < float(end) <= float(doc_dur[doc])
            assert q_spk[q] != doc_spk[doc]
        assert set(terms) - {t[0] for t in truth}, f"{name} needs queries without occurrence"
        assert {t[0] for t in truth}, f"{name} needs queries with occurrences"


def test_qa_answer_spans_lie_inside_passages_on_the_answer_words(tiny_corpus):
    for split in ("train", "dev", "test"):
        d = _d(tiny_corpus, f"qa/{split}")
        durs = read_kv(os.path.join(d, "utt2dur"))
        answers = read_kv(os.path.join(d, "answer"))
        ctm = _ctm(os.path.join(d, "words.ctm"))
        questions = read_kv(os.path.join(d, "question"))
        assert list(questions) == list(durs)
        for utt, span in read_kv(os.path.join(d, "utt2answer")).items():
            start, end = map(float, span.split())
            assert 0 <= start < end <= float(durs[utt])
            inside = [w for s, e, w in ctm[utt] if s >= start - 1e-6 and e <= end + 1e-6]
            assert inside == answers[utt].split()
