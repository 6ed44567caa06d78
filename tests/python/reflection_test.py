"""Server reflection on a real tinchapd, from a client that has no tinchap .proto file.

Like grpcurl or Evans, it knows only the reflection protocol (stubs generated here from
api/grpc/reflection/v1/reflection.proto): it lists the services, fetches the descriptors of
each, builds the message types from them at run time and scores an applicant with them. Both
protocol versions, the protocol's own errors, a stream that outlives a NOT_FOUND, a request
that does not decode, and callers the server does not know.

Environment: TC_PORT, TC_PKI, TC_DIR (the data directory of tests/cli/server_lib.sh).
"""
import csv
import importlib.util
import os
import subprocess
import sys
import tempfile

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

API = os.path.join(os.path.dirname(__file__), "..", "..", "api")
PORT = int(os.environ["TC_PORT"])
PKI = os.environ["TC_PKI"]
DIR = os.environ["TC_DIR"]
problems = []


def check(ok, what):
    if not ok:
        problems.append(what)


def reflection_module():
    out = tempfile.mkdtemp(prefix="tinchap-refl-")
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I" + API, "--python_out=" + out,
                    "grpc/reflection/v1/reflection.proto"], check=True)
    # loaded by path: a package named "grpc" would shadow grpcio's own
    spec = importlib.util.spec_from_file_location(
        "reflection_pb2", os.path.join(out, "grpc", "reflection", "v1", "reflection_pb2.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


R = reflection_module()


def channel(who):
    def read(name):
        with open(os.path.join(PKI, name), "rb") as f:
            return f.read()
    creds = grpc.ssl_channel_credentials(read("ca.pem"), read(who + ".key"), read(who + ".pem"))
    return grpc.secure_channel("127.0.0.1:%d" % PORT, creds,
                               options=[("grpc.ssl_target_name_override", "localhost")])


def stream(ch, version, requests):
    call = ch.stream_stream(
        "/grpc.reflection.%s.ServerReflection/ServerReflectionInfo" % version,
        request_serializer=R.ServerReflectionRequest.SerializeToString,
        response_deserializer=R.ServerReflectionResponse.FromString)
    return list(call(iter(requests), timeout=10))


def load_files(pool, responses):
    """Every FileDescriptorProto of the responses into pool, imports first."""
    protos = {}
    for res in responses:
        for raw in res.file_descriptor_response.file_descriptor_proto:
            fd = descriptor_pb2.FileDescriptorProto.FromString(raw)
            protos[fd.name] = fd
    added = set()

    def add(name):
        if name in added:
            return
        for dep in protos[name].dependency:
            add(dep)
        pool.Add(protos[name])
        added.add(name)
    for name in protos:
        add(name)
    return added


def scorable():
    with open(os.path.join(DIR, "data", "consents.csv")) as f:
        for r in csv.DictReader(f):
            if r["institution"] == "bank-a" and not r["revoked_at"]:
                return r["citizen_id"], r["consent_ref"]


ch = channel("bank-a")
for version in ("v1", "v1alpha"):
    # 1. the services, without any .proto file
    res = stream(ch, version, [R.ServerReflectionRequest(list_services="*")])
    names = sorted(s.name for s in res[0].list_services_response.service)
    check(names == ["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
                    "grpc.reflection.v1alpha.ServerReflection", "tinchap.v1.Admin",
                    "tinchap.v1.Diagnostics", "tinchap.v1.Scoring", "tinchap.v1.Steward"],
          "%s: services listed: %s" % (version, names))
    # 2. the descriptors of every tinchap service, in one stream, as grpcurl asks them
    wanted = [n for n in names if n.startswith("tinchap.")]
    res = stream(ch, version,
                 [R.ServerReflectionRequest(file_containing_symbol=n) for n in wanted])
    check(len(res) == len(wanted), "%s: one answer per request" % version)
    pool = descriptor_pool.DescriptorPool()
    files = load_files(pool, res)
    check(files == {"tinchap/v1/scoring.proto", "tinchap/v1/steward.proto",
                    "tinchap/v1/admin.proto", "tinchap/v1/diagnostics.proto",
                    "google/protobuf/timestamp.proto"},
          "%s: files: %s" % (version, sorted(files)))
    svc = pool.FindServiceByName("tinchap.v1.Scoring")
    methods = sorted(m.name for m in svc.methods)
    check(methods == ["GetModel", "ListModels", "Score"], "%s: methods %s" % (version, methods))
    steward = pool.FindServiceByName("tinchap.v1.Steward")
    put = steward.methods_by_name["PutCitizens"]
    check(put.input_type.full_name == "tinchap.v1.CitizenRecord",
          "%s: PutCitizens takes %s" % (version, put.input_type.full_name))
    # 3. a Score built from the reflected types alone
    score = svc.methods_by_name["Score"]
    factory = message_factory.MessageFactory(pool)
    Request = factory.GetPrototype(score.input_type)
    Response = factory.GetPrototype(score.output_type)
    cid, ref = scorable()
    req = Request(request_id="refl-%s-%d" % (version, os.getpid()), citizen_id=cid,
                  consent_ref=ref, purpose="loan-origination", product="unsecured-consumer")
    call = ch.unary_unary("/tinchap.v1.Scoring/Score", request_serializer=Request.SerializeToString,
                          response_deserializer=Response.FromString)
    answer = call(req, timeout=10)
    check(300 <= answer.score <= 900 and answer.grade in "ABCDEF" and len(answer.grade) == 1,
          "%s: scored with reflected types: %s %s" % (version, answer.score, answer.grade))
    check(0 < answer.pd_low <= answer.pd <= answer.pd_high < 1, "%s: PD interval" % version)

# 4. the protocol's errors: the stream goes on after a NOT_FOUND; the request is quoted back
res = stream(ch, "v1", [R.ServerReflectionRequest(file_containing_symbol="tinchap.v1.Nothing"),
                        R.ServerReflectionRequest(file_by_filename="no/such.proto"),
                        R.ServerReflectionRequest(file_by_filename="tinchap/v1/admin.proto")])
check([r.WhichOneof("message_response") for r in res] ==
      ["error_response", "error_response", "file_descriptor_response"],
      "errors then an answer: %s" % [r.WhichOneof("message_response") for r in res])
check(res[0].error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0],
      "unknown symbol: NOT_FOUND, got %d" % res[0].error_response.error_code)
check(res[0].original_request.file_containing_symbol == "tinchap.v1.Nothing",
      "the request is quoted back")
planted = "tinchap.v1.%s" % scorable()[0]
res = stream(ch, "v1", [R.ServerReflectionRequest(file_containing_symbol=planted)])
check(scorable()[0] not in str(res[0]), "a citizen ID sent as a symbol is not sent back")

# 5. bytes that are not a request end the stream with INVALID_ARGUMENT
raw = ch.stream_stream("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo")
try:
    list(raw(iter([b"\x1a\xff\xff\xff\x0f\x01"]), timeout=10))
    check(False, "garbage: the stream was answered")
except grpc.RpcError as e:
    check(e.code() == grpc.StatusCode.INVALID_ARGUMENT, "garbage: %s" % e.code())

# 6. a certificate the server does not know learns nothing
try:
    stream(channel("norole"), "v1", [R.ServerReflectionRequest(list_services="")])
    check(False, "unknown caller: services listed")
except grpc.RpcError as e:
    check(e.code() == grpc.StatusCode.UNAUTHENTICATED, "unknown caller: %s" % e.code())

if problems:
    print("\n".join(problems))
    sys.exit(1)
print("reflection: all checks passed")
