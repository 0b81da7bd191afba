#!/usr/bin/env bash
# Job runner used by cmd.sh; see run_jobs.py for the options (run with --help).
exec python3 "$(dirname "${BASH_SOURCE[0]}")/run_jobs.py" "$@"
