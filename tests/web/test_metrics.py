#!/usr/bin/python3
"""test_metrics.py - /metrics read by a real Prometheus parser (Debian's
python3-prometheus-client) and checked against STATS: every family of
interface 1.1 F present, frames and bad frames as STATS counts them,
commands by outcome, the ack histogram, clients by kind, counters that only
grow, and the HTTP side (content type, 404, only this fixed set of files).
"""
import json
import time
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from rbweb import Bridge, TcpClient, Tally

FAMILIES = ["rapidbridge_build_info", "rapidbridge_robot_link_up", "rapidbridge_frames_received",
            "rapidbridge_frame_errors", "rapidbridge_commands", "rapidbridge_command_ack_seconds",
            "rapidbridge_clients", "rapidbridge_stream_drops", "rapidbridge_mqtt_connected"]


def scrape(b):
    with urllib.request.urlopen(b.url + "/metrics", timeout=5) as r:
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers
        text = r.read().decode()
    fams = {f.name: f for f in text_string_to_metric_families(text)}
    return text, fams


def value(fams, fam, suffix="", **labels):
    total, n = 0, 0
    for s in fams[fam].samples:
        if s.name == fam + suffix and all(s.labels.get(k) == v for k, v in labels.items()):
            total += s.value
            n += 1
    assert n, "no sample %s%s %s" % (fam, suffix, labels)
    return total


def families_present_when_idle(b):
    text, fams = scrape(b)
    for f in FAMILIES:
        assert f in fams, "family %s missing" % f
    assert fams["rapidbridge_command_ack_seconds"].type == "histogram"
    assert fams["rapidbridge_frames_received"].type == "counter"
    assert value(fams, "rapidbridge_build_info", version="0.1.0") == 1
    assert value(fams, "rapidbridge_mqtt_connected") == 0
    assert value(fams, "rapidbridge_robot_link_up", robot="rob1") == 0
    assert value(fams, "rapidbridge_clients", kind="unix") == 0
    for line in text.splitlines():
        assert len(line) < 300 and "\r" not in line, line


def against_stats(b):
    b.start_sim(rate=200, extra=("--bad-every", "50"))
    b.wait_linked()
    with TcpClient(b.json_port) as c:
        for v in (1, 0, 1):
            a = c.request({"cmd": "send", "robot": "rob1", "type": "SETDO",
                           "fields": {"name": "doGrip", "value": v}})
            assert a["class"] == "ACK", a
        time.sleep(0.5)
        _, live = scrape(b)
        assert value(live, "rapidbridge_robot_link_up", robot="rob1") == 1
        assert value(live, "rapidbridge_clients", kind="tcp") >= 1
        b.stop_sim()
        deadline = time.time() + 5
        while c.request({"cmd": "robots"})["robots"][0]["connected"] and time.time() < deadline:
            time.sleep(0.05)
        stats = c.request({"cmd": "stats"})
        _, fams = scrape(b)
    assert value(fams, "rapidbridge_frames_received", "_total") == stats["frames_in"], stats
    assert value(fams, "rapidbridge_frames_received", "_total", type="JT") > 0
    assert value(fams, "rapidbridge_frames_received", "_total") >= value(live, "rapidbridge_frames_received", "_total")
    for cause, n in stats["errors"].items():
        assert value(fams, "rapidbridge_frame_errors", "_total", cause=cause) == n, (cause, n)
    assert sum(stats["errors"].values()) > 0, stats
    assert value(fams, "rapidbridge_commands", "_total", robot="rob1", type="SETDO", outcome="ok") == 3
    sent = sum(value(fams, "rapidbridge_commands", "_total", outcome=o) for o in ("ok", "err", "timeout"))
    assert sent == stats["commands"], (sent, stats["commands"])
    h = "rapidbridge_command_ack_seconds"
    assert value(fams, h, "_count", robot="rob1") == 3
    assert value(fams, h, "_bucket", robot="rob1", le="+Inf") == 3
    assert 0 < value(fams, h, "_sum", robot="rob1") < 15
    buckets = [s for s in fams[h].samples if s.name == h + "_bucket"]
    counts = [s.value for s in buckets]
    assert counts == sorted(counts), counts
    assert value(fams, "rapidbridge_stream_drops", "_total") == stats["drops"]
    assert value(fams, "rapidbridge_robot_link_up", robot="rob1") == 0


def http_side(b):
    for path, code in (("/nope", 404), ("/../../etc/passwd", 404), ("/www/index.html", 404),
                       ("/ws", 400)):
        try:
            urllib.request.urlopen(b.url + path, timeout=5)
            raise AssertionError("%s answered 200" % path)
        except urllib.error.HTTPError as e:
            assert e.code == code, (path, e.code)
    with urllib.request.urlopen(b.url + "/", timeout=5) as r:
        assert r.headers["Content-Type"].startswith("text/html"), r.headers
        assert "default-src 'none'" in r.headers["Content-Security-Policy"]


def main():
    t = Tally("metrics")
    with Bridge() as b:
        for fn in (families_present_when_idle, against_stats, http_side):
            t.run(fn, b)
        t.run(b.exited_cleanly)
    t.finish()


if __name__ == "__main__":
    main()
