#!/usr/bin/python3
"""Score an applicant with tinchap over gRPC, as a bank's service would: mutual TLS, the health
check first, retries in the service configuration, and errors read from their google.rpc.Status.

Needs Debian's python3-grpcio and python3-grpc-tools (or pip's grpcio and grpcio-tools); the
stubs are generated from api/ at start, so nothing here is out of date with the .proto files.

  api/examples/python/score.py --target localhost:50051 --ca ca.pem --cert bank.pem \
      --key bank.key --citizen 012345678901 --consent-ref REF [--request-id ID]

Prints the answer as JSON (proto3 JSON mapping) and exits 0; on a refusal prints
"REASON (STATUS): message" and each bad field, and exits 1.
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import uuid

import grpc
from google.protobuf import json_format

API = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def load_stubs():
    """Generate the Python modules of the protos into a temporary directory and import them.

    The recipe for the health and error protos: their packages are named "grpc" and "google",
    which are grpcio's and protobuf's own packages, so importing them by name would shadow
    those (or fail). Load those modules by their file path instead, under names of their own.
    """
    out = tempfile.mkdtemp(prefix="tinchap-stubs-")
    protos = ["tinchap/v1/scoring.proto", "tinchap/v1/errors.proto",
              "grpc/health/v1/health.proto", "google/rpc/status.proto",
              "google/rpc/error_details.proto"]
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I" + API,
                    "--python_out=" + out, "--grpc_python_out=" + out] + protos, check=True)
    sys.path.insert(0, out)

    def by_path(rel):
        spec = importlib.util.spec_from_file_location(
            "tinchap_example_" + rel.replace("/", "_")[:-3], os.path.join(out, rel))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    health = by_path("grpc/health/v1/health_pb2.py")
    status = by_path("google/rpc/status_pb2.py")
    details = by_path("google/rpc/error_details_pb2.py")
    from tinchap.v1 import scoring_pb2, scoring_pb2_grpc
    return scoring_pb2, scoring_pb2_grpc, health, status, details


scoring_pb2, scoring_pb2_grpc, health_pb2, status_pb2, details_pb2 = load_stubs()

# gRPC's service configuration (grpc/doc/service_config.md): a call answered UNAVAILABLE (the
# server draining, restarting or unreachable) is tried again, with backoff. Score is safe to
# retry with the same request_id: the service answers a repeat with the original answer.
SERVICE_CONFIG = {
    "methodConfig": [{
        "name": [{"service": "tinchap.v1.Scoring"}],
        "timeout": "2s",
        "retryPolicy": {
            "maxAttempts": 4,
            "initialBackoff": "0.1s",
            "maxBackoff": "1s",
            "backoffMultiplier": 2,
            "retryableStatusCodes": ["UNAVAILABLE"],
        },
    }],
}


def channel(args):
    def read(path):
        with open(path, "rb") as f:
            return f.read()
    creds = grpc.ssl_channel_credentials(read(args.ca), read(args.key), read(args.cert))
    options = [("grpc.service_config", json.dumps(SERVICE_CONFIG))]
    if args.server_name:
        options.append(("grpc.ssl_target_name_override", args.server_name))
    return grpc.secure_channel(args.target, creds, options=options)


def explain(error):
    """The refusal as a program reads it: the google.rpc.Status in the trailing metadata
    "grpc-status-details-bin", its ErrorInfo's stable reason and its BadRequest's fields."""
    raw = dict(error.trailing_metadata() or ()).get("grpc-status-details-bin")
    if raw is None:
        return "%s: %s" % (error.code().name, error.details())
    status = status_pb2.Status.FromString(raw)
    lines, reason = [], "UNSPECIFIED"
    for detail in status.details:
        if detail.Is(details_pb2.ErrorInfo.DESCRIPTOR):
            info = details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = info.reason  # e.g. CONSENT_NOT_VALID, REQUEST_ID_REUSED, OVERLOADED
        elif detail.Is(details_pb2.BadRequest.DESCRIPTOR):
            bad = details_pb2.BadRequest()
            detail.Unpack(bad)
            lines += ["  field %s: %s" % (v.field, v.description) for v in bad.field_violations]
        elif detail.Is(details_pb2.RetryInfo.DESCRIPTOR):
            retry = details_pb2.RetryInfo()
            detail.Unpack(retry)
            lines.append("  retry after %.3f s" % retry.retry_delay.ToTimedelta().total_seconds())
    return "\n".join(["%s (%s): %s" % (reason, error.code().name, status.message)] + lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--target", default="localhost:50051")
    p.add_argument("--ca", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--server-name", help="a name of the server certificate other than target's")
    p.add_argument("--citizen", required=True)
    p.add_argument("--consent-ref", required=True)
    p.add_argument("--purpose", default="loan-origination")
    p.add_argument("--product", default="unsecured-consumer")
    p.add_argument("--amount", type=int, default=50000000)
    p.add_argument("--term", type=int, default=24)
    p.add_argument("--request-id", default=None, help="default: a new UUID")
    args = p.parse_args()

    with channel(args) as ch:
        # Is scoring served? NOT_SERVING while draining: go to another replica.
        check = ch.unary_unary("/grpc.health.v1.Health/Check",
                               request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
                               response_deserializer=health_pb2.HealthCheckResponse.FromString)
        try:
            health = check(health_pb2.HealthCheckRequest(service="tinchap.v1.Scoring"), timeout=5)
        except grpc.RpcError as e:
            print(explain(e), file=sys.stderr)
            return 1
        if health.status != health_pb2.HealthCheckResponse.SERVING:
            print("tinchap.v1.Scoring is not serving here", file=sys.stderr)
            return 1

        request = scoring_pb2.ScoreRequest(
            citizen_id=args.citizen, consent_ref=args.consent_ref, purpose=args.purpose,
            product=args.product, loan_amount_vnd=args.amount, loan_term_months=args.term,
            request_id=args.request_id or str(uuid.uuid4()))
        try:
            answer = scoring_pb2_grpc.ScoringStub(ch).Score(request)
        except grpc.RpcError as e:
            print(explain(e), file=sys.stderr)
            return 1
        print(json_format.MessageToJson(answer))
        return 0


if __name__ == "__main__":
    sys.exit(main())
