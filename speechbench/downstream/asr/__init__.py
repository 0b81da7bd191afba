"""Automatic speech recognition: CTC over characters or sentencepiece units (SUPERB ASR)."""
