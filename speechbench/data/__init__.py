"""Kaldi data directories, audio loading and data loaders."""
