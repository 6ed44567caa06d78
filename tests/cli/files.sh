#!/usr/bin/env bash
# tinchapd's files (SECURITY.md maps each to its test): a database or audit directory open to its
# group or others, and a secret key that belongs to another user, are refused at start with
# what to do; closed again, the same files serve.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
make_pki "$WORK/pki"
make_data "$WORK" 50
write_config "$WORK/conf.json" "$WORK"
start_server "$WORK/conf.json" "$WORK/server.log" # creates the audit trail (mode 0700)
stop_server || fail "tinchapd did not stop cleanly"
refused() { # WHAT EXPECTED-TEXT
    run timeout 10 "$TINCHAPD" --config "$WORK/conf.json"
    expect_eq "$1: refused to start" 1 "$status"
    expect_contains "$1: says why" "$2" "$out"
}
chmod 750 "$WORK/db"
refused "a database its group can read" "the database directory $WORK/db is open to its group or others (mode 0750): chmod 700 $WORK/db"
chmod 701 "$WORK/db"
refused "a database others can enter" "(mode 0701)"
chmod 700 "$WORK/db"
chmod 755 "$WORK/audit"
refused "an audit trail anyone can read" "the audit trail directory $WORK/audit is open to its group or others (mode 0755): chmod 700 $WORK/audit"
chmod 700 "$WORK/audit"
chown 65534 "$WORK/secret"
refused "a secret of another user" "the secret key $WORK/secret belongs to uid 65534, not to the user tinchapd runs as (uid $(id -u))"
chown "$(id -u)" "$WORK/secret"
start_server "$WORK/conf.json" "$WORK/server2.log"
stop_server || fail "tinchapd did not stop cleanly with its files closed again"
finish
