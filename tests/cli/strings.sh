#!/usr/bin/env bash
# Malformed strings and the log (SECURITY.md maps each attack to its test): a NUL or bytes that
# are not UTF-8 in any string field of any method are refused INVALID_ARGUMENT
# (tests/python/strings_test.py); then plaintext sent to the TLS port makes gRPC core log a
# failed handshake, and every line the server wrote, core's included, must be one JSON object
# in valid UTF-8 — as must tinchapd's own refusal to start.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
SRC=${TC_SOURCE:?}
make_pki "$WORK/pki"
make_data "$WORK" 200
write_config "$WORK/conf.json" "$WORK"
start_server "$WORK/conf.json" "$WORK/server.log"

run env TC_PORT="$PORT" TC_PKI="$WORK/pki" TC_DIR="$WORK" "$PY" "$SRC/tests/python/strings_test.py"
expect_eq "strings suite" 0 "$status"
[ "$status" -eq 0 ] || echo "$out" >&2

# plaintext HTTP/1.1, and a TLS record of no known version, to the TLS port: gRPC core logs
# each failed handshake ("http request", "wrong version number")
"$PY" - "$PORT" <<'PY'
import socket, sys
for hello in (b"GET / HTTP/1.1\r\nHost: x\xff\xfe\r\n\r\n", b"\x16\x09\x09\x00\x05\xff\xfe\x00\x00\x00"):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
    s.sendall(hello)
    try:
        s.recv(100)
    except OSError:
        pass
    s.close()
PY
sleep 0.5
stop_server || fail "tinchapd did not stop cleanly"
run timeout 10 "$TINCHAPD" --config "$WORK/conf.json" --workers 0 --db "$WORK/db-x"
expect_eq "a bad flag: refused" 2 "$status"
printf '%s\n' "$out" > "$WORK/refusal.log"

# every line: one JSON object in valid UTF-8, with time, level and event
check_log() { # FILE: prints "ok N", N the lines, or what is wrong
    "$PY" - "$1" <<'PY'
import json, sys
lines = open(sys.argv[1], "rb").read().split(b"\n")
if lines and lines[-1] == b"":
    lines.pop()
for i, raw in enumerate(lines, 1):
    try:
        d = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        print("line %d is not a UTF-8 JSON object (%s): %r" % (i, e, raw[:200]))
        sys.exit(0)
    if not isinstance(d, dict) or not {"time", "level", "event"} <= set(d):
        print("line %d lacks time, level or event: %r" % (i, raw[:200]))
        sys.exit(0)
print("ok %d" % len(lines))
PY
}
result=$(check_log "$WORK/server.log")
expect_eq "server log: every line a UTF-8 JSON object" ok "${result%% *}"
[ "${result%% *}" = ok ] || echo "$result" >&2
expect_eq "gRPC core's two failed handshakes are in the log, as JSON" 2 \
    "$(grep -c '"event":"grpc".*Handshake failed' "$WORK/server.log" || true)"
result=$(check_log "$WORK/refusal.log")
expect_eq "refusal to start: a UTF-8 JSON line" "ok 1" "$result"
finish
