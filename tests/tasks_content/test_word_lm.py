"""Word n-gram LM (ARPA) shallow fusion in the CTC prefix beam search."""
from __future__ import annotations

import math

import pytest
import torch

from speechbench.downstream._modules.ctc import prefix_beam_search
from speechbench.downstream.asr.lm import ArpaError, ArpaLM, LMFusion

ARPA = """\\data\\
ngram 1=5
ngram 2=2

\\1-grams:
-1.0 <s> -0.5
-1.0 </s>
-0.3 ab -0.2
-3.0 ba
-2.0 <unk>

\\2-grams:
-0.1 <s> ab
-0.2 ab </s>

\\end\\
"""
SYMBOLS = ["<blank>", "|", "a", "b"]


@pytest.fixture()
def lm(tmp_path) -> ArpaLM:
    path = tmp_path / "lm.arpa"
    path.write_text(ARPA, encoding="utf-8")
    return ArpaLM(str(path))


def test_backoff_probabilities(lm):
    assert lm.order == 2
    assert lm.log10_prob(["<s>"], "ab") == pytest.approx(-0.1)
    assert lm.log10_prob(["<s>"], "ba") == pytest.approx(-0.5 - 3.0)   # backoff(<s>) + P(ba)
    assert lm.log10_prob(["ba"], "ab") == pytest.approx(-0.3)          # no backoff weight for ba
    assert lm.log10_prob(["<s>"], "zz") == pytest.approx(-0.5 - 2.0)   # unknown word -> <unk>


def test_lm_turns_the_acoustic_best_into_the_likely_word(lm):
    probs = torch.tensor([[0.02, 0.02, 0.40, 0.56], [0.02, 0.02, 0.56, 0.40]], dtype=torch.float64)
    lp = probs.log()
    assert prefix_beam_search(lp, beam=8)[0][0] == (3, 2)                      # "ba"
    fusion = LMFusion(lm, SYMBOLS, "char", lm_weight=1.0, word_score=0.0)
    best, score = prefix_beam_search(lp, beam=8, word_scorer=fusion.word_scorer, final_scorer=fusion.final_score)[0]
    assert best == (2, 3)                                                      # "ab"
    acoustic = dict(prefix_beam_search(lp, beam=8))[(2, 3)]
    assert score == pytest.approx(acoustic + math.log(10) * (-0.1 - 0.2))


def test_word_boundary_scores_each_finished_word_once(lm):
    fusion = LMFusion(lm, SYMBOLS, "char", lm_weight=1.0, word_score=-1.0)
    assert fusion.word_scorer((2, 3), 1) == pytest.approx(math.log(10) * -0.1 - 1.0)  # "ab" then "|"
    assert fusion.word_scorer((2, 3, 1), 1) == 0.0                                      # a second "|"
    assert fusion.word_scorer((2,), 3) == 0.0                                           # inside a word
    assert fusion.final_score((2, 3, 1)) == pytest.approx(math.log(10) * -0.2)          # only </s> left


def test_bad_lm_files(tmp_path):
    with pytest.raises(ArpaError, match="not found"):
        ArpaLM(str(tmp_path / "none.arpa"))
    bad = tmp_path / "bad.arpa"
    bad.write_text("\\data\\\n\\1-grams:\nx\n", encoding="utf-8")
    with pytest.raises(ArpaError, match="bad.arpa:3"):
        ArpaLM(str(bad))


def test_words_unknown_to_the_lm_get_the_unk_score(lm):
    fusion = LMFusion(lm, SYMBOLS, "char", lm_weight=1.0, word_score=-1.0, unk_score=-20.0)
    assert fusion.word_scorer((2,), 2) == pytest.approx(-20.0)          # "aa" begins no LM word: charged now
    assert fusion.word_scorer((2, 2), 2) == 0.0                          # ... and only once
    assert fusion.word_scorer((2, 2), 1) == pytest.approx(-1.0)          # closing it adds the word score
    assert fusion.final_score((3, 3)) == pytest.approx(-1.0 + math.log(10) * -1.0)  # "bb" </s> (backoff)
