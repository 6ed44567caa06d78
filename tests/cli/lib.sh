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

finish() {
    if [ "$failures" -ne 0 ]; then
        echo "$failures check(s) failed" >&2
        exit 1
    fi
    echo "all checks passed"
}
