#!/usr/bin/python3
"""test_browser.py - the operator page in a real browser: headless Chromium
(Debian's chromium and chromium-driver, driven with python3-selenium) against
the real daemon and robot-sim at 250 Hz. It sees the joints move within a
second, logs in with a token, takes control, sends SETDO and sees its ACK,
sees the robot marked stale once robot-sim stops, and checks that the page
loads nothing from another host, draws smoothly and fits a 1024x600 panel.
Screenshots: RB_WEB_SHOT (default build/web/operator.png) at 1920x1080, and
beside it operator-1024x600.png.

RB_WEB_TEST_NO_AUTH=1 skips the login and control steps (and the tokens_file
and access keys they need) for a bridge without the auth branch.
"""
import hashlib
import json
import os
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from rbweb import Bridge, Tally

NO_AUTH = os.environ.get("RB_WEB_TEST_NO_AUTH") == "1"
SHOT = os.environ.get("RB_WEB_SHOT", os.path.join("build", "web", "operator.png"))
TOKEN = "browser-test-" + hashlib.sha256(os.urandom(16)).hexdigest()[:24]


def auth_config(dirname):
    tokens = os.path.join(dirname, "tokens")
    with open(tokens, "w") as f:
        f.write("hmi1 %s\n" % hashlib.sha256(TOKEN.encode()).hexdigest())
    os.chmod(tokens, 0o600)
    return {"tokens_file": tokens,
            "access": [{"who": ["token:hmi1"], "robots": ["rob1"],
                        "may": ["watch", "control", "SETDO", "SPEED", "STOP"]},
                       {"who": ["anonymous"], "may": ["watch"]}]}


def browser():
    opts = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              "--window-size=1920,1080", "--no-first-run", "--disable-extensions"):
        opts.add_argument(a)
    opts.binary_location = "/usr/bin/chromium"
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def wait(d, cond, timeout, what):
    return WebDriverWait(d, timeout, poll_frequency=0.05).until(lambda _: cond(), message=what)


class Page:
    def __init__(self, b, d):
        self.b, self.d = b, d

    def robot(self):
        return self.d.find_element(By.CSS_SELECTOR, 'section.robot[data-robot="rob1"]')

    def joints(self):
        return [e.text for e in self.robot().find_elements(By.CSS_SELECTOR, ".joint .val")]


def joints_move(p):
    p.d.get(p.b.url + "/")
    wait(p.d, lambda: p.joints() and p.joints()[0] not in ("", "–"), 5, "no joint values")
    first = p.joints()
    t0 = time.time()
    wait(p.d, lambda: p.joints() != first, 1.0, "joint values did not change within 1 s")
    print("    joints %s -> %s after %.2f s" % (first, p.joints(), time.time() - t0))
    assert "linked" in p.robot().find_element(By.CSS_SELECTOR, ".link").text
    assert "stale" not in p.robot().get_attribute("class")


def login_and_control(p):
    if NO_AUTH:
        print("    skipped (RB_WEB_TEST_NO_AUTH=1)")
        return
    tok = p.d.find_element(By.ID, "token")
    tok.send_keys(TOKEN + Keys.ENTER)  # the keyboard is enough
    wait(p.d, lambda: "logged in" in p.d.find_element(By.ID, "login-result").text, 5,
         "no AUTH: " + p.d.find_element(By.ID, "login-result").text)
    assert p.d.find_element(By.ID, "principal").text == "token:hmi1"
    assert TOKEN not in p.d.page_source
    p.robot().find_element(By.CSS_SELECTOR, "button.take").click()
    res = lambda: p.robot().find_element(By.CSS_SELECTOR, ".control-result").text
    wait(p.d, lambda: "in control" in res(), 5, "no CONTROL: " + res())


def setdo_ack(p):
    form = p.robot().find_element(By.CSS_SELECTOR, 'form.cmd[data-type="SETDO"]')
    form.find_element(By.NAME, "name").send_keys("doGrip")
    value = form.find_element(By.NAME, "value")
    value.clear()
    value.send_keys("1")
    form.find_element(By.CSS_SELECTOR, 'button[type="submit"]').click()
    res = lambda: form.find_element(By.CSS_SELECTOR, ".cmd-result").text
    wait(p.d, lambda: res().startswith("ACK"), 5, "no ACK: " + res())
    assert "OK" in res(), res()
    print("    " + res())
    # The forms come from the frames request: every command type is there.
    types = {f.get_attribute("data-type") for f in p.robot().find_elements(By.CSS_SELECTOR, "form.cmd")}
    assert {"SETDO", "SPEED"} <= types, types
    # STOP stays one click away, in the header.
    assert p.d.find_element(By.CSS_SELECTOR, '#stops button.stop[data-robot="rob1"]').is_displayed()


def io_and_events(p):
    io = lambda: {r.find_elements(By.TAG_NAME, "td")[0].text: r.find_elements(By.TAG_NAME, "td")[1].text
                  for r in p.robot().find_elements(By.CSS_SELECTOR, ".io tr")}
    wait(p.d, lambda: io().get("doGrip") == "1", 5, "doGrip not 1 in the I/O map: %s" % io())
    st = p.robot().find_element(By.CSS_SELECTOR, ".exec").text
    assert st in ("RUNNING", "STOPPED"), st
    assert p.robot().find_element(By.CSS_SELECTOR, ".tool").text not in ("", "–")


def smooth_and_local(p):
    # Animation frames keep coming while 250 frames/s arrive.
    n = p.d.execute_async_script("""
        const done = arguments[0]; let n = 0; const t0 = performance.now();
        function f(t) { n++; if (t - t0 < 1000) requestAnimationFrame(f); else done(n); }
        requestAnimationFrame(f);""")
    print("    %d animation frames in 1 s at 250 robot frames/s" % n)
    assert n >= 20, n
    origin = p.b.url
    urls = p.d.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert all(u.startswith(origin) or u.startswith("ws://127.0.0.1") for u in urls), urls
    severe = [e for e in p.d.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, severe


def screenshots(p):
    os.makedirs(os.path.dirname(os.path.abspath(SHOT)), exist_ok=True)
    time.sleep(0.3)
    p.d.save_screenshot(SHOT)
    p.d.set_window_size(1024, 600)
    time.sleep(0.3)
    width = p.d.execute_script("return document.documentElement.scrollWidth")
    small = os.path.join(os.path.dirname(os.path.abspath(SHOT)), "operator-1024x600.png")
    p.d.save_screenshot(small)
    print("    %s, %s" % (SHOT, small))
    assert width <= 1024, "the page is %d px wide at 1024x600" % width
    p.d.set_window_size(1920, 1080)


def stale_after_stop(p):
    p.b.stop_sim()
    wait(p.d, lambda: "stale" in p.robot().get_attribute("class"), 5, "not marked stale")
    assert "down" in p.robot().find_element(By.CSS_SELECTOR, ".link").text
    assert p.robot().find_element(By.CSS_SELECTOR, ".stale-tag").is_displayed()
    # Its last values stay on screen.
    assert p.joints()[0] not in ("", "–")


def main():
    t = Tally("web")
    d = None
    try:
        import tempfile
        extra = {} if NO_AUTH else auth_config(tempfile.mkdtemp(prefix="rb-web-tok-"))
        with Bridge(extra=extra) as b:
            b.start_sim(rate=250)
            b.wait_linked()
            d = browser()
            p = Page(b, d)
            for fn in (joints_move, login_and_control, setdo_ack, io_and_events, smooth_and_local,
                       screenshots, stale_after_stop):
                t.run(fn, p)
            d.quit()
            d = None
            t.run(b.exited_cleanly)
    except Exception as e:
        t.failed += 1
        print("[  FAILED  ] set-up: %s: %s" % (type(e).__name__, e))
    finally:
        if d:
            d.quit()
    t.finish()


if __name__ == "__main__":
    main()
