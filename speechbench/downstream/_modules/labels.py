"""Utterance-level class labels read from a data-dir file (emotion, intent).

The class list is fixed by the training set (sorted label names) or given explicitly in
the config; a dev/test label outside it cannot be predicted, so it is an error naming the
file, line, label and the known classes, raised before any training step.
"""
from __future__ import annotations

import os
from typing import Iterable, Sequence

from speechbench.data.kaldi_dir import DataDirError


def read_label_lines(path: str, num_fields: int, what: str) -> dict[str, tuple[int, list[str]]]:
    """``utt -> (line number, fields)`` of a ``utt label [label ...]`` file with ``num_fields`` labels."""
    if not os.path.isfile(path):
        raise DataDirError(f"{path} not found: {what} needs it (`utt label` lines)")
    out: dict[str, tuple[int, list[str]]] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            utt, *fields = line.split()
            if len(fields) != num_fields:
                raise DataDirError(f"{path}:{lineno}: expected {num_fields} label(s) after the utterance id, "
                                   f"got {len(fields)} in '{line.strip()}'")
            out[utt] = (lineno, fields)
    return out


def class_list(train_labels: Iterable[str], given: Sequence[str] | None, where: str) -> list[str]:
    """``given`` (checked for duplicates), else the sorted distinct training labels."""
    if given is None:
        return sorted(set(train_labels))
    if isinstance(given, str) or not all(isinstance(c, str) for c in given):
        raise DataDirError(f"{where} must be a list of label names, got {given!r}")
    duplicated = sorted({c for c in given if list(given).count(c) > 1})
    if duplicated:
        raise DataDirError(f"{where} lists {duplicated} more than once")
    return list(given)


def encode_labels(lines: dict[str, tuple[int, list[str]]], field: int, classes: Sequence[str], path: str,
                  source: str) -> dict[str, int]:
    """``utt -> class index`` of one label field; an unknown label names file, line and the classes."""
    index = {c: i for i, c in enumerate(classes)}
    out = {}
    for utt, (lineno, fields) in lines.items():
        label = fields[field]
        if label not in index:
            raise DataDirError(f"{path}:{lineno}: label '{label}' of '{utt}' is not among the {len(classes)} "
                               f"classes of {source} ({', '.join(classes)}); fix the label, or list every "
                               f"class in the config's datarc.classes")
        out[utt] = index[label]
    return out
