"""Checkpoint loading that never runs code from a file."""
from speechbench.checkpoints.safe_load import CheckpointError, load_checkpoint, StubObject

__all__ = ["CheckpointError", "load_checkpoint", "StubObject"]
