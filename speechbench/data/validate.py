"""Validate (and fix) a Kaldi data dir, so that an invalid dir never reaches training.

Every problem is reported, with its file, line number and the fix; the fixer keeps the
utterances present in every file, re-sorts, regenerates spk2utt and says what it dropped.

    python -m speechbench.data.validate data/train --require text,utt2spk
    python -m speechbench.data.validate data/train --audio
    python -m speechbench.data.validate data/train --fix

Checks: required files exist; each file is UTF-8, well formed, C-sorted, with unique keys;
wav.scp paths exist; segments have 0 <= start < end and a known recording; every utterance
of text/utt2spk/label files has audio and every utterance with audio has an entry; no
empty transcripts; spk2utt matches utt2spk; utterance ids start with their speaker id
(warning). Multi-line files (trials, ctm) may repeat keys.

With ``--audio`` every recording is also opened and decoded (the recipes do this in stage 1,
so a broken file never first shows up during training): a readable header, samples, all of
them finite, at least ``MIN_SECONDS`` long, segments inside their recording. The summary
counts the files that loading converts: several channels (mixed down to mono, with a
warning) and other sample rates (resampled to 16 kHz).
"""
from __future__ import annotations

import argparse
import collections
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

from speechbench.contracts import SAMPLE_RATE
from speechbench.data.audio import MAX_SEGMENT_OVERSHOOT, AudioError, check_audio, is_pipe
from speechbench.data.kaldi_dir import (FILE_PURPOSE, DataDirError, c_sorted, file_kind,
                                        line_utterances, spk2utt_from_utt2spk, write_kv)
from speechbench.utils_io import atomic_open

MAX_EXAMPLES = 5


@dataclass(frozen=True)
class Problem:
    """One finding; ``line`` is 1-based, or None when it concerns the whole file."""

    file: str
    line: int | None
    message: str
    fix: str
    severity: str = "error"  # "error" blocks training; "warning" does not

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{self.severity.upper()} {where}: {self.message}\n    fix: {self.fix}"


@dataclass
class _Entry:
    line: int
    key: str
    value: str
    ok: bool = True  # False: the key parsed but the value breaks the file's format


def _is_text(name: str) -> bool:
    return name == "text" or name.startswith("text.")


def _read_raw(directory: str, name: str) -> tuple[list[_Entry], list[Problem]]:
    """Entries of every line with a key, in line order (duplicates kept), and line problems."""
    entries: list[_Entry] = []
    problems: list[Problem] = []
    with open(os.path.join(directory, name), "rb") as f:
        raw_lines = f.read().split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()
    for lineno, raw in enumerate(raw_lines, 1):
        try:
            line = raw.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError:
            problems.append(Problem(name, lineno, "line is not UTF-8 text",
                                    "re-encode the file as UTF-8 (binary archives: name them "
                                    "*.ark)"))
            continue
        if not line.strip():
            problems.append(Problem(name, lineno, "empty line", "delete the line (or use --fix)"))
            continue
        if line[0].isspace():
            problems.append(Problem(name, lineno, "line starts with whitespace (the key is the "
                                    "first field)", "remove the leading whitespace"))
            continue
        parts = line.split(maxsplit=1)
        key, value = parts[0], (parts[1].strip() if len(parts) > 1 else "")
        problem = _check_value(name, lineno, key, value)
        if problem is not None:
            problems.append(problem)
        entries.append(_Entry(lineno, key, value, problem is None))
    return entries, problems


def _check_value(name: str, lineno: int, key: str, value: str) -> Problem | None:
    """Per-line format rules of the standard files."""
    if _is_text(name):
        if not value:
            return Problem(name, lineno, f"empty transcript for '{key}'",
                           "give the transcript, or drop the utterance (--fix drops it)")
        return None
    if not value:
        return Problem(name, lineno, f"'{key}' has no value (expected `key value`)",
                       "add the value or delete the line")
    fields = value.split()
    if name == "segments":
        if len(fields) != 3:
            return Problem(name, lineno, f"expected `utt recording start end`, got '{key} {value}'",
                           "write 4 fields per line, times in seconds")
        try:
            start, end = float(fields[1]), float(fields[2])
        except ValueError:
            return Problem(name, lineno, f"times are not numbers: '{fields[1]}' '{fields[2]}'",
                           "write start and end in seconds")
        if start < 0 or end <= start:
            return Problem(name, lineno, f"bad segment times for '{key}': start {start}, end {end}"
                           " (need 0 <= start < end)", "fix the times or drop the segment")
    elif name == "utt2spk" and len(fields) != 1:
        return Problem(name, lineno, f"speaker id of '{key}' has spaces: '{value}'",
                       "speaker ids are one token; replace spaces with '_'")
    elif name in ("utt2dur", "reco2dur", "utt2num_frames"):
        try:
            number = float(value) if name != "utt2num_frames" else int(value)
        except ValueError:
            number = -1
        if number <= 0:
            return Problem(name, lineno, f"'{value}' is not a positive "
                           f"{'integer' if name == 'utt2num_frames' else 'duration'}",
                           f"regenerate {name}")
    return None


def _order_problems(name: str, entries: list[_Entry]) -> list[Problem]:
    problems = []
    first_line: dict[str, int] = {}
    unsorted_reported = False
    prev: bytes | None = None
    for e in entries:
        if e.key in first_line:
            problems.append(Problem(name, e.line, f"duplicate key '{e.key}' (first at line "
                                    f"{first_line[e.key]})",
                                    "keep one line per key (--fix keeps the first)"))
            continue
        first_line[e.key] = e.line
        cur = e.key.encode("utf-8")
        if prev is not None and cur < prev and not unsorted_reported:
            unsorted_reported = True
            problems.append(Problem(name, e.line, f"not sorted: '{e.key}' comes after "
                                    f"'{prev.decode('utf-8')}'",
                                    f"--fix re-sorts it (or: LC_ALL=C sort -k1,1 -o {name} "
                                    f"{name})"))
        prev = max(prev, cur) if prev is not None else cur
    return problems


def _unique(entries: list[_Entry]) -> dict[str, _Entry]:
    out: dict[str, _Entry] = {}
    for e in entries:
        out.setdefault(e.key, e)
    return out


def _examples(keys: Iterable[str]) -> str:
    keys = c_sorted(keys)
    more = f", ... ({len(keys)} in all)" if len(keys) > MAX_EXAMPLES else ""
    return ", ".join(f"'{k}'" for k in keys[:MAX_EXAMPLES]) + more


def _audio_path_missing(spec: str) -> bool:
    if is_pipe(spec) or os.path.isfile(spec):
        return False
    name, sep, offset = spec.rpartition(":")
    return not (sep and offset.split("[")[0].isdigit() and os.path.isfile(name))


@dataclass
class _Scan:
    """Parsed dir: per-file unique entries, multi-line files, and the utterances with audio."""

    files: dict[str, dict[str, _Entry]]
    lines: dict[str, list[_Entry]]  # files with many lines per utterance (trials, ctm)
    bad_keys: dict[str, set[str]]
    problems: list[Problem]
    audio_utts: set[str]
    has_segments: bool


def _scan(path: str, require: Sequence[str]) -> _Scan:
    problems: list[Problem] = []
    for name in dict.fromkeys(["wav.scp", *require]):
        if not os.path.isfile(os.path.join(path, name)):
            why = FILE_PURPOSE.get(name, "the task that requires it")
            problems.append(Problem(name, None, f"required file missing (needed for {why})",
                                    f"create {os.path.join(path, name)} in the data prep stage"))
    has_segments = os.path.isfile(os.path.join(path, "segments"))
    files: dict[str, dict[str, _Entry]] = {}
    lines: dict[str, list[_Entry]] = {}
    bad_keys: dict[str, set[str]] = {}
    for name in c_sorted(os.listdir(path)):
        kind = file_kind(name, has_segments)
        if not os.path.isfile(os.path.join(path, name)) or kind == "other":
            continue
        entries, line_problems = _read_raw(path, name)
        problems += line_problems
        bad_keys[name] = {e.key for e in entries if not e.ok}
        good = [e for e in entries if e.ok]
        if kind == "lines":  # keys repeat by design
            lines[name] = good
        else:
            problems += _order_problems(name, entries)
            files[name] = _unique(good)

    wav = files.get("wav.scp", {})
    for e in wav.values():
        if _audio_path_missing(e.value):
            problems.append(Problem("wav.scp", e.line, f"audio of '{e.key}' not found: {e.value}",
                                    "fix the path (relative paths are relative to the working "
                                    "directory) or drop the entry (--fix)"))
    readable = {k for k, e in wav.items() if not _audio_path_missing(e.value)}
    if has_segments:
        segments = files["segments"]
        for e in segments.values():
            if e.value.split()[0] not in wav:
                problems.append(Problem("segments", e.line, f"recording '{e.value.split()[0]}' of "
                                        f"'{e.key}' is not in wav.scp",
                                        "add the recording to wav.scp or drop the segment (--fix)"))
        audio_utts = {k for k, e in segments.items() if e.value.split()[0] in readable}
        unused = set(wav).difference(e.value.split()[0] for e in segments.values())
        if unused:
            problems.append(Problem("wav.scp", None, f"{len(unused)} recordings have no segment: "
                                    f"{_examples(unused)}", "--fix drops them", "warning"))
    else:
        audio_utts = readable
    return _Scan(files, lines, bad_keys, problems, audio_utts, has_segments)


def _cross_problems(scan: _Scan) -> list[Problem]:
    problems: list[Problem] = []
    files, audio = scan.files, scan.audio_utts
    source = "segments" if scan.has_segments else "wav.scp"
    for name, entries in files.items():
        kind = file_kind(name, scan.has_segments)
        if kind == "utt" and name not in ("wav.scp", "segments"):
            for e in entries.values():
                if e.key not in audio:
                    problems.append(Problem(name, e.line, f"utterance '{e.key}' has no audio "
                                            f"(not in {source} with a readable file)",
                                            "add its audio or drop it (--fix)"))
            missing = audio.difference(entries, scan.bad_keys[name])
            if missing:
                problems.append(Problem(name, None, f"{len(missing)} utterances with audio have no "
                                        f"entry: {_examples(missing)}",
                                        f"add them to {name}, or drop them everywhere (--fix)"))
        elif kind == "reco":
            for e in entries.values():
                if name != "wav.scp" and e.key not in files.get("wav.scp", {}):
                    problems.append(Problem(name, e.line, f"recording '{e.key}' is not in wav.scp",
                                            "drop the line (--fix)"))
    for name, entries in scan.lines.items():
        for e in entries:
            absent = [u for u in line_utterances(name, [e.key, *e.value.split()]) if u not in audio]
            if absent:
                problems.append(Problem(name, e.line, f"line refers to utterances without audio: "
                                        f"{_examples(absent)}", "drop the line (--fix)"))
    problems += _speaker_problems(scan)
    return problems


def _speaker_problems(scan: _Scan) -> list[Problem]:
    files = scan.files
    problems: list[Problem] = []
    if "utt2spk" not in files:
        if "spk2utt" in files:
            problems.append(Problem("spk2utt", None, "spk2utt exists without utt2spk",
                                    "write utt2spk (spk2utt is derived from it) or delete spk2utt"))
        return problems
    utt2spk = {k: e.value for k, e in files["utt2spk"].items()}
    unprefixed = [k for k, spk in utt2spk.items() if not k.startswith(spk)]
    if unprefixed:
        first = files["utt2spk"][c_sorted(unprefixed)[0]]
        problems.append(Problem("utt2spk", first.line, f"{len(unprefixed)} utterance ids do not "
                                f"start with their speaker id (first: '{first.key}' of speaker "
                                f"'{first.value}'); per-speaker sorting may differ from "
                                "per-utterance sorting", "prefix utterance ids with "
                                "'<speaker>-' when preparing the data", "warning"))
    expected = spk2utt_from_utt2spk(utt2spk)
    if "spk2utt" in files:
        spk2utt = files["spk2utt"]
        for spk, e in spk2utt.items():
            if e.value.split() != expected.get(spk):
                problems.append(Problem("spk2utt", e.line, f"speaker '{spk}' does not match "
                                        "utt2spk", "regenerate spk2utt from utt2spk (--fix)"))
        missing = set(expected).difference(spk2utt)
        if missing:
            problems.append(Problem("spk2utt", None, f"{len(missing)} speakers of utt2spk are "
                                    f"missing: {_examples(missing)}",
                                    "regenerate spk2utt from utt2spk (--fix)"))
    for name, entries in files.items():
        if file_kind(name, scan.has_segments) == "spk" and name != "spk2utt":
            for e in entries.values():
                if e.key not in expected:
                    problems.append(Problem(name, e.line, f"speaker '{e.key}' is not in utt2spk",
                                            "drop the line (--fix)"))
    return problems


@dataclass
class AudioSummary:
    """What opening every recording found, including what loading will convert."""

    files: int = 0
    unusable: int = 0
    multichannel: int = 0
    other_rates: collections.Counter = field(default_factory=collections.Counter)

    def __str__(self) -> str:
        rates = ", ".join(f"{rate} Hz x{n}" for rate, n in sorted(self.other_rates.items()))
        return (f"audio: {self.files} files opened, {self.unusable} unusable; {self.multichannel} with 2+ "
                f"channels (mixed down to mono on load); {sum(self.other_rates.values())} not at "
                f"{SAMPLE_RATE} Hz (resampled on load{': ' + rates if rates else ''})")


def _print_progress(done: int, total: int) -> None:
    print(f"audio: {done}/{total} files checked", file=sys.stderr, flush=True)


def check_audio_files(path: str | os.PathLike, progress: Callable[[int, int], None] | None = None,
                      every: float = 10.0) -> tuple[list[Problem], AudioSummary]:
    """Open and decode every recording of the data dir; one problem per unusable file or segment.

    ``progress(done, total)`` is called at most every ``every`` seconds, and at the end.
    """
    path = os.fspath(path)
    scan = _scan(path, ())
    wav = scan.files.get("wav.scp", {})
    segments: dict[str, list[_Entry]] = {}
    for e in scan.files.get("segments", {}).values():
        segments.setdefault(e.value.split()[0], []).append(e)
    todo = [e for e in wav.values() if not _audio_path_missing(e.value)]
    problems: list[Problem] = []
    summary = AudioSummary()
    last = time.monotonic()
    for done, e in enumerate(todo, 1):
        problems += _check_recording(e, segments.get(e.key, []), summary)
        if progress is not None and (done == len(todo) or time.monotonic() - last >= every):
            progress(done, len(todo))
            last = time.monotonic()
    return problems, summary


def _check_recording(e: _Entry, segments: list[_Entry], summary: AudioSummary) -> list[Problem]:
    """Problems of one wav.scp entry and of the segments cut from it; counts it in ``summary``."""
    summary.files += 1
    try:
        info = check_audio(e.value, e.key)
    except AudioError as err:
        summary.unusable += 1
        return [Problem("wav.scp", e.line, f"audio of '{e.key}' is unusable: {err.what}: {e.value}",
                        err.fix)]
    summary.multichannel += info.channels > 1
    if info.sample_rate != SAMPLE_RATE:
        summary.other_rates[info.sample_rate] += 1
    return [Problem("segments", seg.line, f"segment '{seg.key}' ends at {float(seg.value.split()[2]):.3f} s, "
                    f"past the end of '{e.key}' ({info.seconds:.3f} s)",
                    "fix the times in segments or drop the segment (--fix)")
            for seg in segments if float(seg.value.split()[2]) - info.seconds > MAX_SEGMENT_OVERSHOOT]


def validate_data_dir(path: str | os.PathLike, require: Sequence[str] = ()) -> list[Problem]:
    """Every problem of the data dir at ``path``, grouped by file, in line order."""
    path = os.fspath(path)
    if not os.path.isdir(path):
        return [Problem(path, None, "data dir not found", "check the path, or create the dir "
                        "with the data prep stage / `python -m speechbench.data.make_dir`")]
    scan = _scan(path, require)
    problems = scan.problems + _cross_problems(scan)
    return sorted(problems, key=lambda p: (p.file.encode("utf-8"), p.line or 0))


def check_data_dir(path: str | os.PathLike, require: Sequence[str] = (), audio: bool = False) -> None:
    """Raise :class:`DataDirError` listing every error, so an invalid dir never reaches training.

    ``audio`` also decodes every recording (see :func:`check_audio_files`).
    """
    problems = validate_data_dir(path, require)
    if audio and os.path.isdir(path):
        problems += check_audio_files(path)[0]
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        shown = [str(p) for p in errors[:20]]
        more = [f"... and {len(errors) - 20} more"] if len(errors) > 20 else []
        raise DataDirError(f"invalid data dir {os.fspath(path)} ({len(errors)} errors):\n" +
                           "\n".join(shown + more) + f"\nsee all with `python -m "
                           f"speechbench.data.validate {os.fspath(path)}`; `--fix` drops "
                           "inconsistent entries")


def fix_data_dir(path: str | os.PathLike) -> dict[str, int]:
    """Keep utterances present in every file, re-sort, regenerate spk2utt.

    Originals are copied to ``<path>/.backup/`` first. Returns entries dropped per file.
    Refuses (DataDirError) when the audio list is missing or nothing would be left.
    """
    path = os.fspath(path)
    if not os.path.isfile(os.path.join(path, "wav.scp")):
        raise DataDirError(f"{path}/wav.scp not found: cannot fix a data dir without its audio "
                           f"list (the fixer keeps only utterances that have audio)")
    scan = _scan(path, ())
    files = scan.files
    keep = set(scan.audio_utts)
    for name, entries in files.items():
        if file_kind(name, scan.has_segments) == "utt" and name not in ("wav.scp", "segments"):
            if scan.audio_utts and not keep.intersection(entries):
                raise DataDirError(f"{path}/{name} shares no utterance with the audio list: fixing "
                                   f"would drop everything. Check that its keys are utterance ids")
            keep &= set(entries)
    if not keep:
        raise DataDirError(f"{path}: no utterance has readable audio and an entry in every file; "
                           f"nothing to keep (run the validator without --fix to see why)")
    if "segments" in files:
        recordings = {files["segments"][u].value.split()[0] for u in keep}
    else:
        recordings = keep
    speakers = {files["utt2spk"][u].value for u in keep} if "utt2spk" in files else set()

    backup = os.path.join(path, ".backup")
    os.makedirs(backup, exist_ok=True)
    dropped: dict[str, int] = {}
    for name in c_sorted([*files, *scan.lines]):
        shutil.copyfile(os.path.join(path, name), os.path.join(backup, name))
        before = _count_lines(os.path.join(path, name))
        kind = file_kind(name, scan.has_segments)
        if name == "spk2utt":
            utt2spk = {u: files["utt2spk"][u].value for u in keep} if "utt2spk" in files else {}
            kept: dict[str, str] = {s: " ".join(us)
                                    for s, us in spk2utt_from_utt2spk(utt2spk).items()}
        elif kind == "lines":
            lines = dict.fromkeys(f"{e.key} {e.value}\n" for e in scan.lines[name]
                                  if all(u in keep for u in
                                         line_utterances(name, [e.key, *e.value.split()])))
            with atomic_open(os.path.join(path, name), "w", encoding="utf-8") as f:
                f.writelines(lines)
            dropped[name] = max(0, before - len(lines))
            continue
        else:
            entries = files[name]
            wanted = {"utt": keep, "reco": recordings, "spk": speakers}[kind]
            kept = {k: e.value for k, e in entries.items() if k in wanted}
        write_kv(os.path.join(path, name), kept)
        dropped[name] = max(0, before - len(kept))
    if "utt2spk" in files and "spk2utt" not in files:
        write_kv(os.path.join(path, "spk2utt"), spk2utt_from_utt2spk(
            {u: files["utt2spk"][u].value for u in keep}))
        dropped["spk2utt"] = 0
    return dropped


def _count_lines(path: str) -> int:
    with open(path, "rb") as f:
        return sum(1 for line in f if line.strip())


def _report(path: str, require: Sequence[str], fix: bool, audio: bool) -> int:
    """Validate (and fix) one dir, print its problems and summary; return its error count."""
    if fix and os.path.isdir(path):
        try:
            dropped = fix_data_dir(path)
        except DataDirError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        for name, n in dropped.items():
            print(f"{name}: dropped {n} entries")
    problems = validate_data_dir(path, require)
    summary = None
    if audio and os.path.isdir(path):
        audio_problems, summary = check_audio_files(path, _print_progress)
        problems = sorted(problems + audio_problems, key=lambda p: (p.file.encode("utf-8"), p.line or 0))
    for p in problems:
        print(p)
    n_err = sum(p.severity == "error" for p in problems)
    if summary is not None:
        print(f"{path}: {summary}")
    print(f"{path}: {n_err} errors, {len(problems) - n_err} warnings")
    return n_err


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m speechbench.data.validate",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", nargs="+", help="the data dir(s) (e.g. data/train data/dev)")
    parser.add_argument("--require", default="", help="comma-separated files that must exist "
                        "besides wav.scp (e.g. text,utt2spk)")
    parser.add_argument("--fix", action="store_true", help="drop inconsistent entries (originals "
                        "kept in DIR/.backup), re-sort, regenerate spk2utt")
    parser.add_argument("--audio", action="store_true", help="also open and decode every recording "
                        "(header, rate, channels, length, finite samples), with progress on stderr")
    args = parser.parse_args(argv)
    require = [r.strip() for r in args.require.split(",") if r.strip()]
    errors = sum(_report(d, require, args.fix, args.audio) for d in args.dir)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
