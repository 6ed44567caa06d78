# Shared helpers for the CLI tests: a scratch directory removed on exit, and assertions that
# print what differed. Sourced by tests/cli/*.sh; expects $TINCHAP (the binary) in the env.
set -euo pipefail
: "${TINCHAP:?TINCHAP must point at the tinchap binary}"
PY=/usr/bin/python3
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tinchap-cli-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export TINCHAP_NO_PROGRESS=1
unset TINCHAP_KEY TINCHAP_CATALOG TINCHAP_MODELS_DIR || true
failures=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
    if [ "$2" != "$3" ]; then
        fail "$1"
        printf '  expected: %s\n  actual:   %s\n' "$2" "$3" >&2
    fi
}

# expect_contains WHAT NEEDLE HAYSTACK
expect_contains() {
    case "$3" in
    *"$2"*) ;;
    *) fail "$1"; printf '  expected to contain: %s\n  actual: %s\n' "$2" "$3" >&2 ;;
    esac
}

# run CMD...: sets $out (stdout+stderr) and $status without stopping the script
run() {
    set +e
    out=$("$@" 2>&1)
    status=$?
    set -e
}

# days_from_now N [time]: the UTC date N days from now (N may be negative), as YYYY-MM-DD, or
# as YYYY-MM-DDTHH:MM:SSZ with a second argument. Fixture times are relative to the clock the
# test runs under, so the suite passes on any day (CI also runs it under faketime, years ahead).
days_from_now() {
    local t=$(($(date -u +%s) + $1 * 86400))
    if [ $# -gt 1 ]; then date -u -d "@$t" +%FT%TZ; else date -u -d "@$t" +%F; fi
}

# render_dates IN OUT: a fixture with its {-300d} and {+3650d:time} marks replaced by
# days_from_now's dates, e.g. tests/fixtures/consents_small.csv.in.
render_dates() {
    local marks mark n text
    text=$(cat "$1")
    marks=$(grep -oE '\{[-+][0-9]+d(:time)?\}' "$1" | sort -u)
    for mark in $marks; do
        n=${mark#\{}
        n=${n%%d*}
        if [ "${mark%:time\}}" != "$mark" ]; then
            text=${text//"$mark"/$(days_from_now "$n" time)}
        else
            text=${text//"$mark"/$(days_from_now "$n")}
        fi
    done
    printf '%s\n' "$text" >"$2"
}

finish() {
    if [ "$failures" -ne 0 ]; then
        echo "$failures check(s) failed" >&2
        exit 1
    fi
    echo "all checks passed"
}
