#!/usr/bin/env bash
# The shipped champion is reproducible: run the rebuild commands exactly as models/README.md
# prints them (between its "rebuild v2" markers), in a scratch copy of the repository's models
# folder, and compare the result with models/unsecured-consumer-v2.json byte for byte.
source "$(dirname "$0")/lib.sh"
SRC=${TC_SOURCE:?}
README="$SRC/models/README.md"
commands=$(sed -n '/<!-- rebuild v2: begin -->/,/<!-- rebuild v2: end -->/p' "$README" |
    grep -v -e '^<!--' -e '^```')
[ -n "$commands" ] || { echo "no rebuild commands in $README" >&2; exit 1; }
mkdir -p "$WORK/repo/models"
cp -r "$SRC/models/train" "$WORK/repo/models/"
tinchap() { "$TINCHAP" "$@"; }
export -f tinchap
export TINCHAP
run env TMPDIR="$WORK" bash -c "cd '$WORK/repo' && set -e && $commands"
expect_eq "rebuild commands exit" 0 "$status"
if ! cmp "$WORK/repo/models/unsecured-consumer-v2.json" "$SRC/models/unsecured-consumer-v2.json"; then
    fail "the rebuilt model differs from the shipped models/unsecured-consumer-v2.json"
    diff "$WORK/repo/models/unsecured-consumer-v2.json" "$SRC/models/unsecured-consumer-v2.json" |
        head -20 >&2 || true
fi
# and the shipped file is what the server loads
run "$TINCHAP" model check "$SRC/models/unsecured-consumer-v2.json"
expect_contains "v2 loads as the champion" \
    "unsecured-consumer-scorecard version 2 (scorecard, champion)" "$out"
finish
