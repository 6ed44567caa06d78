# Helpers for tests that run a real tinchapd on 127.0.0.1: a development CA and certificates
# made with the openssl CLI, a database of synthetic citizens, a configuration file, and
# start/stop with an ephemeral port. Source after lib.sh; expects $TINCHAP and $TINCHAPD.
: "${TINCHAPD:?TINCHAPD must point at the tinchapd binary}"

# make_pki DIR: ca.pem/ca.key (trusted client CA, also signs the server), server.pem/key
# (SAN localhost, 127.0.0.1), client certs bank-a, bank-b, steward, admin, norole (an identity
# the server does not know); rogue.pem, with bank-a's name but signed by another CA.
make_pki() {
    local d=$1
    mkdir -p "$d"
    (
        cd "$d"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
            -subj "/CN=tinchap test CA" -keyout ca.key -out ca.pem 2>/dev/null
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
            -subj "/CN=rogue CA" -keyout rogue-ca.key -out rogue-ca.pem 2>/dev/null
        sign() { # NAME SAN CA
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
                -subj "/CN=$1" -keyout "$1.key" -out "$1.csr" 2>/dev/null
            printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$2" > "$1.ext"
            openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial \
                -days 30 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
            rm -f "$1.csr" "$1.ext"
        }
        sign server "DNS:localhost,IP:127.0.0.1" ca
        sign bank-a "DNS:bank-a.clients.tinchap.test" ca
        sign bank-b "DNS:bank-b.clients.tinchap.test" ca
        sign steward "DNS:steward.clients.tinchap.test" ca
        sign admin "DNS:admin.clients.tinchap.test" ca
        sign norole "DNS:unknown.clients.tinchap.test" ca
        sign rogue "DNS:bank-a.clients.tinchap.test" rogue-ca
        chmod 600 ./*.key
    )
}

# make_cert DIR NAME SUBJECT [SAN]: NAME.pem/key signed by DIR/ca, with subject SUBJECT (e.g.
# "/CN=admin") and subjectAltName SAN (e.g. "DNS:a.example,email:b@example"), or no SAN at all
make_cert() {
    local d=$1 name=$2 subj=$3 san=${4:-}
    (
        cd "$d"
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "$subj" \
            -keyout "$name.key" -out "$name.csr" 2>/dev/null
        printf 'extendedKeyUsage=clientAuth\n' > "$name.ext"
        [ -z "$san" ] || printf 'subjectAltName=%s\n' "$san" >> "$name.ext"
        openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
            -extfile "$name.ext" -out "$name.pem" 2>/dev/null
        rm -f "$name.csr" "$name.ext"
        chmod 600 "$name.key"
    )
}

# make_crl DIR NAME...: DIR/crl/, a certificate revocation list of DIR/ca that revokes the
# certificates DIR/NAME.pem, under OpenSSL's hashed name (what tls.crl_dir expects)
make_crl() {
    local d=$1
    shift
    (
        cd "$d"
        mkdir -p crl-ca crl
        : > crl-ca/index.txt
        echo 01 > crl-ca/crlnumber
        cat > crl-ca/ca.cnf <<CNF
[ca]
default_ca = test
[test]
database = $d/crl-ca/index.txt
crlnumber = $d/crl-ca/crlnumber
certificate = $d/ca.pem
private_key = $d/ca.key
default_md = sha256
default_crl_days = 30
CNF
        for name in "$@"; do
            openssl ca -config crl-ca/ca.cnf -revoke "$name.pem" 2>/dev/null
        done
        openssl ca -config crl-ca/ca.cnf -gencrl -out crl/ca.crl.pem 2>/dev/null
        openssl rehash crl 2>/dev/null
    )
}

# make_expired DIR: expired.pem/key, signed by DIR/ca, whose validity ended days ago. Uses a
# throwaway openssl CA configuration because 'openssl x509 -req' cannot backdate on OpenSSL 3.0.
make_expired() {
    local d=$1
    (
        cd "$d"
        mkdir -p expired-ca/newcerts
        : > expired-ca/index.txt
        echo 1000 > expired-ca/serial
        cat > expired-ca/ca.cnf <<CNF
[ca]
default_ca = test
[test]
dir = $d/expired-ca
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
certificate = $d/ca.pem
private_key = $d/ca.key
default_md = sha256
policy = any
copy_extensions = copy
[any]
commonName = supplied
CNF
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -subj "/CN=expired" -addext "subjectAltName=DNS:bank-a.clients.tinchap.test" \
            -keyout expired.key -out expired.csr 2>/dev/null
        openssl ca -batch -config expired-ca/ca.cnf -in expired.csr -out expired.pem \
            -startdate "$(date -u -d '10 days ago' +%Y%m%d%H%M%SZ)" \
            -enddate "$(date -u -d '5 days ago' +%Y%m%d%H%M%SZ)" 2>/dev/null
        chmod 600 expired.key
        rm -f expired.csr
    )
}

# make_data DIR N: secret, synthetic citizens and consents (valid today), loaded into DIR/db
make_data() {
    local d=$1 n=$2
    "$TINCHAP" keygen "$d/secret" >/dev/null
    "$TINCHAP" synth -n "$n" --history 0 --seed 11 --as-of "$(date -u +%F)" --out "$d/data" >/dev/null
    TINCHAP_KEY=$d/secret "$TINCHAP" load --db "$d/db" --consents "$d/data/consents.csv" \
        "$d/data/population.csv" >/dev/null
}

# feed_cluster ROWS: for the tests with a broker, its directory and password (mode 0600), the
# PKI, a steward database of ROWS citizens and three replica directories r1..r3, each with a
# snapshot of it and links to the secret and the PKI. Sets REDIS (the broker's program) and P.
feed_cluster() {
    REDIS=$(command -v redis-server || true)
    [ -n "$REDIS" ] || { echo "FAIL: redis-server is not installed (tools/setup installs it)" >&2; exit 1; }
    P=$WORK/pki
    make_pki "$P"
    make_data "$WORK" "$1"
    mkdir -p "$WORK/redis"
    head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$WORK/redis/password"
    chmod 600 "$WORK/redis/password"
    local i R
    for i in 1 2 3; do
        R=$WORK/r$i
        mkdir -p "$R"
        ln -s "$WORK/secret" "$R/secret"
        ln -s "$P" "$R/pki"
        "$TINCHAP" snapshot --db "$WORK/db" --out "$R/db" >/dev/null
    done
}

# write_config FILE DIR [extra JSON members]: mTLS configuration for the PKI in DIR/pki
write_config() {
    local f=$1 d=$2 extra=${3:-}
    cat > "$f" <<JSON
{
  "listen": "127.0.0.1:0",
  "database": "$d/db",
  "secret": "$d/secret",
  "metrics_listen": "127.0.0.1:0",
  "drain_timeout_ms": 5000,
  "tls": {"cert": "$d/pki/server.pem", "key": "$d/pki/server.key", "client_ca": "$d/pki/ca.pem"},
  "clients": [
    {"identity": "bank-a.clients.tinchap.test", "institution": "bank-a", "roles": ["scorer"]},
    {"identity": "bank-b.clients.tinchap.test", "institution": "bank-b", "roles": ["scorer"]},
    {"identity": "steward.clients.tinchap.test", "institution": "population-data", "roles": ["steward"]},
    {"identity": "admin.clients.tinchap.test", "institution": "operations", "roles": ["admin"]}
  ]${extra:+,
  $extra}
}
JSON
}

# Every process a test starts in the background goes in TC_PIDS: on exit, a failed check
# included, none may outlive the test (ctest waits for whoever holds its output open).
TC_PIDS=()
tc_exit() {
    local p
    for p in "${TC_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap tc_exit EXIT

# start_server CONFIG LOG [flags...]: starts tinchapd, waits for its port; sets $SERVER_PID,
# $PORT, $METRICS_PORT, $REST_PORT (when rest_listen is set)
start_server() {
    local conf=$1 log=$2
    shift 2
    rm -f "$log.port"
    "$TINCHAPD" --config "$conf" --port-file "$log.port" "$@" 2>"$log" &
    SERVER_PID=$!
    TC_PIDS+=("$SERVER_PID")
    for _ in $(seq 1 100); do
        [ -s "$log.port" ] && break
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$log" >&2; return 1; }
        sleep 0.05
    done
    PORT=$(cat "$log.port")
    METRICS_PORT=$(grep -o '"metrics_port":[0-9]*' "$log" | head -1 | cut -d: -f2)
    REST_PORT=$(grep -o '"rest_port":[0-9]*' "$log" | head -1 | cut -d: -f2 || true)

}

# stop_server: SIGTERM and wait; returns tinchapd's exit status
stop_server() {
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    local st=0
    wait "$SERVER_PID" || st=$?
    return $st
}
