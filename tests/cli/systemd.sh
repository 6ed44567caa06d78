#!/usr/bin/env bash
# The systemd unit: systemd-analyze accepts it, its sandbox exposure stays low, and the hardening
# the operator relies on is in it (dedicated user, read-only system, one writable directory,
# no new privileges, private /tmp, reload by SIGHUP, stop by SIGTERM).
source "$(dirname "$0")/lib.sh"
UNIT=${TC_BUILD:?}/tools/tinchapd.service
[ -f "$UNIT" ] || { fail "no generated unit at $UNIT"; finish; }
# verify also checks that ExecStart names an executable: point it at the built binary
sed "s|^ExecStart=[^ ]*|ExecStart=${TINCHAPD:?}|" "$UNIT" > "$WORK/tinchapd.service"
run systemd-analyze verify "$WORK/tinchapd.service"
expect_eq "systemd-analyze verify" 0 "$status"
[ "$status" -eq 0 ] || echo "$out" >&2
run systemd-analyze security --offline=true "$WORK/tinchapd.service"
level=$(sed -n 's/.*Overall exposure level for tinchapd.service: \([0-9.]*\).*/\1/p' <<<"$out")
[ -n "$level" ] || fail "no exposure level in: $out"
awk -v l="${level:-99}" 'BEGIN { exit !(l <= 2.0) }' || fail "exposure level $level is above 2.0"
for line in "User=tinchap" "ProtectSystem=strict" "ReadWritePaths=/var/lib/tinchap" \
    "NoNewPrivileges=yes" "PrivateTmp=yes" "ExecReload=/bin/kill -HUP \$MAINPID" \
    "KillSignal=SIGTERM" "CapabilityBoundingSet="; do
    grep -qxF "$line" "$UNIT" || fail "unit lacks '$line'"
done
finish
