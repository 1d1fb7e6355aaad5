"""rbweb.py - what the tests in tests/web share: the real daemon with
http_listen on 127.0.0.1 (ports the OS picks), robot-sim, a raw TCP JSON
client, and a tally printed as "NAME: N passed, M failed".

Binaries come from RB_BIN and RB_SIM (the Makefile's TEST_ENV); the page
from the source tree's bridge/www.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WWW = os.path.normpath(os.path.join(HERE, "..", "..", "bridge", "www"))


class Bridge:
    """The daemon with one robot rob1; extra top-level config members in extra."""

    def __init__(self, extra=None, robots=None, limits=None):
        self.dir = tempfile.mkdtemp(prefix="rb-web-")
        cfg = {
            "robot_listen": "127.0.0.1:0",
            "json_listen": "127.0.0.1:0",
            "http_listen": "127.0.0.1:0",
            "http_root": WWW,
            "robots": robots or [{"name": "rob1", "peer": "127.0.0.1",
                                  "commands": ["PING", "SETDO", "SETREG", "SPEED", "CALL", "STOP"]}],
        }
        if limits:
            cfg["limits"] = limits
        cfg.update(extra or {})
        self.tls = "http_tls" in cfg  # https:// and wss://
        self.config = os.path.join(self.dir, "bridge.json")
        with open(self.config, "w") as f:
            json.dump(cfg, f)
        self.log_path = os.path.join(self.dir, "bridge.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([os.environ["RB_BIN"], "-c", self.config],
                                     stderr=self.log, stdout=subprocess.DEVNULL)
        self.sim = None
        deadline = time.time() + 10
        while time.time() < deadline:
            text = open(self.log_path).read()
            m = re.search(r"HTTP and WebSocket on \S*:(\d+)", text)
            if m and "ready:" in text:
                self.http_port = int(m.group(1))
                self.robot_port = int(re.search(r"listening for robots on \S*:(\d+)", text).group(1))
                self.json_port = int(re.search(r"listening for clients on \S*:(\d+)", text).group(1))
                return
            if self.proc.poll() is not None:
                raise RuntimeError("bridge exited: " + text)
            time.sleep(0.05)
        raise RuntimeError("bridge did not start: " + open(self.log_path).read())

    @property
    def url(self):
        return "%s://127.0.0.1:%d" % ("https" if self.tls else "http", self.http_port)

    @property
    def ws_url(self):
        return "%s://127.0.0.1:%d/ws" % ("wss" if self.tls else "ws", self.http_port)

    def start_sim(self, rate=50, extra=()):
        self.sim_log = open(os.path.join(self.dir, "sim.log"), "w")
        self.sim = subprocess.Popen([os.environ["RB_SIM"], "--connect", "127.0.0.1:%d" % self.robot_port,
                                     "--name", "rob1", "--rate", str(rate), *extra],
                                    stderr=self.sim_log, stdout=subprocess.DEVNULL)

    def stop_sim(self):
        if self.sim:
            self.sim.send_signal(signal.SIGTERM)
            self.sim.wait(5)
            self.sim = None

    def wait_linked(self, timeout=5):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with TcpClient(self.json_port) as c:
                robots = c.request({"cmd": "robots"})
                if robots["robots"][0]["connected"]:
                    return
            time.sleep(0.05)
        raise RuntimeError("rob1 did not link")

    def close(self):
        self.stop_sim()
        if self.log.closed:
            return self.proc.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode

    def exited_cleanly(self):
        """After close(): status 0, and nothing a sanitizer said in the log."""
        rc = self.close()
        text = open(self.log_path).read()
        assert rc == 0 and "Sanitizer" not in text and "runtime error" not in text, \
            "bridge exit status %s: %s" % (rc, text[-2000:])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class TcpClient:
    """A JSON-lines client on the TCP API (to compare with what /ws says)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""
        self.line()  # VERSION

    def line(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("bridge closed the connection")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def request(self, req):
        req = dict(req, id="t")
        self.sock.sendall((json.dumps(req) + "\n").encode())
        while True:
            reply = self.line()
            if reply.get("id") == "t":
                return reply

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.sock.close()


class Tally:
    def __init__(self, name):
        self.name, self.passed, self.failed = name, 0, 0

    def run(self, fn, *args):
        t0 = time.time()
        try:
            fn(*args)
            self.passed += 1
            print("[       OK ] %s (%.1f s)" % (fn.__name__, time.time() - t0), flush=True)
        except Exception as e:  # report and go on: one run names every failure
            self.failed += 1
            print("[  FAILED  ] %s: %s: %s" % (fn.__name__, type(e).__name__, e), flush=True)

    def finish(self):
        print("%s: %d passed, %d failed" % (self.name, self.passed, self.failed), flush=True)
        sys.exit(1 if self.failed else 0)
