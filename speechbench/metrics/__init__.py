"""Metrics of every downstream task, one module per family (see README.md in this folder)."""
