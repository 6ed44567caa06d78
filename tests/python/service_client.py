"""A Python grpcio client for tinchapd, with stubs generated from the shipped protos.

Used by the service tests: it proves the .proto files are a usable public contract for a
client in another language, unchanged. Runs on Debian's python3-grpcio and python3-grpc-tools.
"""
import csv
import datetime
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import urllib.request

import grpc

API = os.path.join(os.path.dirname(__file__), "..", "..", "api")
PROTOS = ["tinchap/v1/scoring.proto", "tinchap/v1/steward.proto", "tinchap/v1/admin.proto",
          "tinchap/v1/diagnostics.proto", "tinchap/v1/errors.proto", "grpc/health/v1/health.proto",
          "google/rpc/status.proto", "google/rpc/error_details.proto"]


def _generate():
    out = tempfile.mkdtemp(prefix="tinchap-py-")
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I" + API, "--python_out=" + out,
                    "--grpc_python_out=" + out] + PROTOS, check=True)
    # The package "grpc" of the health protocol would shadow grpcio's own, and "google" is
    # protobuf's: load those modules by path instead of by package.
    sys.path.insert(0, out)
    return out, [_by_path(out, p) for p in ("grpc/health/v1/health_pb2.py",
                                             "google/rpc/status_pb2.py",
                                             "google/rpc/error_details_pb2.py")]


def _by_path(out, rel):
    name = "tinchap_" + rel.replace("/", "_")[:-3]
    spec = importlib.util.spec_from_file_location(name, os.path.join(out, rel))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_OUT, (health_pb2, status_pb2, error_details_pb2) = _generate()
from tinchap.v1 import admin_pb2, admin_pb2_grpc  # noqa: E402
from tinchap.v1 import diagnostics_pb2  # noqa: E402
from tinchap.v1 import scoring_pb2, scoring_pb2_grpc  # noqa: E402
from tinchap.v1 import steward_pb2, steward_pb2_grpc  # noqa: E402
from google.protobuf import timestamp_pb2  # noqa: E402


def ts(days=0, when=None):
    """A google.protobuf.Timestamp `days` from now (negative: ago), or of the datetime `when`."""
    t = timestamp_pb2.Timestamp()
    t.FromDatetime(when or datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
                   + datetime.timedelta(days=days))
    return t


def error_details(e):
    """The google.rpc.Status an RpcError carries, read as any client reads it: from the
    "grpc-status-details-bin" trailer. A dict: code, message, reason, domain, metadata,
    violations [(field, description)], retry_s (None without RetryInfo); None if there is none."""
    raw = dict(e.trailing_metadata() or ()).get("grpc-status-details-bin")
    if raw is None:
        return None
    st = status_pb2.Status.FromString(raw)
    out = {"code": st.code, "message": st.message, "reason": None, "domain": None,
           "metadata": {}, "violations": [], "retry_s": None}
    for any_ in st.details:
        if any_.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            any_.Unpack(info)
            out.update(reason=info.reason, domain=info.domain, metadata=dict(info.metadata))
        elif any_.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            any_.Unpack(bad)
            out["violations"] = [(v.field, v.description) for v in bad.field_violations]
        elif any_.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            r = error_details_pb2.RetryInfo()
            any_.Unpack(r)
            out["retry_s"] = r.retry_delay.ToTimedelta().total_seconds()
    return out


def days_from_now(days):
    """The UTC date `days` from now (negative: ago), YYYY-MM-DD. Consent times in the tests are
    relative to the clock they run under, so they pass on any day, and under faketime."""
    day = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days)
    return day.strftime("%Y-%m-%d")


def scorable(data_dir, institution="bank-a", purpose="loan-origination"):
    """(citizen_id, consent_ref) of every consent of data_dir/consents.csv valid now for the
    institution and purpose."""
    t = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    with open(os.path.join(data_dir, "consents.csv"), newline="") as f:
        return [(r["citizen_id"], r["consent_ref"]) for r in csv.DictReader(f)
                if r["institution"] == institution and r["purpose"] == purpose and
                not r["revoked_at"] and r["granted_at"] <= t < r["expires_at"]]


def citizen_record(population_csv, catalog_json, citizen):
    """The citizen's attributes as loaded from population_csv, as a CitizenRecord message."""
    with open(population_csv, newline="") as f:
        row = next(r for r in csv.DictReader(f) if r["citizen_id"] == citizen)
    with open(catalog_json) as f:
        catalog = json.load(f)
    attrs = []
    for a in catalog["attributes"]:
        v, av = row[a["name"]], steward_pb2.AttributeValue(name=a["name"])
        if v == "":
            av.missing = True
        elif a["type"] == "int":
            av.int_value = int(v)
        elif a["type"] == "real":
            av.real_value = float(v)
        elif a["type"] == "bool":
            av.bool_value = v in ("1", "true")
        else:
            av.level = v
        attrs.append(av)
    return steward_pb2.CitizenRecord(citizen_id=citizen, attributes=attrs)


def text_fields(msg, prefix=""):
    """(path, setter) of every string field of msg, nested messages included (the first
    element of a repeated one, added if there is none): every text a request can carry."""
    out = []
    for f in msg.DESCRIPTOR.fields:
        if f.type == f.TYPE_STRING:
            out.append((prefix + f.name, lambda v, m=msg, f=f: setattr(m, f.name, v)))
        elif f.type == f.TYPE_MESSAGE:
            inner = getattr(msg, f.name)
            if f.label == f.LABEL_REPEATED:
                inner = inner[0] if len(inner) else inner.add()
            out += text_fields(inner, prefix + f.name + ".")
    return out


def metric(port, name):
    """The value of one sample (name with its labels) of tinchapd's /metrics."""
    text = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % port,
                                  timeout=5).read().decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError("no metric " + name)


def _read(path):
    with open(path, "rb") as f:
        return f.read()


class Client:
    """One channel, as one institution (by certificate) or with a token."""

    def __init__(self, port, pki=None, who=None, token=None, ca=None, own_connection=False):
        target = "127.0.0.1:%d" % port
        # grpcio shares one connection between channels to the same target with the same
        # options, unless a channel asks for a connection of its own
        extra = [("grpc.use_local_subchannel_pool", 1)] if own_connection else []
        if token is not None:
            self.channel = grpc.insecure_channel(target, options=extra)
            self.md = [("authorization", "Bearer " + token)]
        else:
            root = _read(ca or os.path.join(pki, "ca.pem"))
            key = _read(os.path.join(pki, who + ".key")) if who else None
            cert = _read(os.path.join(pki, who + ".pem")) if who else None
            creds = grpc.ssl_channel_credentials(root, key, cert)
            # the server certificate names localhost and 127.0.0.1
            self.channel = grpc.secure_channel(
                target, creds, options=[("grpc.ssl_target_name_override", "localhost")] + extra)
            self.md = []
        self.scoring = scoring_pb2_grpc.ScoringStub(self.channel)
        self.steward = steward_pb2_grpc.StewardStub(self.channel)
        self.admin = admin_pb2_grpc.AdminStub(self.channel)
        self._health = self.channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString)

    def health(self, service="", timeout=5):
        return self._health(health_pb2.HealthCheckRequest(service=service), timeout=timeout,
                            metadata=self.md)

    def watch(self, service="", timeout=30):
        """A Health/Watch stream: iterate for each status; cancel() to end it."""
        call = self.channel.unary_stream(
            "/grpc.health.v1.Health/Watch",
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString)
        return call(health_pb2.HealthCheckRequest(service=service), timeout=timeout,
                    metadata=self.md)

    def score(self, timeout=10, wait_for_ready=None, **fields):
        return self.scoring.Score(scoring_pb2.ScoreRequest(**fields), timeout=timeout,
                                  metadata=self.md, wait_for_ready=wait_for_ready)

    def send_wire(self, method, wire, streaming=False, timeout=10):
        """Call method with an encoded request (a client stream of one message when streaming):
        (status code, details). The google.rpc.Status of a failure is kept in self.last_error
        (service_client.error_details's dict, or None)."""
        self.last_error = None
        try:
            if streaming:
                self.channel.stream_unary(method)(iter([wire]), timeout=timeout,
                                                  metadata=self.md)
            else:
                self.channel.unary_unary(method)(wire, timeout=timeout, metadata=self.md)
        except grpc.RpcError as e:
            self.last_error = error_details(e)
            return e.code(), e.details() or ""
        return grpc.StatusCode.OK, ""

    def raw(self, method, payload=b"", timeout=5):
        call = self.channel.unary_unary(method)
        return call(payload, timeout=timeout, metadata=self.md)

    def close(self):
        self.channel.close()
