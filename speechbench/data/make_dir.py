"""Build a Kaldi data dir from a folder of audio plus the CSV/TSV table users already have.

Audio stays where it is, in its own rate and format: the loader resamples on read, so there
is no conversion pass doubling disk use. Every file is decoded once before the dir is written
(``validate --audio``), and the dir is built beside ``--out`` and renamed into place, so a
table with a corrupt file leaves no data dir behind.

    python -m speechbench.data.make_dir --csv meta.tsv --audio-root wavs --out data/train \\
        --path-col file --text-col sentence --speaker-col client_id \\
        --label-col emotion:utt2emotion
"""
from __future__ import annotations

import argparse
import csv
import logging
import os
import re
import shutil
import sys
from typing import Mapping, Sequence

from speechbench.data.audio import AudioError, compute_utt2dur
from speechbench.data.kaldi_dir import DataDirError, spk2utt_from_utt2spk, write_kv
from speechbench.data.validate import check_data_dir
from speechbench.errors import DataError, run_command

log = logging.getLogger(__name__)
MAX_LISTED = 10


class MakeDirError(DataError):
    """The table or audio cannot make a data dir; one line per problem."""


def _token(value: str) -> str:
    """Kaldi keys and speaker ids are single tokens."""
    return re.sub(r"\s+", "_", value.strip())


def _delimiter(header: str) -> str:
    """The candidate that splits the header line most: column names rarely contain it."""
    return max("\t,;|", key=header.count)


def _read_table(csv_path: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    if not os.path.isfile(csv_path):
        raise MakeDirError(f"table not found: {csv_path}")
    try:
        with open(csv_path, encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f, delimiter=_delimiter(f.readline()))
            f.seek(0)
            columns = [c.strip() for c in (reader.fieldnames or [])]
            reader.fieldnames = columns
            rows = [(reader.line_num, row) for row in reader
                    if any(isinstance(v, str) and v.strip() for v in row.values())]
    except UnicodeDecodeError as e:
        raise MakeDirError(f"{csv_path}: not UTF-8 text ({e.reason} at byte {e.start}); "
                           f"re-save the table as UTF-8") from None
    except csv.Error as e:
        raise MakeDirError(f"{csv_path}: malformed table ({e})") from None
    if not columns or not rows:
        raise MakeDirError(f"{csv_path}: empty table (need a header line and at least one row)")
    return columns, rows


def _parse_label_cols(specs: Sequence[str]) -> dict[str, str]:
    """``col:file`` pairs; ``col`` alone writes ``utt2<col>``."""
    out = {}
    for spec in specs:
        col, _, name = spec.partition(":")
        out[col] = name or f"utt2{col}"
    return out


def make_data_dir(csv_path: str, audio_root: str, out_dir: str, path_col: str,
                  text_col: str | None = None, speaker_col: str | None = None,
                  label_cols: Mapping[str, str] | None = None, id_col: str | None = None) -> int:
    """Write wav.scp (+ text, utt2spk, spk2utt, label files, utt2dur); return utterances written.

    ``label_cols`` maps a column to the file it fills (e.g. ``{"emotion": "utt2emotion"}``).
    Utterance ids come from ``id_col`` or the audio file name, are prefixed with the speaker
    id (Kaldi sorting convention) and made unique with a ``-2``, ``-3``... suffix.
    """
    label_cols = dict(label_cols or {})
    columns, rows = _read_table(csv_path)
    wanted = [c for c in (path_col, text_col, speaker_col, id_col, *label_cols) if c]
    absent = [c for c in wanted if c not in columns]
    if absent:
        raise MakeDirError(f"{csv_path}: column(s) {', '.join(map(repr, absent))} not found; "
                           f"columns present: {', '.join(map(repr, columns))}")

    errors: list[str] = []
    entries: list[tuple[str, dict[str, str]]] = []
    for line, row in rows:
        rel = (row.get(path_col) or "").strip()
        full = os.path.abspath(os.path.join(audio_root, rel)) if rel else ""
        if not rel or not os.path.isfile(full):
            errors.append(f"{csv_path}:{line}: audio file not found: {full or '(empty path)'} "
                          f"(column '{path_col}' is relative to --audio-root {audio_root})")
            continue
        empty = [c for c in wanted[1:] if not (row.get(c) or "").strip()]
        if empty:
            errors.append(f"{csv_path}:{line}: empty value in column(s) "
                          f"{', '.join(map(repr, empty))}: fill it in or remove the row")
            continue
        entries.append((full, row))
    if errors:
        more = [f"... and {len(errors) - MAX_LISTED} more"] if len(errors) > MAX_LISTED else []
        raise MakeDirError("\n".join(errors[:MAX_LISTED] + more))

    files: dict[str, dict[str, str]] = {"wav.scp": {}}
    for name in ([*(["text"] if text_col else []), *(["utt2spk"] if speaker_col else []),
                  *label_cols.values()]):
        files[name] = {}
    renamed = 0
    for full, row in entries:
        base = _token(row[id_col] if id_col else os.path.splitext(os.path.basename(full))[0])
        spk = _token(row[speaker_col]) if speaker_col else ""
        utt = base if not spk or base.startswith(spk + "-") or base == spk else f"{spk}-{base}"
        if utt in files["wav.scp"]:
            renamed += 1
            n = 2
            while f"{utt}-{n}" in files["wav.scp"]:
                n += 1
            utt = f"{utt}-{n}"
        files["wav.scp"][utt] = full
        if text_col:
            files["text"][utt] = " ".join((row[text_col] or "").split())
        if speaker_col:
            files["utt2spk"][utt] = spk
        for col, name in label_cols.items():
            files[name][utt] = " ".join((row[col] or "").split())
    if renamed:
        log.warning("%d duplicate utterance ids were made unique with a -N suffix", renamed)

    if speaker_col:
        files["spk2utt"] = {s: " ".join(u)
                            for s, u in spk2utt_from_utt2spk(files["utt2spk"]).items()}
    _refuse_stale_files(out_dir, [*files, "utt2dur"])
    tmp = f"{os.path.abspath(out_dir)}.tmp{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    try:
        for name, mapping in files.items():
            write_kv(os.path.join(tmp, name), mapping)
        compute_utt2dur(tmp)
        check_data_dir(tmp, audio=True)
    except (AudioError, DataDirError) as e:
        shutil.rmtree(tmp)
        raise MakeDirError(f"{str(e).replace(tmp, out_dir)}\n(fix the table {csv_path} or the audio, then "
                           f"rerun; {out_dir} was not written)") from None
    _replace_dir(tmp, out_dir)
    return len(files["wav.scp"])


def _replace_dir(new: str, out_dir: str) -> None:
    """Put the finished dir ``new`` at ``out_dir``: a failed or killed run never leaves a part of one."""
    if not os.path.exists(out_dir):
        os.rename(new, out_dir)
        return
    old = f"{os.path.abspath(out_dir)}.old{os.getpid()}"
    os.rename(out_dir, old)
    os.rename(new, out_dir)
    shutil.rmtree(old)


def _refuse_stale_files(out_dir: str, names: Sequence[str]) -> None:
    """Files from an earlier, different run would silently mix with this one."""
    if not os.path.isdir(out_dir):
        return
    stale = sorted(n for n in os.listdir(out_dir) if n not in names and not n.startswith(".")
                   and os.path.isfile(os.path.join(out_dir, n)))
    if stale:
        raise MakeDirError(f"{out_dir} already holds {', '.join(stale)}, which this table does not "
                           f"produce: remove them or choose another --out")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m speechbench.data.make_dir",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--csv", required=True, help="CSV or TSV table with a header line "
                        "(delimiter found from the header: tab, comma, ';' or '|')")
    parser.add_argument("--audio-root", required=True, help="folder the path column is relative to")
    parser.add_argument("--out", required=True, help="data dir to write (e.g. data/train)")
    parser.add_argument("--path-col", required=True, help="column with audio paths")
    parser.add_argument("--text-col", help="column with transcripts -> text")
    parser.add_argument("--speaker-col", help="column with speaker ids -> utt2spk, spk2utt")
    parser.add_argument("--label-col", action="append", default=[], metavar="COL[:FILE]",
                        help="label column and the file it fills (default utt2<COL>); repeatable")
    parser.add_argument("--id-col", help="column with utterance ids (default: audio file name)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")

    def body() -> None:
        n = make_data_dir(args.csv, args.audio_root, args.out, args.path_col, args.text_col,
                          args.speaker_col, _parse_label_cols(args.label_col), args.id_col)
        print(f"wrote {n} utterances to {args.out}")
    return run_command(body)


if __name__ == "__main__":
    sys.exit(main())
