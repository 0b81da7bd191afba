"""The one helper that turns user errors into an ``error:`` line: status 2 for those, tracebacks for the rest."""
from __future__ import annotations

import pytest

from speechbench.errors import ConfigError, MissingFileError, run_command
from testutil import one_error_line


def _main(argv: list[str]) -> int:
    def body() -> None:
        raise ConfigError(f"--x {argv[0]} is not a number; use 3")
    return run_command(body)


def test_a_user_error_is_one_line_and_status_2(capsys):
    assert one_error_line(capsys, _main, ["abc"]) == "error: --x abc is not a number; use 3"


def test_prog_prefixes_the_line_and_none_is_success(capsys):
    assert run_command(lambda: None) == 0 and run_command(lambda: 5) == 5

    def missing() -> None:
        raise MissingFileError("a.json not found: run stage 3 first")

    assert run_command(missing, prog="speechbench report") == 2
    assert capsys.readouterr().err == "speechbench report: error: a.json not found: run stage 3 first\n"


@pytest.mark.parametrize("bug", [ZeroDivisionError("division by zero"), KeyError("k"), OSError(28, "No space")])
def test_any_other_exception_keeps_its_traceback(bug):
    def body() -> None:
        raise bug

    with pytest.raises(type(bug)):
        run_command(body)


def test_a_missing_file_is_still_a_file_not_found_error():
    assert issubclass(MissingFileError, FileNotFoundError) and issubclass(MissingFileError, ValueError)
