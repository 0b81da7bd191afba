"""The embedded synthetic corpus (espeak-ng) that every recipe uses by default.

See README.md in this package for the layout, file formats and what each size contains.
"""
from speechbench.corpora.mini.build import VERSION, prepare_mini
from speechbench.corpora.mini.plan import SIZES

__all__ = ["prepare_mini", "SIZES", "VERSION"]
