import random

import pytest
from torchaudio.functional import edit_distance

from speechbench.metrics.error_rate import align, char_tokens, error_rate, write_sclite_report

REF = "the cat sat on the mat".split()
HYP = "the cat sit on mat now".split()


def test_hand_computed_case():
    # the cat sat on the mat / the cat sit on mat now: sat->sit (S), "the" deleted, "now" inserted.
    result = error_rate({"u1": REF}, {"u1": HYP})
    assert (result.correct, result.substitutions, result.deletions, result.insertions) == (4, 1, 1, 1)
    assert result.n_ref == 6
    assert result.rate == pytest.approx(0.5)
    assert result.sentence_error_rate == 1.0
    assert [op for op, _, _ in result.utts["u1"].ops] == ["C", "C", "S", "C", "D", "C", "I"]


def test_totals_match_torchaudio_edit_distance_on_random_pairs():
    rng = random.Random(0)
    vocab = list("abcde")
    refs, hyps = {}, {}
    for k in range(200):
        refs[f"u{k:03d}"] = [rng.choice(vocab) for _ in range(rng.randint(0, 12))]
        hyps[f"u{k:03d}"] = [rng.choice(vocab) for _ in range(rng.randint(0, 12))]
    refs["u000"] = ["a"]  # at least one reference token overall
    result = error_rate(refs, hyps)
    for utt, a in result.utts.items():
        assert a.errors == edit_distance(refs[utt], hyps[utt])
        assert [r for op, r, _ in a.ops if op != "I"] == refs[utt]
        assert [h for op, _, h in a.ops if op != "D"] == hyps[utt]
    assert result.errors == sum(edit_distance(refs[u], hyps[u]) for u in refs)
    assert result.n_ref == sum(len(r) for r in refs.values())
    assert result.correct + result.substitutions + result.deletions == result.n_ref


def test_empty_hypothesis_is_all_deletions_and_empty_reference_all_insertions():
    result = error_rate({"a": ["x", "y"], "b": []}, {"a": [], "b": ["z"]})
    assert (result.deletions, result.insertions, result.substitutions) == (2, 1, 0)
    assert result.rate == pytest.approx(1.5)


def test_mismatched_ids_name_a_few():
    with pytest.raises(ValueError, match=r"no hypothesis, e.g. \['u2'\].*not in the reference, e.g. \['u9'\]"):
        error_rate({"u1": ["a"], "u2": ["b"]}, {"u1": ["a"], "u9": ["b"]})


def test_string_instead_of_tokens_is_rejected():
    with pytest.raises(TypeError, match="text.split"):
        error_rate({"u1": "a b"}, {"u1": ["a", "b"]})


def test_all_empty_references_are_rejected():
    with pytest.raises(ValueError, match="undefined"):
        error_rate({"u1": []}, {"u1": ["a"]})
    with pytest.raises(ValueError, match="no utterances"):
        error_rate({}, {})


def test_char_tokens_mark_word_boundaries():
    assert char_tokens("ab  c") == ["a", "b", "<space>", "c"]
    assert align(char_tokens("ab c"), char_tokens("ab")).count("D") == 2


def test_sclite_report_files(tmp_path):
    refs = {"u1": REF, "u2": ["hello"]}
    hyps = {"u1": HYP, "u2": ["hello"]}
    result = write_sclite_report(tmp_path, refs, hyps, unit="word")
    assert (tmp_path / "ref.trn").read_text() == "the cat sat on the mat (u1)\nhello (u2)\n"
    assert (tmp_path / "hyp.trn").read_text() == "the cat sit on mat now (u1)\nhello (u2)\n"
    alignment = (tmp_path / "alignment.txt").read_text().split("\n")
    assert alignment[:5] == [
        "id: (u1)",
        "Scores: (#C #S #D #I) 4 1 1 1",
        "REF:  the cat sat on the mat ***",
        "HYP:  the cat sit on *** mat now",
        "Eval:         S      D       I",
    ]
    summary = (tmp_path / "result.txt").read_text()
    assert summary.startswith("WER (word units)")
    values = summary.splitlines()[2].strip("| ").split("|")
    # 2 utts, 7 ref words: Corr 5/7, Sub 1/7, Del 1/7, Ins 1/7, Err 3/7, S.Err 1/2
    assert [float(v) for v in values] == [2, 7, 71.43, 14.29, 14.29, 14.29, 42.86, 50.0]
    assert result.rate == pytest.approx(3 / 7)
    assert not list(tmp_path.glob(".tmp.*"))


def test_sclite_report_rejects_unknown_unit(tmp_path):
    with pytest.raises(ValueError, match="unit must be one of"):
        write_sclite_report(tmp_path, {"u": ["a"]}, {"u": ["a"]}, unit="syllable")
