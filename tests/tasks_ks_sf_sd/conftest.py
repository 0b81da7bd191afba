"""Fixtures for the keyword-spotting, slot-filling and diarization tests (``tiny_corpus``: tests/conftest.py)."""
from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def tiny_data(tiny_corpus) -> str:
    return os.path.join(tiny_corpus, "data")
