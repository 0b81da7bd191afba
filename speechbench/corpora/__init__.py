"""Corpus preparation: each corpus is one module (or package) that writes Kaldi data dirs."""
