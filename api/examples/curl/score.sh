#!/usr/bin/env bash
# Score an applicant with tinchap's REST interface (HTTPS + JSON) and curl: mutual TLS, the
# health check first, then POST /v1/score. A refusal comes back as a google.rpc.Status in JSON
# with the HTTP status of its gRPC code; curl --fail-with-body exits 22 and prints it.
#
#   api/examples/curl/score.sh URL CA CERT KEY CITIZEN CONSENT_REF [REQUEST_ID]
#   e.g. api/examples/curl/score.sh https://localhost:8443 ca.pem bank.pem bank.key \
#            012345678901 VNEID-0123456789ABCDEF
set -euo pipefail
[ $# -ge 6 ] || { sed -n '2,8p' "$0" >&2; exit 2; }
url=$1 ca=$2 cert=$3 key=$4 citizen=$5 ref=$6
request_id=${7:-$(cat /proc/sys/kernel/random/uuid)}
tls=(--cacert "$ca" --cert "$cert" --key "$key")

# Is scoring served here? (503 and NOT_SERVING while the server drains: use another replica.)
curl -sS --fail-with-body "${tls[@]}" "$url/v1/health?service=tinchap.v1.Scoring"
echo

# The citizen ID goes in the body, never in a URL that proxies and logs keep. 64-bit integers
# are strings in the proto3 JSON mapping; a repeat of the same requestId within 24 h gets the
# original answer back ("replayed": true), so a timed-out call is safe to send again.
curl -sS --fail-with-body "${tls[@]}" -X POST "$url/v1/score" \
    -H 'Content-Type: application/json' \
    --data-binary @- <<JSON
{
  "citizenId": "$citizen",
  "consentRef": "$ref",
  "purpose": "loan-origination",
  "product": "unsecured-consumer",
  "loanAmountVnd": "50000000",
  "loanTermMonths": 24,
  "requestId": "$request_id"
}
JSON
echo
