"""Phoneme recognition: CTC over phones (SUPERB PR)."""
