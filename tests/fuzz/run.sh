#!/usr/bin/env bash
# Build the libFuzzer targets (clang, ASan, UBSan) in build-fuzz/ and run each for a bounded time.
#
#   tests/fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]
#
# SECONDS_PER_TARGET defaults to 30; targets run FUZZ_JOBS at a time (default: the number of
# cores, at most 2), so on a 2-core machine the 10 targets take about 2.5 minutes after the build.
# Each target starts from its seed corpus and its regression inputs (tests/fuzz/corpus/<target>,
# tests/fuzz/regressions/<target>, both read only) and from what earlier runs on this machine
# found (build-fuzz/corpus/<target>, where new inputs go). Any crash, leak, timeout or
# out-of-memory input is copied to tests/fuzz/regressions/<target>/, where every normal test
# run replays it (ctest -L fuzz); the script then exits 1 naming each target and file. A unit
# reported slow or timed out that replays clean in under 2 s is a stall of the machine: said,
# not kept.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build="$root/build-fuzz"
seconds=${1:-30}
shift || true
all=(id catalog model record csv_row score_request steward_request train_spec pb_json consent_event)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
jobs=${FUZZ_JOBS:-$(nproc)}
[ -z "${FUZZ_JOBS:-}" ] && [ "$jobs" -gt 2 ] && jobs=2

case "$seconds" in
'' | *[!0-9]*) echo "usage: $0 [SECONDS_PER_TARGET] [TARGET...]" >&2; exit 2 ;;
esac

# Longest input per target: the largest seed with room to grow, no more, because long inputs
# are slow and rarely find more.
max_len() {
    case "$1" in
    id) echo 64 ;;
    score_request | consent_event) echo 1024 ;;
    record | csv_row | steward_request | pb_json) echo 4096 ;;
    train_spec) echo 8192 ;;
    catalog) echo 16384 ;;
    model) echo 24576 ;;
    esac
}

# clang-14 and its runtimes (libFuzzer, ASan, UBSan) come from Debian 12 packages.
if ! command -v clang-14 >/dev/null ||
    [ ! -e /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a ]; then
    TC_EXTRA_PACKAGES="clang-14 libclang-rt-14-dev" bash "$root/tools/setup" || exit 1
fi

echo "== building the fuzz targets in $build"
mkdir -p "$build"
cmake -S "$root" -B "$build" -DTC_FUZZ=ON -DCMAKE_C_COMPILER=clang-14 -DBUILD_TESTING=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build/configure.log" 2>&1 ||
    { cat "$build/configure.log"; exit 1; }
cmake --build "$build" -j"$(nproc)" --target fuzz_all >"$build/build.log" 2>&1 ||
    { tail -50 "$build/build.log"; exit 1; }

run_one() {
    local t=$1 corpus="$build/corpus/$1" artifacts="$build/artifacts/$1"
    local dict=() log="$build/logs/$1.log"
    mkdir -p "$corpus" "$artifacts" "$build/logs" "$here/regressions/$t"
    [ -f "$here/$t.dict" ] && dict=(-dict="$here/$t.dict")
    # The timeout is a safety net for a fuzzer that stops answering, beyond its own limits.
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
        UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        timeout -k 10 $((seconds + 120)) "$build/tests/fuzz/fuzz_$t" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -max_len="$(max_len "$t")" -print_final_stats=1 -artifact_prefix="$artifacts/" \
        "${dict[@]}" "$corpus" "$here/corpus/$t" "$here/regressions/$t" >"$log" 2>&1
    echo $? >"$build/logs/$t.status"
}

rm -rf "$build/artifacts" "$build/logs"
echo "== fuzzing ${#targets[@]} targets, ${seconds} s each, $jobs at a time"
running=0
for t in "${targets[@]}"; do
    if [ -z "$(max_len "$t")" ]; then
        echo "unknown target '$t' (known: ${all[*]})" >&2
        exit 2
    fi
    run_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n
        running=$((running - 1))
    fi
done
wait

# A unit reported slow (or timed out) that runs in well under a second when replayed alone was
# not slow: the machine stalled under it (a shared VM can pause a process for seconds). It is
# said, not kept; one that is slow again is a finding like any other.
stalled() { # TARGET FILE: 0 if FILE replays clean in under 2 s
    case $(basename "$2") in slow-unit-* | timeout-*) ;; *) return 1 ;; esac
    local t0 t1
    t0=$(date +%s%N)
    timeout 10 "$build/tests/fuzz/fuzz_$1" "$2" >/dev/null 2>&1 || return 1
    t1=$(date +%s%N)
    [ $(((t1 - t0) / 1000000)) -lt 2000 ] || return 1
    echo "note  fuzz_$1: $(basename "$2") replays clean in $(((t1 - t0) / 1000000)) ms: a stall of the machine, not of the input" >&2
}

failed=0
for t in "${targets[@]}"; do
    status=$(cat "$build/logs/$t.status" 2>/dev/null || echo "?")
    log="$build/logs/$t.log"
    stats=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 | sed -E 's/^#([0-9]+)[[:space:]]+DONE[[:space:]]+/\1 runs, /')
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$')
    found=$(find "$build/artifacts/$t" -type f 2>/dev/null | sort)
    kept=""
    for f in $found; do
        stalled "$t" "$f" || kept="$kept $f"
    done
    # a timeout ends the run with an error: not one if its only input was such a stall
    [ -n "$found" ] && [ -z "$kept" ] && grep -q 'ERROR: libFuzzer: timeout' "$log" && status=0
    found=${kept# }
    if [ "$status" = 0 ] && [ -z "$found" ]; then
        echo "ok    fuzz_$t: ${stats:-?} (${rate:-?} exec/s)"
        continue
    fi
    failed=1
    echo "FAIL  fuzz_$t (exit $status); log: $log"
    grep -E 'ERROR: |runtime error:|property violated|SUMMARY' "$log" | head -5 | sed 's/^/      /'
    for f in $found; do
        cp "$f" "$here/regressions/$t/"
        echo "      input kept as tests/fuzz/regressions/$t/$(basename "$f")"
    done
    [ -z "$found" ] && tail -20 "$log" | sed 's/^/      /'
done
if [ "$failed" -ne 0 ]; then
    echo "fuzzing found problems: fix them; the inputs above now replay in every test run" >&2
    exit 1
fi
echo "== all fuzz targets ran clean"
