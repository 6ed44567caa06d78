#!/usr/bin/env bash
# Server reflection on a real tinchapd over mutual TLS, from a client that has only the
# reflection protocol (tests/python/reflection_test.py).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
SRC=${TC_SOURCE:?}
make_pki "$WORK/pki"
make_data "$WORK" 50
write_config "$WORK/conf.json" "$WORK" \
    "\"models\": \"$SRC/models\", \"catalog\": \"$SRC/models/catalog.json\""
start_server "$WORK/conf.json" "$WORK/server.log"
run env TC_PORT="$PORT" TC_PKI="$WORK/pki" TC_DIR="$WORK" \
    "$PY" "$SRC/tests/python/reflection_test.py"
expect_eq "reflection client" 0 "$status"
echo "$out"
stop_server || fail "tinchapd did not stop cleanly"
finish
