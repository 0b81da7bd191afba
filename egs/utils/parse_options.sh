# Kaldi-style option parsing for recipes; *source* it after the defaults block:
#
#   stage=1          # first stage to run
#   nj=4             # parallel jobs
#   . "$utils/parse_options.sh"
#
# `--foo-bar x` (or `--foo-bar=x`) sets the existing variable foo_bar; an option without a
# variable is an error, so a typo never silently runs with a default. A variable whose
# default is true/false only accepts true/false. `--config FILE` sources FILE (lines
# `name=value`, names must be options) before the other options, whichever position it
# has, so the command line wins over the file. `--help` prints `$help_message` (if set),
# then the options with their defaults and comments, read from the calling script's
# defaults block: the `name=value` lines directly above the line sourcing this file
# (comments and blank lines may mix in).
# Parsing stops at the first argument not starting with `--`; positional arguments
# remain in "$@".

_po_script=$0
[ -n "${_po_shared_defaults+x}" ] || _po_shared_defaults=()
# A recipe that cd-ed into its own directory first still finds itself.
[ -f "$_po_script" ] || _po_script=$(basename "$_po_script")

_po_die() {
  echo "$(basename "$_po_script"): $*" >&2
  exit 1
}

# Print the defaults block of a file as `--name [default]  comment`: the name=value lines
# directly above the line sourcing parse_options.sh (or the whole file when it has none).
_po_defaults_of() {
  awk '
    /^[ \t]*(\.|source)[ \t].*parse_options\.sh/ { printf "%s", out; done = 1; exit }
    /^[ \t]*(#.*)?$/ { next }
    !/^[A-Za-z_][A-Za-z0-9_]*=/ { out = ""; next }
    /^(help_message|_)/ { next }
    {
      name = $0; sub(/=.*/, "", name)
      rest = substr($0, length(name) + 2)
      comment = ""
      if (match(rest, /[ \t]+#[ \t]*/)) { comment = substr(rest, RSTART + RLENGTH); rest = substr(rest, 1, RSTART - 1) }
      gsub(/^["\047]|["\047]$/, "", rest)
      opt = name; gsub(/_/, "-", opt)
      out = out sprintf("  --%-22s [%s]  %s\n", opt, rest, comment)
    }
    END { if (!done) printf "%s", out }' "$1"
}

# Usage: the caller's options, then the shared ones (the files of defaults the caller sourced,
# each appending itself to the array _po_shared_defaults), most specific first.
_po_usage() {
  local i
  [ -n "${help_message:-}" ] && printf '%s\n\n' "$help_message"
  echo "Options (default in brackets):"
  _po_defaults_of "$_po_script"
  for ((i = ${#_po_shared_defaults[@]} - 1; i >= 0; i--)); do _po_defaults_of "${_po_shared_defaults[i]}"; done
  printf "  --%-22s %s\n" "config FILE" "file of name=value defaults, read before the other options"
}

# Reject lines of a config file that do not set a known option, then source it.
_po_source_config() {
  local file=$1 lineno=0 line name
  [ -f "$file" ] || _po_die "--config: no such file '$file'"
  while IFS= read -r line || [ -n "$line" ]; do
    lineno=$((lineno + 1))
    case $line in ''|'#'*) continue ;; esac
    name=${line%%=*}
    if [ "$name" = "$line" ] || ! [[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
      _po_die "$file:$lineno: expected name=value, got '$line'"
    fi
    [ -n "${!name+set}" ] || _po_die "$file:$lineno: unknown option '$name' (see --help)"
  done < "$file"
  # shellcheck disable=SC1090
  . "$file"
}

# --config first, wherever it is, so explicit options override it.
_po_args=("$@")
for ((_po_i = 0; _po_i < ${#_po_args[@]}; _po_i++)); do
  case ${_po_args[_po_i]} in
    --config) _po_source_config "${_po_args[_po_i + 1]:-}" ;;
    --config=*) _po_source_config "${_po_args[_po_i]#--config=}" ;;
    --) break ;;
  esac
done

while [ $# -gt 0 ]; do
  case $1 in
    --help|-h) _po_usage; exit 0 ;;
    --) shift; break ;;
    --config) shift 2; continue ;;
    --config=*) shift; continue ;;
    --*=*) _po_opt=${1%%=*}; _po_value=${1#*=}; _po_nshift=1 ;;
    --*)
      [ $# -ge 2 ] || _po_die "option $1 needs a value"
      _po_opt=$1; _po_value=$2; _po_nshift=2 ;;
    *) break ;;
  esac
  _po_name=${_po_opt#--}
  _po_name=${_po_name//-/_}
  if ! [[ $_po_name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || [ -z "${!_po_name+set}" ]; then
    _po_die "unknown option $_po_opt (see --help)"
  fi
  case ${!_po_name} in
    true|false)
      case $_po_value in
        true|false) ;;
        *) _po_die "option $_po_opt takes true or false, got '$_po_value'" ;;
      esac ;;
  esac
  printf -v "$_po_name" '%s' "$_po_value"
  shift "$_po_nshift"
done

unset _po_args _po_i _po_opt _po_value _po_nshift _po_name
true
