"""Upstreams: one folder per model, each with ``expert.py`` defining ``UpstreamExpert``."""
