#!/usr/bin/python3
"""test_ws.py - /ws end to end with a real WebSocket client (Debian's
python3-websockets) against the real daemon and robot-sim: VERSION on
connect, watch with filters, state, send with its ACK, auth, a client that
stops reading losing stream messages (and told so) while another keeps up,
and refusals: a malformed upgrade, an upgrade elsewhere than /ws, an unknown
subprotocol, an oversized and a binary message.

RB_WEB_TEST_NO_AUTH=1: the `auth` request is not implemented on this build
(before the auth branch is merged); accept unknown_cmd for it.
"""
import asyncio
import json
import os
import socket
import time

import websockets

from rbweb import Bridge, TcpClient, Tally

NO_AUTH = os.environ.get("RB_WEB_TEST_NO_AUTH") == "1"


async def recv_json(ws, timeout=5):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def until(ws, pred, timeout=5):
    deadline = time.time() + timeout
    while True:
        m = await recv_json(ws, max(0.01, deadline - time.time()))
        if pred(m):
            return m


def version_on_connect(b):
    async def go():
        async with websockets.connect(b.ws_url) as ws:
            v = await recv_json(ws)
            assert v["class"] == "VERSION" and v["proto_major"] == 1, v
            await ws.send('{"cmd":"version","id":9}')
            v = await recv_json(ws)
            assert v["class"] == "VERSION" and v["id"] == 9, v
    asyncio.run(go())


def subprotocol(b):
    async def go():
        async with websockets.connect(b.ws_url, subprotocols=["rapidbridge.v1"]) as ws:
            assert ws.subprotocol == "rapidbridge.v1", ws.subprotocol
            assert (await recv_json(ws))["class"] == "VERSION"
        try:
            async with websockets.connect(b.ws_url, subprotocols=["mqtt"]) as ws:
                raise AssertionError("an unknown subprotocol was accepted")
        except websockets.exceptions.InvalidHandshake:
            pass
    asyncio.run(go())


def watch_filters(b):
    async def go():
        async with websockets.connect(b.ws_url) as ws:
            await recv_json(ws)
            await ws.send('{"cmd":"watch","id":1,"robots":["rob1"],"types":["ST","CF"]}')
            w = await until(ws, lambda m: m.get("id") == 1)
            assert w["class"] == "WATCH" and w["types"] == ["ST", "CF"], w
            seen = set()
            for _ in range(20):
                m = await until(ws, lambda m: m["class"] == "FRAME")
                assert m["robot"] == "rob1" and m["type"] in ("ST", "CF"), m
                seen.add(m["type"])
            assert seen == {"ST", "CF"}, seen
            await ws.send('{"cmd":"watch","types":["NOPE"],"id":2}')
            e = await until(ws, lambda m: m.get("id") == 2)
            assert e["class"] == "ERROR" and e["code"] == "unknown_type", e
    asyncio.run(go())


def state_and_frames(b):
    async def go():
        async with websockets.connect(b.ws_url) as ws:
            await recv_json(ws)
            await ws.send('{"cmd":"state","robot":"rob1","id":"s"}')
            s = await until(ws, lambda m: m.get("id") == "s")
            assert s["class"] == "STATE" and s["connected"] and len(s["frames"]["JT"]["joints"]) == 6, s
            await ws.send('{"cmd":"frames","id":"f"}')
            f = await until(ws, lambda m: m.get("id") == "f")
            types = {d["type"]: d for d in f["frames"]}
            assert f["class"] == "FRAMES" and types["SETDO"]["direction"] == "out", f
            assert types["SETDO"]["fields"][1] == {"name": "value", "kind": "int", "min": 0, "max": 1}
    asyncio.run(go())


def send_ack(b):
    async def go():
        async with websockets.connect(b.ws_url) as ws:
            await recv_json(ws)
            await ws.send(json.dumps({"cmd": "send", "id": 7, "robot": "rob1", "type": "SETDO",
                                      "fields": {"name": "doGrip", "value": 1}}))
            a = await until(ws, lambda m: m.get("id") == 7)
            assert a["class"] == "ACK" and a["status"] == "OK" and a["type"] == "SETDO", a
            await ws.send(json.dumps({"cmd": "send", "id": 8, "robot": "rob1", "type": "SPEED",
                                      "fields": {"percent": 500}}))
            e = await until(ws, lambda m: m.get("id") == 8)
            assert e["class"] == "ERROR" and e["code"] == "bad_field", e
    asyncio.run(go())


def auth(b):
    async def go():
        # A token on the upgrade is taken (and never echoed); the connection works.
        async with websockets.connect(b.ws_url, extra_headers={"Authorization": "Bearer not-a-token"}) as ws:
            assert (await recv_json(ws))["class"] == "VERSION"
            await ws.send('{"cmd":"auth","token":"not-a-token","id":"a"}')
            e = await until(ws, lambda m: m.get("id") == "a")
            ok = ("unauthorized", "unknown_cmd") if NO_AUTH else ("unauthorized",)
            assert e["class"] == "ERROR" and e["code"] in ok, e
            assert "not-a-token" not in json.dumps(e)
        # An over-long Authorization header does not break the upgrade either.
        async with websockets.connect(b.ws_url, extra_headers={"Authorization": "Bearer " + "x" * 2000}) as ws:
            assert (await recv_json(ws))["class"] == "VERSION"
    asyncio.run(go())


def slow_client(b):
    """A WebSocket client that stops reading loses stream messages and is told
    how many; another WebSocket client and a TCP client keep every frame."""
    async def go():
        # A small receive buffer, so the bridge finds out soon.
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", b.http_port))
        stalled = await websockets.connect(b.ws_url, sock=sock, max_queue=1, read_limit=2 ** 12)
        fast = await websockets.connect(b.ws_url)
        # The fast one watches every type: the robot numbers every frame it
        # sends, so consecutive seqs show that none was lost.
        for ws, req in ((stalled, '{"cmd":"watch","types":["JT"],"id":1}'),
                        (fast, '{"cmd":"watch","id":1}')):
            await recv_json(ws)
            await ws.send(req)
            await until(ws, lambda m: m.get("id") == 1)
        # Stop reading `stalled` (its transport is paused once max_queue fills).
        seqs = []
        t_end = time.time() + 4
        while time.time() < t_end:
            m = await recv_json(fast)
            if m["class"] == "FRAME" and m["type"] != "AK":
                seqs.append(m["seq"])
            else:
                assert m["class"] != "DROPPED", m
        gaps = [(a, c) for a, c in zip(seqs, seqs[1:]) if c != (a + 1) % 100000]
        assert not gaps, "the fast client lost frames: %s" % gaps[:5]
        assert len(seqs) > 2000, "the fast client got only %d frames in 4 s at 4 kHz" % len(seqs)
        with TcpClient(b.json_port) as c:
            stats = c.request({"cmd": "stats"})
        assert stats["drops"] > 0, stats
        # Read again: the backlog, then DROPPED with how many were lost.
        dropped = await until(stalled, lambda m: m["class"] == "DROPPED", timeout=15)
        assert dropped["count"] > 0, dropped
        await stalled.close()
        await fast.close()
    asyncio.run(go())


def raw_http(b, request):
    s = socket.create_connection(("127.0.0.1", b.http_port), timeout=5)
    s.sendall(request.encode())
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    return data.decode(errors="replace")


def bad_upgrades(b):
    # No Sec-WebSocket-Key / Version: never 101 (libwebsockets closes it).
    r = raw_http(b, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
    print("    no key: %r" % r.split("\r\n")[0])
    assert " 101 " not in r.split("\r\n")[0], r
    # A good upgrade elsewhere than /ws: 403.
    r = raw_http(b, "GET /other HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    assert r.split("\r\n")[0].split(" ")[1] == "403", r
    # /ws without an upgrade: 400 that says why.
    r = raw_http(b, "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n")
    assert r.split("\r\n")[0].split(" ")[1] == "400", r
    # The bridge is still there.
    with TcpClient(b.json_port) as c:
        assert c.request({"cmd": "version"})["class"] == "VERSION"


def oversized_and_binary(b):
    async def go():
        async with websockets.connect(b.ws_url, max_size=None) as ws:
            await recv_json(ws)
            await ws.send(b"\x01\x02")
            e = await recv_json(ws)
            assert e["class"] == "ERROR" and e["code"] == "bad_request", e
            await ws.send('{"cmd":"version","pad":"%s"}' % ("x" * 70000))
            e = await recv_json(ws)
            assert e["class"] == "ERROR" and e["code"] == "line_too_long", e
            try:
                await asyncio.wait_for(ws.recv(), 5)
                raise AssertionError("still open after line_too_long")
            except websockets.exceptions.ConnectionClosed as c:
                assert c.rcvd.code == 1009, c
        # One just under the bound is a request like any other.
        async with websockets.connect(b.ws_url) as ws:
            await recv_json(ws)
            pad = "x" * (65536 - 40)
            await ws.send('{"cmd":"version","id":3,"pad":"%s"}' % pad)
            v = await until(ws, lambda m: m.get("id") == 3)
            assert v["class"] == "VERSION", v
    asyncio.run(go())


def main():
    t = Tally("ws")
    with Bridge(limits={"client_queue_bytes": 65536}) as b:
        b.start_sim(rate=1000)
        b.wait_linked()
        for fn in (version_on_connect, subprotocol, watch_filters, state_and_frames, send_ack, auth,
                   slow_client, bad_upgrades, oversized_and_binary):
            t.run(fn, b)
        t.run(b.exited_cleanly)
    t.finish()


if __name__ == "__main__":
    main()
