"""DER against hand-computed cases and against pyannote.metrics on the same RTTMs."""
from __future__ import annotations

import numpy as np
import pytest

from speechbench.metrics.diarization import (Turn, activity_to_turns, diarization_error, file_error, read_rttm,
                                             write_rttm)


def turns(file, *items):
    return [Turn(file, spk, a, b) for spk, a, b in items]


def test_overlap_is_scored_and_the_mapping_is_optimal():
    ref = turns("f", ("A", 0, 10), ("B", 5, 15))
    hyp = turns("f", ("x", 0, 12))
    e = file_error(ref, hyp)
    # x maps to A (10 s together vs 7 s with B): 5 s of overlap and B's 3 s alone are missed,
    # 10-12 s is B said as A
    assert (e.miss, e.false_alarm, e.confusion, e.total) == (8.0, 0.0, 2.0, 20.0)
    assert e.der == 0.5


def test_collar_removes_each_side_of_every_reference_boundary():
    ref = turns("f", ("A", 0, 10), ("B", 5, 15))
    e = file_error(ref, turns("f", ("x", 0, 12)), collar=0.5)
    # scored: 0.5-4.5 (right), 5.5-9.5 (B missed), 10.5-12 (confused), 12-14.5 (missed)
    assert e.total == pytest.approx(16.0)
    assert e.miss == pytest.approx(6.5) and e.confusion == pytest.approx(1.5) and e.false_alarm == 0
    assert e.der == pytest.approx(0.5)


def test_false_alarm_missed_files_and_speaker_names_do_not_matter():
    ref = {"a": turns("a", ("A", 1, 3)), "b": turns("b", ("B", 0, 2))}
    hyp = {"a": turns("a", ("spk9", 0, 4))}
    e = diarization_error(ref, hyp)
    assert (e.false_alarm, e.miss, e.confusion, e.total) == (2.0, 2.0, 0.0, 4.0)
    assert e.der == 1.0
    perfect = diarization_error(ref, {"a": turns("a", ("q", 1, 3)), "b": turns("b", ("r", 0, 2))})
    assert perfect.der == 0.0


def test_two_speakers_swapped_in_the_middle_is_confusion():
    ref = turns("f", ("A", 0, 4), ("B", 4, 8))
    hyp = turns("f", ("x", 0, 2), ("y", 2, 8))
    e = file_error(ref, hyp)
    assert e.confusion == 2.0 and e.miss == 0 and e.false_alarm == 0 and e.der == 0.25


def test_system_files_missing_from_the_reference_are_an_error():
    with pytest.raises(ValueError, match="not in the reference"):
        diarization_error({"a": turns("a", ("A", 0, 1))}, {"b": turns("b", ("A", 0, 1))})


def test_rttm_round_trip(tmp_path):
    written = turns("rec1", ("s1", 0.5, 1.25), ("s2", 1.0, 2.0)) + turns("rec0", ("s1", 0.0, 0.1))
    write_rttm(str(tmp_path / "x.rttm"), written)
    back = read_rttm(str(tmp_path / "x.rttm"))
    assert sorted(back) == ["rec0", "rec1"]
    assert back["rec1"] == turns("rec1", ("s1", 0.5, 1.25), ("s2", 1.0, 2.0))


def test_rttm_errors_name_the_line(tmp_path):
    path = tmp_path / "bad.rttm"
    path.write_text("SPEAKER rec 1 0.0 1.0 <NA> <NA> s1 <NA> <NA>\nSPEAKER rec 1 x 1.0 <NA> <NA> s1 <NA> <NA>\n")
    with pytest.raises(ValueError, match="bad.rttm:2"):
        read_rttm(str(path))


def test_activity_decoding_thresholds_filters_and_places_turns():
    p = np.zeros((20, 2))
    p[2:8, 0] = 0.9
    p[5, 0] = 0.1          # a one-frame dip the median filter closes
    p[10:12, 1] = 0.6
    p[15, 1] = 0.8         # a one-frame blip the median filter removes
    raw = activity_to_turns(p, "r", 0.01, threshold=0.5)
    assert [(t.speaker, round(t.start, 2), round(t.end, 2)) for t in raw] == [
        ("r_0", 0.02, 0.05), ("r_0", 0.06, 0.08), ("r_1", 0.1, 0.12), ("r_1", 0.15, 0.16)]
    smooth = activity_to_turns(p, "r", 0.01, threshold=0.5, median=3, speakers=["a", "b"])
    assert [(t.speaker, round(t.start, 2), round(t.end, 2)) for t in smooth] == [("a", 0.02, 0.08), ("b", 0.1, 0.12)]
    assert activity_to_turns(p, "r", 0.01, threshold=0.95) == []


def _random_rttm(rng, files, speakers, length):
    out = {}
    for f in files:
        items = []
        for s in speakers:
            t = float(rng.uniform(0, 2))
            while t < length:
                d = float(rng.uniform(0.3, 3))
                items.append(Turn(f, s, round(t, 2), round(min(t + d, length), 2)))
                t += d + float(rng.uniform(0.1, 2.5))
        out[f] = items
    return out


@pytest.mark.parametrize("collar", [0.0, 0.25])
def test_matches_pyannote_metrics_on_random_rttms(tmp_path, collar):
    from pyannote import core
    from pyannote.metrics.diarization import DiarizationErrorRate

    rng = np.random.default_rng(7)
    files = [f"rec{i}" for i in range(6)]
    ref = _random_rttm(rng, files, ["A", "B"], 30.0)
    hyp = _random_rttm(rng, files[:5], ["x", "y", "z"], 31.0)  # one file with no output at all
    write_rttm(str(tmp_path / "ref.rttm"), [t for v in ref.values() for t in v])
    write_rttm(str(tmp_path / "hyp.rttm"), [t for v in hyp.values() for t in v])
    ref, hyp = read_rttm(str(tmp_path / "ref.rttm")), read_rttm(str(tmp_path / "hyp.rttm"))
    ours = diarization_error(ref, hyp, collar=collar)

    metric = DiarizationErrorRate(collar=2 * collar, skip_overlap=False)  # pyannote's collar is the total width
    for f in files:
        r, h = core.Annotation(uri=f), core.Annotation(uri=f)
        for t in ref[f]:
            r[core.Segment(t.start, t.end), len(r)] = t.speaker
        for t in hyp.get(f, []):
            h[core.Segment(t.start, t.end), len(h)] = t.speaker
        extent = core.Timeline([core.Segment(0, 31.0)])
        metric(r, h, uem=extent)
    theirs = metric[:]
    assert ours.total == pytest.approx(theirs["total"], abs=1e-6)
    assert ours.miss == pytest.approx(theirs["missed detection"], abs=1e-6)
    assert ours.false_alarm == pytest.approx(theirs["false alarm"], abs=1e-6)
    assert ours.confusion == pytest.approx(theirs["confusion"], abs=1e-6)
    assert ours.der == pytest.approx(abs(metric), abs=1e-9)
    assert 0.2 < ours.der < 2.0  # a real mix of errors, not a degenerate case
