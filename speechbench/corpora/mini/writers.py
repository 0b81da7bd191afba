"""Write the planned and rendered utterances as Kaldi data directories (README.md)."""
from __future__ import annotations

import os

import kaldiio
import numpy as np

from speechbench.corpora.mini.phones import SAMPLE_RATE, SIL, frame_labels, phone_table_text
from speechbench.corpora.mini.plan import Plan
from speechbench.data.kaldi_dir import c_sorted, spk2utt_from_utt2spk, write_kv
from speechbench.utils_io import atomic_open


def _sec(samples: int) -> str:
    return f"{samples / SAMPLE_RATE:.6f}"


def _write_lines(path: str, lines: list[str]) -> None:
    with atomic_open(path, "w", encoding="utf-8") as f:
        f.writelines(line + "\n" for line in lines)


def _common(plan: Plan, metas: dict, utts: list[str], d: str, wav_dir: str, text: bool) -> None:
    """wav.scp, utt2spk, spk2utt, utt2dur and (when ``text``) text + word ctm."""
    os.makedirs(d, exist_ok=True)
    utt2spk = {u: plan.utts[u].speaker.spk_id for u in utts}
    write_kv(os.path.join(d, "wav.scp"), {u: os.path.join(wav_dir, f"{u}.wav") for u in utts})
    write_kv(os.path.join(d, "utt2spk"), utt2spk)
    write_kv(os.path.join(d, "spk2utt"), spk2utt_from_utt2spk(utt2spk))
    write_kv(os.path.join(d, "utt2dur"), {u: _sec(metas[u]["num_samples"]) for u in utts})
    if text:
        write_kv(os.path.join(d, "text"), {u: plan.utts[u].words for u in utts})
        ctm = []
        for u in c_sorted(utts):
            for word, (s, e) in zip(plan.utts[u].words, metas[u]["words"]):
                ctm.append(f"{u} 1 {_sec(s)} {_sec(e - s)} {word}")
        _write_lines(os.path.join(d, "words.ctm"), ctm)


def _alignments(metas: dict, utts: list[str], d: str, final_d: str) -> None:
    """text.phn, ali.ark/ali.scp (one phone id per 10 ms frame) and phones.txt."""
    write_kv(os.path.join(d, "text.phn"),
             {u: [p for _, _, p in metas[u]["segments"] if p != SIL] for u in utts})
    ali = {u: frame_labels([tuple(s) for s in metas[u]["segments"]], metas[u]["num_samples"])
           for u in c_sorted(utts)}
    ark, scp = os.path.join(d, "ali.ark"), os.path.join(d, "ali.scp")
    kaldiio.save_ark(ark, {u: a.astype(np.int32) for u, a in ali.items()}, scp=scp + ".tmp")
    with open(scp + ".tmp", encoding="utf-8") as f:
        lines = [line.replace(ark, os.path.join(final_d, "ali.ark"), 1).rstrip("\n") for line in f]
    os.unlink(scp + ".tmp")
    _write_lines(scp, lines)
    with atomic_open(os.path.join(d, "phones.txt"), "w") as f:
        f.write(phone_table_text())


def write_all(plan: Plan, metas: dict, data_dir: str, wav_dir: str) -> None:
    """Write every data dir of ``plan`` under ``data_dir`` (wav paths point to ``wav_dir``,
    alignment scp entries to ``<wav_dir>/../data``, where the dirs will be moved)."""
    final_data = os.path.join(os.path.dirname(wav_dir), "data")
    for set_name, utts in plan.sets.items():
        d = os.path.join(data_dir, set_name)
        task = set_name.split("/")[0]
        _common(plan, metas, utts, d, wav_dir, text=task != "unlabeled")
        if task == "read":
            _alignments(metas, utts, d, os.path.join(final_data, set_name))
        elif task == "emotion":
            write_kv(os.path.join(d, "utt2emotion"), {u: plan.emotion[u] for u in utts})
        elif task == "intent":
            write_kv(os.path.join(d, "utt2intent"), {u: list(plan.intent[u]) for u in utts})
        elif task == "qa":
            _write_qa(plan, metas, utts, d)
        elif set_name.startswith("std/queries"):
            _write_ground_truth(plan, metas, utts, plan.sets["std/docs"], d)
        elif set_name == "asv/test":
            _write_lines(os.path.join(d, "trials"), [" ".join(t) for t in plan.trials])


def _write_qa(plan: Plan, metas: dict, utts: list[str], d: str) -> None:
    spans, questions, answers = {}, {}, {}
    for u in utts:
        item = plan.qa[u]
        first = sum(len(s) for s in item.sentences[: item.answer_sentence])
        a0, a1 = item.answer_words
        words = metas[u]["words"]
        spans[u] = [_sec(words[first + a0][0]), _sec(words[first + a1 - 1][1])]
        questions[u] = item.question
        answers[u] = item.sentences[item.answer_sentence][a0:a1]
    write_kv(os.path.join(d, "utt2answer"), spans)
    write_kv(os.path.join(d, "question"), questions)
    write_kv(os.path.join(d, "answer"), answers)


def _write_ground_truth(plan: Plan, metas: dict, queries: list[str], docs: list[str],
                        d: str) -> None:
    """``query doc start end`` for every occurrence of each query's term in each document."""
    lines = []
    for q in c_sorted(queries):
        term = plan.query_terms[q]
        for doc in c_sorted(docs):
            for word, (s, e) in zip(plan.utts[doc].words, metas[doc]["words"]):
                if word == term:
                    lines.append(f"{q} {doc} {_sec(s)} {_sec(e)}")
    _write_lines(os.path.join(d, "ground_truth"), lines)
