"""Who may call tinchapd, tried with certificates an attacker could get signed: names that
should not count (a common name beside SANs, e-mail and URI SANs, a token's hash), two known
names at once, a revoked certificate, a certificate the server does not know calling every
method; and Health/Watch streams flooded from one connection and from one identity. Driven by
tests/cli/identity.sh, which makes the certificates and starts the server.

Environment: TC_PORT, TC_PKI, TC_PHASE ("strict": the default certificate names, a CRL;
"names": tls.client_names ["dns", "uri", "cn"]).
"""
import os
import sys
import unittest

import grpc

sys.path.insert(0, os.path.dirname(__file__))
from service_client import Client, admin_pb2, scoring_pb2  # noqa: E402

PORT = int(os.environ["TC_PORT"])
PKI = os.environ["TC_PKI"]
PHASE = os.environ["TC_PHASE"]
UNAUTH = grpc.StatusCode.UNAUTHENTICATED
DENIED = grpc.StatusCode.PERMISSION_DENIED
OK = grpc.StatusCode.OK


def code_of(fn):
    try:
        fn()
    except grpc.RpcError as e:
        return e.code()
    return OK


def first_watch(client, service=""):
    """The status of a new Watch stream's first message (the stream is then cancelled)."""
    stream = client.watch(service, timeout=5)
    try:
        next(stream)
    finally:
        stream.cancel()


def every_method(c):
    """One call of each method, as (name, call)."""
    return [
        ("Health/Check", lambda: c.health()),
        ("Health/Watch", lambda: first_watch(c)),
        ("Diagnostics/Noop", lambda: c.raw("/tinchap.v1.Diagnostics/Noop")),
        ("Scoring/ListModels", lambda: c.scoring.ListModels(scoring_pb2.ListModelsRequest(),
                                                            timeout=5)),
        ("Admin/GetStatus", lambda: c.admin.GetStatus(admin_pb2.GetStatusRequest(), timeout=5)),
        ("an unknown method", lambda: c.raw("/tinchap.v1.Scoring/Nothing")),
    ]


def Local(who):
    """A client on a connection of its own."""
    return Client(PORT, PKI, who, own_connection=True)


class Strict(unittest.TestCase):
    """tls.client_names left at its default (DNS SANs), a CRL configured."""

    def assert_unknown_everywhere(self, who):
        c = Client(PORT, PKI, who)
        try:
            for what, fn in every_method(c):
                self.assertEqual(code_of(fn), UNAUTH, "%s: %s" % (who, what))
        finally:
            c.close()

    def test_names_that_do_not_count(self):
        # CN "admin..." beside an unknown DNS SAN; admin's name as an e-mail or a URI SAN; a DNS
        # SAN that is a configured token's SHA-256; a certificate with no SAN and a known CN;
        # an unknown DNS SAN
        for who in ("cn-admin", "email-admin", "uri-admin", "sha-san", "cn-only", "norole"):
            self.assert_unknown_everywhere(who)

    def test_two_known_names_are_refused(self):
        self.assert_unknown_everywhere("two-known")

    def test_known_identities(self):
        a = Client(PORT, PKI, "bank-a")
        for what, fn in every_method(a)[:4]:
            self.assertEqual(code_of(fn), OK, "bank-a: " + what)
        self.assertEqual(code_of(every_method(a)[5][1]), grpc.StatusCode.UNIMPLEMENTED)
        a.close()
        # Noop is the floor of Score: it needs the scorer role
        st = Client(PORT, PKI, "steward")
        self.assertEqual(code_of(lambda: st.raw("/tinchap.v1.Diagnostics/Noop")), DENIED)
        st.close()
        # an identity with no role: health checks only
        probe = Client(PORT, PKI, "probe")
        self.assertEqual(code_of(lambda: probe.health()), OK)
        self.assertEqual(code_of(lambda: first_watch(probe)), OK)
        self.assertEqual(code_of(lambda: probe.raw("/tinchap.v1.Diagnostics/Noop")), DENIED)
        self.assertEqual(code_of(lambda: probe.scoring.ListModels(
            scoring_pb2.ListModelsRequest(), timeout=5)), DENIED)
        probe.close()

    def test_revoked_certificate(self):
        # bank-b's revoked certificate does not complete the handshake; its current one does
        gone = Client(PORT, PKI, "revoked")
        self.assertEqual(code_of(lambda: gone.health(timeout=3)), grpc.StatusCode.UNAVAILABLE)
        gone.close()
        b = Client(PORT, PKI, "bank-b")
        self.assertEqual(code_of(lambda: b.health()), OK)
        b.close()

    def test_watch_caps(self):
        # one connection: at most 8 streams
        one = Local("bank-a")
        streams = [one.watch("", timeout=60) for _ in range(8)]
        for s in streams:
            self.assertEqual(next(s).status, 1)
        self.assertEqual(code_of(lambda: first_watch(one)), grpc.StatusCode.RESOURCE_EXHAUSTED)
        for s in streams:
            s.cancel()
        one.close()
        # one identity on 34 connections: at most 256 streams (health_streams_per_identity)
        conns = [Local("bank-a") for _ in range(34)]
        opened, refused = [], 0
        for c in conns:
            for _ in range(8):
                s = c.watch("", timeout=60)
                try:
                    self.assertEqual(next(s).status, 1)
                    opened.append(s)
                except grpc.RpcError as e:
                    self.assertEqual(e.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
                    refused += 1
        try:
            self.assertEqual((len(opened), refused), (256, 16))
            # everyone else is still served: bank-b's health checker, and its calls
            b = Local("bank-b")
            s = b.watch("tinchap.v1.Scoring", timeout=30)
            self.assertEqual(next(s).status, 1)
            self.assertEqual(code_of(lambda: b.scoring.ListModels(
                scoring_pb2.ListModelsRequest(), timeout=5)), OK)
            s.cancel()
            b.close()
        finally:
            for s in opened:
                s.cancel()
            for c in conns:
                c.close()


class Names(unittest.TestCase):
    """tls.client_names ["dns", "uri", "cn"]: URI SANs and, without any SAN, the CN count."""

    def code(self, who, fn_of):
        c = Client(PORT, PKI, who)
        try:
            return code_of(lambda: fn_of(c))
        finally:
            c.close()

    def test_uri_and_cn_when_asked_for(self):
        noop = lambda c: c.raw("/tinchap.v1.Diagnostics/Noop")  # noqa: E731
        self.assertEqual(self.code("spiffe", noop), OK)   # URI SAN, a URI identity
        self.assertEqual(self.code("cn-only", noop), OK)  # no SAN: the CN
        # a CN never counts beside a SAN; e-mail SANs never count; a URI SAN never matches a
        # DNS-style identity; two known names are refused
        for who in ("cn-admin", "email-admin", "uri-admin", "two-known"):
            self.assertEqual(self.code(who, lambda c: c.health()), UNAUTH, who)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v", {"strict": "Strict", "names": "Names"}[PHASE]])
