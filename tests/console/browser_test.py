#!/usr/bin/python3
"""The console of jobq-k8s-host in a real headless Chromium (driven over
WebDriver by chromedriver, Debian's chromium-driver): the overview of a
blocked head names the resource and amounts and counts down; a cancel
with the token cancels the run and the page shows it; without the token
the action is refused and nothing changes; a bad property value is
refused with a message naming the field; an unknown run id is a 404 page.
Screenshots of every page at 1366x768 go to OUTPUT-DIR.

    browser_test.py JOBQ-K8S-HOST OUTPUT-DIR
"""
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "monitoring"))
from harness import Tap, free_port  # noqa: E402
import console_env as ce  # noqa: E402

HOST, OUTDIR = sys.argv[1], sys.argv[2]


class Browser:
    """The few WebDriver commands the test needs, over urllib."""

    def __init__(self, driver, chromium, tmp):
        self.port = free_port()
        self.log = open(os.path.join(tmp, "chromedriver.log"), "w")
        self.proc = subprocess.Popen([driver, f"--port={self.port}"],
                                     stdout=self.log, stderr=self.log)
        try:
            self._start(chromium)
        except Exception as err:
            # The driver is ours until close(), which nobody calls when
            # the constructor fails: stop it here, or it outlives the test.
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.log.close()
            if "unable to connect to renderer" in str(err):
                raise RuntimeError(
                    f"{err}\nchromedriver reaches Chromium through "
                    "'localhost': does it resolve (/etc/hosts)?") from err
            raise

    def _start(self, chromium):
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": [
                "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--window-size=1366,768",
                "--hide-scrollbars", "--no-first-run",
                "--disable-background-networking"]}}}}
        self.session = self.call("POST", "/session", caps)["sessionId"]
        # The viewport (what a screenshot shows) at 1366x768: the window
        # is that plus whatever the headless browser counts as its frame.
        extra = self.js("return [window.outerWidth - window.innerWidth,"
                        " window.outerHeight - window.innerHeight]")
        self.s("POST", "/window/rect", {"width": 1366 + extra[0],
                                        "height": 768 + extra[1]})
        size = self.js("return [window.innerWidth, window.innerHeight]")
        assert size == [1366, 768], size

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
            headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return json.loads(resp.read())["value"]
        except urllib.error.HTTPError as err:
            raise RuntimeError(err.read().decode()[:2000])

    def s(self, method, path, body=None):
        return self.call(method, f"/session/{self.session}{path}", body)

    def get(self, url):
        self.s("POST", "/url", {"url": url})
        self.wait_js("return document.body.dataset.ready === '1'")

    def js(self, script, *args):
        return self.s("POST", "/execute/sync",
                      {"script": script, "args": list(args)})

    def wait_js(self, script, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.js(script)
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for: {script}")

    def text(self, selector):
        return self.js("const e = document.querySelector(arguments[0]);"
                       "return e ? e.innerText : null;", selector)

    def screenshot(self, name):
        png = base64.b64decode(self.s("GET", "/screenshot"))
        with open(os.path.join(OUTDIR, name + ".png"), "wb") as f:
            f.write(png)
        print(f"# screenshot {os.path.join(OUTDIR, name + '.png')}",
              flush=True)

    def close(self):
        try:
            self.s("DELETE", "")
        except Exception:
            pass
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()


def overview_shows_blocked_head(b, base):
    b.get(base + "/")
    row = b.wait_js("const r = document.querySelector("
                    "'tr[data-queue=\"ml-team/high\"]');"
                    "return r && r.innerText;")
    assert "blocked" in row and "cpu" in row, row
    assert "needs 6 cores, 4 available" in row, row
    assert "2 used" not in row and "0 used, 2 left" in row, row
    first = b.text('tr[data-queue="ml-team/high"] .countdown')
    assert first and ("h" in first or "m" in first), first
    time.sleep(2.2)
    second = b.text('tr[data-queue="ml-team/high"] .countdown')
    assert second != first, (first, second)  # it counts down
    quota = b.text("#quota")
    assert "analytics" in quota and "cpu" in quota, quota
    b.screenshot("overview")
    b.get(base + "/run/1")
    facts = b.text("#facts")
    assert "needs 6 cores, 4 cores available" in facts, facts
    b.screenshot("run-head")


def cancel_without_token_is_refused(b, base):
    b.js("sessionStorage.removeItem('jobq-token')")
    b.get(base + "/run/3")
    b.js("document.querySelector('#cancel').click()")
    msg = b.wait_js("const e = document.querySelector('#action-result "
                    ".msg'); return e && e.innerText;")
    assert "token" in msg, msg
    _, doc = ce.request("GET", base + "/api/v1/runs/3")
    assert doc["run"]["state"] == "queued", doc["run"]
    b.get(base + "/run/3")
    assert "queued" in b.text("#facts")


def cancel_with_token(b, base):
    b.js("sessionStorage.setItem('jobq-token', arguments[0])",
         ce.ADMIN_TOKEN)
    b.get(base + "/run/3")
    b.screenshot("run")
    b.js("document.querySelector('#cancel-detail').value = 'not needed';"
         "document.querySelector('#cancel').click()")
    b.wait_js("const e = document.querySelector('#action-result .msg.ok');"
              "return e && e.innerText;")
    facts = b.text("#facts")
    assert "cancelled" in facts and "not needed" in facts, facts
    assert "cancelled" in b.text("#timeline")
    b.screenshot("run-cancelled")
    _, doc = ce.request("GET", base + "/api/v1/runs/3")
    assert doc["run"]["state"] == "cancelled", doc["run"]


def bad_property_names_field(b, base):
    b.get(base + "/settings")
    key = "job-orchestrator.queue.head-timeout-seconds"
    b.js("const row = document.querySelector(`tr[data-key=\"${arguments[0]}\"]`);"
         "row.querySelector('.value').value = '\"soon\"';"
         "row.querySelector('.save').click();", key)
    msg = b.wait_js("const e = document.querySelector("
                    f"'tr[data-key=\"{key}\"] .msg');"
                    "return e && e.innerText;")
    assert key in msg and "integer" in msg, msg
    b.screenshot("settings")
    _, doc = ce.request("GET", base + "/api/v1/properties/" + key)
    assert doc["value"] == 3600, doc


def unknown_run_is_404(b, base):
    status, _ = ce.request("GET", base + "/run/987654")
    assert status == 404, status
    b.get(base + "/run/987654")
    text = b.text("#not-found")
    assert text and "404" in text and "987654" in text, text
    b.screenshot("run-404")


def other_pages(b, base):
    b.get(base + "/queue?namespace=ml-team&priority=high")
    runs = b.text("#runs")
    assert "giant" in runs and "train" in runs, runs
    b.screenshot("queue")
    b.get(base + "/search?q=train")
    b.wait_js("return document.querySelector('#results')")
    assert "train" in b.text("#results")
    b.screenshot("search")
    b.get(base + "/events")
    assert "cancelled" in b.text("#events")
    b.screenshot("events")


def main():
    chromium = shutil.which("chromium")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        print("1..0 # SKIP chromium and chromium-driver are not installed "
              "(scripts/deps.sh test installs them)")
        return 0
    os.makedirs(OUTDIR, exist_ok=True)
    tap = Tap()
    env, host, base = ce.start(HOST, small_runs=6)
    browser = None
    try:
        ce.wait_blocked_head(base)
        browser = Browser(driver, chromium, env.dir)
        tap.check("the overview names the blocked head's resource and "
                  "amounts and counts down", overview_shows_blocked_head,
                  browser, base)
        tap.check("without the token a cancel is refused and nothing "
                  "changes", cancel_without_token_is_refused, browser, base)
        tap.check("with the token a cancel cancels the run and the page "
                  "shows it", cancel_with_token, browser, base)
        tap.check("a bad property value is refused naming the field",
                  bad_property_names_field, browser, base)
        tap.check("an unknown run id is a 404 page", unknown_run_is_404,
                  browser, base)
        tap.check("queue, search and events pages", other_pages, browser,
                  base)
    finally:
        if browser:
            browser.close()
        env.close()
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
