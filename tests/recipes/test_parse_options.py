"""parse_options.sh: Kaldi option semantics, --config and --help."""
from __future__ import annotations

from pathlib import Path

UTILS = Path(__file__).resolve().parents[2] / "egs" / "utils"

SCRIPT = f"""#!/usr/bin/env bash
set -euo pipefail
helper=not_an_option
echo start
foo_bar=1          # the foo
flag=false         # a switch
name="x y"         # a name
. {UTILS}/parse_options.sh
echo "foo_bar=$foo_bar flag=$flag name=$name rest=$*"
"""


def script(tmp_path: Path) -> Path:
    path = tmp_path / "run.sh"
    path.write_text(SCRIPT)
    return path


def test_dash_and_equals_forms_set_underscore_variables(tmp_path, bash):
    out = bash(script(tmp_path), "--foo-bar", "7", "--name=z", "--flag", "true", "a", "b", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "foo_bar=7 flag=true name=z rest=a b"


def test_unknown_option_is_an_error(tmp_path, bash):
    out = bash(script(tmp_path), "--foo-baz", "7", cwd=tmp_path)
    assert out.returncode != 0
    assert "unknown option --foo-baz" in out.stderr
    assert "foo_bar=" not in out.stdout


def test_boolean_takes_only_true_or_false(tmp_path, bash):
    out = bash(script(tmp_path), "--flag", "yes", cwd=tmp_path)
    assert out.returncode != 0
    assert "--flag takes true or false, got 'yes'" in out.stderr


def test_missing_value_is_an_error(tmp_path, bash):
    out = bash(script(tmp_path), "--foo-bar", cwd=tmp_path)
    assert out.returncode != 0
    assert "option --foo-bar needs a value" in out.stderr


def test_help_lists_the_defaults_block_only(tmp_path, bash):
    out = bash(script(tmp_path), "--help", cwd=tmp_path)
    assert out.returncode == 0
    lines = out.stdout.splitlines()
    assert any(l.split() == ["--foo-bar", "[1]", "the", "foo"] for l in lines), out.stdout
    assert any(l.split() == ["--name", "[x", "y]", "a", "name"] for l in lines), out.stdout
    assert any(l.split()[:2] == ["--flag", "[false]"] for l in lines)
    assert "helper" not in out.stdout


def test_config_file_is_read_first_and_options_override_it(tmp_path, bash):
    conf = tmp_path / "my.conf"
    conf.write_text("# comment\nfoo_bar=5\nname=from_conf\n")
    out = bash(script(tmp_path), "--name", "cli", "--config", conf, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "foo_bar=5 flag=false name=cli rest="


def test_config_with_unknown_name_names_the_line(tmp_path, bash):
    conf = tmp_path / "bad.conf"
    conf.write_text("foo_bar=5\nfoo_baz=6\n")
    out = bash(script(tmp_path), "--config", conf, cwd=tmp_path)
    assert out.returncode != 0
    assert f"{conf}:2: unknown option 'foo_baz'" in out.stderr


def test_missing_config_file(tmp_path, bash):
    out = bash(script(tmp_path), "--config", tmp_path / "nope.conf", cwd=tmp_path)
    assert out.returncode != 0
    assert "no such file" in out.stderr
