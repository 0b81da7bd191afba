"""speechbench: a benchmark for self-supervised speech representations."""

__version__ = "0.1.0"
