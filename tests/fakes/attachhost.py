#!/usr/bin/env python3
"""A fake signed attachment host (API-FACTS.md sections 1 and 2) for the attachment copy's tests,
built on fakehttp.Service: it serves bytes at CloudFront-style signed URLs that expire, over
HTTPS with a test certificate.

Run: attachhost.py --cert CERT.pem --key KEY.pem [--secret S] [--host 127.0.0.1] [--port 0]
The bound port is printed on stdout, alone on its line.

URLs (HTTPS; the control API also answers plain HTTP on the same port): https://HOST:PORT/data/helpdesk/attachments/production/{id}/original/{name}
      ?Expires=<unix epoch>&Signature=<hex HMAC-SHA256(secret, path + "?Expires=" + Expires)>
      &Key-Pair-Id=APKAFAKE
(freshservice.py --attachment-secret signs them the same way). Answers:
  200 with the bytes                 signature right, Expires in the future
  403 application/xml AccessDenied "Request has expired" (the S3 body of API-FACTS section 2)
                                     when Expires has passed
  403 AccessDenied "Missing Key-Pair-Id query parameter or cookie value" / "Access denied"
                                     for a missing key pair id / a wrong signature (not expiry)
  302 to a configured Location       for a path set with /_control/redirect
  404                                an unknown path
Control API (besides fakehttp's faults, limit, reset and log):
  POST /_control/object    {"path", "data_b64"}: the bytes served at path
  POST /_control/redirect  {"path", "location"}: path answers 302 Location (once signed)
  POST /_control/clock     {"ahead_s": N, "plain_expiry": true}: the host's clock runs N s
                           ahead of the caller's (a CDN edge's), and an expired URL is answered
                           with the plain "Access denied" (CloudFront's expiry text is [U])
Exercised by tests/e2e/attach_fs.c, which makes the test CA and certificate with openssl
(tests/support/ttls.c).
"""

import argparse
import base64
import hashlib
import hmac
import json
import ssl
import threading
import time

import fakehttp
from fakehttp import Response

EXPIRED = ('<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
           '<Message>Request has expired</Message><X-Amz-Expires>300</X-Amz-Expires>'
           '<Expires>%s</Expires><ServerTime>%s</ServerTime><RequestId>FAKE</RequestId>'
           '<HostId>fake</HostId></Error>')
DENIED = ('<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
          '<Message>%s</Message></Error>')


def sign(secret, path, expires):
    """The Signature query value for path and expires (shared with freshservice.py)."""
    msg = ("%s?Expires=%d" % (path, expires)).encode()
    return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class AttachHost(fakehttp.Service):
    def __init__(self, secret):
        self.secret = secret
        self.data_lock = threading.Lock()
        self.objects = {}
        self.redirects = {}
        self.ahead_s = 0
        self.plain_expiry = False
        super().__init__()

    def control(self, method, path, body):
        if method == "POST" and path in ("/_control/object", "/_control/redirect"):
            doc = json.loads(body.decode() or "{}")
            with self.data_lock:
                if path.endswith("object"):
                    self.objects[doc["path"]] = base64.b64decode(doc["data_b64"])
                else:
                    self.redirects[doc["path"]] = doc["location"]
            return Response(200, {"ok": True})
        if method == "POST" and path == "/_control/clock":
            doc = json.loads(body.decode() or "{}")
            with self.data_lock:
                self.ahead_s = float(doc.get("ahead_s", 0))
                self.plain_expiry = bool(doc.get("plain_expiry", False))
            return Response(200, {"ok": True})
        return super().control(method, path, body)

    def route(self, req):
        q = {k: v[-1] for k, v in req.query.items()}
        if "Key-Pair-Id" not in q:
            return self.denied("Missing Key-Pair-Id query parameter or cookie value")
        try:
            expires = int(q.get("Expires", ""))
        except ValueError:
            return self.denied("Access denied")
        want = sign(self.secret, req.path, expires)
        if not hmac.compare_digest(want, q.get("Signature", "")):
            return self.denied("Access denied")
        with self.data_lock:
            now, plain = time.time() + self.ahead_s, self.plain_expiry
        if expires <= now:
            if plain:
                return self.denied("Access denied")
            return Response(403, EXPIRED % (iso(expires), iso(now)),
                            {"Content-Type": "application/xml"})
        with self.data_lock:
            loc = self.redirects.get(req.path)
            data = self.objects.get(req.path)
        if loc:
            return Response(302, b"", {"Location": loc})
        if data is None:
            return Response(404, DENIED % "Not Found", {"Content-Type": "application/xml"})
        return Response(200, data, {"Content-Type": "application/octet-stream"})

    @staticmethod
    def denied(msg):
        return Response(403, DENIED % msg, {"Content-Type": "application/xml"})


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--secret", default="attach-secret")
    args = ap.parse_args(argv)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    fakehttp.serve(AttachHost(args.secret), args.host, args.port, ssl_context=ctx)


if __name__ == "__main__":
    main()
