"""Turn one planned utterance into a 16 kHz wav file and its timing metadata.

Every random choice comes from a generator seeded by (corpus seed, utterance id); the engine's
breath noise is reseeded for every synthesis (``espeak.noise_seed``). espeak-ng also keeps
state across calls (pitch flutter phase, gain control, echo), so the builder renders fixed
chunks of utterances, each in a freshly forked process.
"""
from __future__ import annotations

import functools
import json
import os
import zlib

import numpy as np
import soundfile as sf

from speechbench.corpora.mini import audio as A
from speechbench.corpora.mini import text as T
from speechbench.corpora.mini.espeak import ESPEAK_RATE_HZ, Engine, Voice
from speechbench.corpora.mini.phones import SIL, espeak_to_cmu
from speechbench.corpora.mini.plan import Plan, UttSpec
from speechbench.corpora.mini.speakers import ACCENTS, STYLES, VARIANTS, voice_for
from speechbench.corpora.mini.timing import compute_timings, join_words, rescale

# Realism: probabilities and ranges (documented in README.md).
P_CLEAN = 0.15
SNR_DB = (5.0, 30.0)
P_REVERB = 0.4
RT60_S = (0.15, 0.6)
PAD_S = (0.05, 0.3)
GAIN_DB = (-6.0, 6.0)  # recording level: loudness alone must not give away style or speaker
BABBLE_CLIPS, BABBLE_TALKERS = 6, 4


def utt_rng(seed: int, utt_id: str) -> np.random.Generator:
    """The generator of one utterance's random choices."""
    return np.random.default_rng([seed, zlib.crc32(utt_id.encode())])


@functools.lru_cache(maxsize=None)
def _isolated_count(accent: str, word: str) -> int:
    synth = Engine.get().synthesize(word, Voice(name=accent, rate=160, pitch=50))
    return sum(1 for _, m in synth.phones if espeak_to_cmu(m) not in ((SIL,), ()))


def make_babble(seed: int) -> np.ndarray:
    """Several synthetic talkers speaking at once: clips of 4 talkers, concatenated."""
    rng = np.random.default_rng([seed, 7])
    clips = []
    for _ in range(BABBLE_CLIPS):
        talkers = []
        for _ in range(BABBLE_TALKERS):
            voice = Voice(name=f"{ACCENTS[rng.integers(len(ACCENTS))]}+"
                               f"{VARIANTS[rng.integers(len(VARIANTS))]}",
                          rate=int(rng.integers(140, 190)), pitch=int(rng.integers(20, 80)))
            text, _ = join_words([T.sentence(rng) for _ in range(3)])
            talkers.append(A.to_16k(Engine.get().synthesize(text, voice).audio))
        n = min(len(t) for t in talkers)
        clips.append(np.sum([t[:n] for t in talkers], axis=0))
    return np.concatenate(clips).astype(np.float32)


def render(spec: UttSpec, seed: int, wav_path: str, meta_path: str, babble: np.ndarray) -> dict:
    """Synthesise ``spec`` to ``wav_path`` (16 kHz int16) and write its metadata json.

    Metadata: ``num_samples``, ``segments`` ([start, end, phone] at 16 kHz covering the
    file), ``words`` ([start, end] per word at 16 kHz), ``noise``, ``snr_db``, ``rt60``.
    """
    rng = utt_rng(seed, spec.utt_id)
    voice = voice_for(spec.speaker, spec.style, rng)
    text, offsets = join_words([list(s) for s in spec.sentences])
    synth = Engine.get().synthesize(text, voice)
    timings = compute_timings(synth, offsets,
                              lambda i: _isolated_count(spec.speaker.accent, spec.words[i]))
    x = A.apply_style(A.to_16k(synth.audio), STYLES[spec.style])
    speech_power = float(np.mean(np.square(x, dtype=np.float64)))
    lead, tail = (int(rng.uniform(*PAD_S) * A.SAMPLE_RATE) for _ in range(2))
    x = np.concatenate([np.zeros(lead, np.float32), x, np.zeros(tail, np.float32)])
    timings = rescale(timings, A.SAMPLE_RATE / ESPEAK_RATE_HZ, len(x), lead)
    rt60 = float(rng.uniform(*RT60_S)) if rng.random() < P_REVERB else 0.0
    if rt60 > 0:
        x = A.reverberate(x, rt60, rng)
    noise, snr = "none", 0.0
    if rng.random() >= P_CLEAN:
        noise = A.NOISE_KINDS[int(rng.integers(len(A.NOISE_KINDS)))]
        snr = float(rng.uniform(*SNR_DB))
        x = A.add_noise(x, noise, snr, speech_power, rng, babble)
    x = x * np.float32(10 ** (rng.uniform(*GAIN_DB) / 20))
    meta = {"num_samples": len(x), "segments": timings.segments, "words": timings.words,
            "noise": noise, "snr_db": round(snr, 2), "rt60": round(rt60, 3)}
    sf.write(wav_path, A.to_int16(x), A.SAMPLE_RATE, format="WAV", subtype="PCM_16")
    with open(meta_path, "w") as f:
        json.dump(meta, f)
    return meta


def render_chunk(plan: Plan, utts: list[str], seed: int, partial: str) -> None:
    """Render ``utts`` into ``partial/{wav,meta}`` in this order (call in a fresh process)."""
    babble = np.load(os.path.join(partial, "babble.npy"))
    for utt in utts:
        render(plan.utts[utt], seed, os.path.join(partial, "wav", f"{utt}.wav"),
               os.path.join(partial, "meta", f"{utt}.json"), babble)
