#!/usr/bin/python3
"""test_https.py - http_tls end to end (interface 1.1 A and F) with Python's
ssl module and python3-websockets against the real daemon: GET /metrics over
HTTPS, VERSION on wss:// /ws, and a plain-HTTP request to the TLS port
getting no HTTP answer; with a ca and require_client_cert, a client without
a certificate and one with a certificate no CA vouches for are refused,
while the CA's client gets in as cert:CN (it takes control, and reads
/metrics, on grants given only to cert:panel-3); with a ca alone, a client
without a certificate gets in too.

The certificates are made at run time with the openssl command, as
tests/e2e/e2e_tls.c does: a CA, a server certificate for 127.0.0.1, a
client certificate signed by the CA (CN panel-3) and a self-signed one
(CN rogue).
"""
import asyncio
import json
import os
import socket
import ssl
import subprocess
import tempfile
import urllib.error
import urllib.request

import websockets

from rbweb import Bridge, Tally

KEYOPT = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"


def make_certs(d):
    def run(cmd):
        subprocess.run(cmd, shell=True, cwd=d, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run("openssl req -x509 %s -keyout ca.key -out ca.pem -days 2 -subj /CN=rb-test-ca" % KEYOPT)
    run("printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san.ext")
    for name, cn, ext in (("server", "rb-server", "-extfile san.ext"), ("client", "panel-3", "")):
        run("openssl req %s -keyout %s.key -out %s.csr -subj /CN=%s" % (KEYOPT, name, name, cn))
        run("openssl x509 -req -in %s.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out %s.pem "
            "-days 2 %s" % (name, name, ext))
    run("openssl req -x509 %s -keyout rogue.key -out rogue.pem -days 2 -subj /CN=rogue" % KEYOPT)


def client_ctx(d, cert=None):
    ctx = ssl.create_default_context(cafile=os.path.join(d, "ca.pem"))
    if cert:
        ctx.load_cert_chain(os.path.join(d, cert + ".pem"), os.path.join(d, cert + ".key"))
    return ctx


def tls_cfg(d, ca=False):
    t = {"cert": os.path.join(d, "server.pem"), "key": os.path.join(d, "server.key")}
    if ca:
        t.update(ca=os.path.join(d, "ca.pem"), require_client_cert=True)
    return t


async def recv_json(ws, timeout=5):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


def metrics_over_https(b, ctx):
    with urllib.request.urlopen(b.url + "/metrics", timeout=5, context=ctx) as r:
        assert r.status == 200, r.status
        assert "rapidbridge_build_info" in r.read().decode()


def wss_version(b, ctx):
    async def go():
        async with websockets.connect(b.ws_url, ssl=ctx) as ws:
            v = await recv_json(ws)
            assert v["class"] == "VERSION" and v["proto_major"] == 1, v
    asyncio.run(go())


def plain_http_gets_nothing(b):
    with socket.create_connection(("127.0.0.1", b.http_port), timeout=15) as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        got = b""
        try:
            while True:
                data = s.recv(4096)
                if not data:
                    break
                got += data
        except ConnectionResetError:
            pass
        assert b"HTTP/" not in got and b"rapidbridge" not in got, got[:200]


def refused(b, ctx):
    """The TLS handshake (or, with TLS 1.3, the first read after it) fails."""
    async def go():
        try:
            async with websockets.connect(b.ws_url, ssl=ctx, open_timeout=5) as ws:
                m = await recv_json(ws)
                raise AssertionError("got in: %s" % m)
        except (ssl.SSLError, ConnectionError, EOFError, websockets.exceptions.InvalidHandshake,
                websockets.exceptions.ConnectionClosed, asyncio.TimeoutError):
            pass
    asyncio.run(go())
    try:
        urllib.request.urlopen(b.url + "/metrics", timeout=5, context=ctx)
        raise AssertionError("/metrics answered")
    except (urllib.error.URLError, ssl.SSLError, ConnectionError):
        pass


def no_certificate_refused(b, d):
    refused(b, client_ctx(d))


def rogue_certificate_refused(b, d):
    refused(b, client_ctx(d, "rogue"))


def cert_principal(b, ctx):
    async def go():
        async with websockets.connect(b.ws_url, ssl=ctx) as ws:
            assert (await recv_json(ws))["class"] == "VERSION"
            await ws.send('{"cmd":"control","robot":"rob1","id":"c"}')
            while True:
                m = await recv_json(ws)
                if m.get("id") == "c":
                    break
            assert m["class"] == "CONTROL" and m["holder"] == "cert:panel-3", m
    asyncio.run(go())
    # /metrics needs watch: granted to cert:panel-3 only, so the certificate counts.
    metrics_over_https(b, ctx)
    assert 'CN "panel-3" verified' in open(b.log_path).read()


def check_config(d):
    """--check-config loads http_tls's files as the start does, naming the member at fault;
    the daemon itself refuses to start on them with the same message."""
    path = os.path.join(d, "check.json")
    cases = (
        ({}, 0, "configuration valid"),
        ({"key": os.path.join(d, "client.key")}, 1, "http_tls.key "),
        ({"cert": os.path.join(d, "server.key")}, 1, "http_tls.cert "),
        ({"ca": "/nonexistent/ca.pem"}, 1, "http_tls.ca /nonexistent/ca.pem: No such file"),
    )
    for change, status, want in cases:
        t = dict(tls_cfg(d), **change)
        with open(path, "w") as f:
            json.dump({"robot_listen": "127.0.0.1:0", "json_listen": "127.0.0.1:0",
                       "http_listen": "127.0.0.1:0", "http_tls": t,
                       "robots": [{"name": "rob1", "peer": "127.0.0.1"}]}, f)
        for args in (["--check-config", "-c", path], ["-c", path]):
            if status == 0 and "--check-config" not in args:
                continue
            p = subprocess.run([os.environ["RB_BIN"], *args], capture_output=True, text=True,
                               timeout=10)
            out = p.stdout + p.stderr
            assert p.returncode == status and want in out, (args, change, p.returncode, out)


def main():
    t = Tally("https")
    d = tempfile.mkdtemp(prefix="rb-https-")
    make_certs(d)
    t.run(check_config, d)
    with Bridge(extra={"http_tls": tls_cfg(d)}) as b:
        ctx = client_ctx(d)
        t.run(metrics_over_https, b, ctx)
        t.run(wss_version, b, ctx)
        t.run(plain_http_gets_nothing, b)
        t.run(b.exited_cleanly)
    access = [{"who": ["cert:panel-3"], "may": ["watch", "control"]}]
    with Bridge(extra={"http_tls": tls_cfg(d, ca=True), "access": access}) as b:
        t.run(no_certificate_refused, b, d)
        t.run(rogue_certificate_refused, b, d)
        t.run(cert_principal, b, client_ctx(d, "client"))
        t.run(plain_http_gets_nothing, b)
        t.run(b.exited_cleanly)
    # ca without require_client_cert: a certificate is optional, and counts when shown.
    t_opt = dict(tls_cfg(d, ca=True), require_client_cert=False)
    access = [{"who": ["cert:panel-3"], "may": ["watch", "control"]},
              {"who": ["anonymous"], "may": ["watch"]}]
    with Bridge(extra={"http_tls": t_opt, "access": access}) as b:
        t.run(wss_version, b, client_ctx(d))
        t.run(rogue_certificate_refused, b, d)
        t.run(cert_principal, b, client_ctx(d, "client"))
        t.run(b.exited_cleanly)
    t.finish()


if __name__ == "__main__":
    main()
