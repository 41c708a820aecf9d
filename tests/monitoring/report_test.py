#!/usr/bin/python3
"""jobq-sim --report FILE.html in a real headless Chromium: the page loads
with no network, every chart is an inline SVG that lays out with a
non-zero size and draws its marks, and a screenshot is taken for people to
look at. Also: --report leaves the event stream on stdout byte-identical.

    report_test.py JOBQ-SIM SCENARIO.json OUTPUT-DIR
"""
import html
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Children, Tap, need_program  # noqa: E402

SIM, SCENARIO, OUTDIR = sys.argv[1], sys.argv[2], sys.argv[3]

# Two namespaces: one without any quota, one with a cpu quota only, so the
# page must have exactly one resource chart (cpu of "capped").
SMALL = {
    "tick_seconds": 5,
    "namespaces": {"open": {}, "capped": {"cpu": "4"}},
    "runs": [{"id": f"r{i}", "job": "etl" if i % 2 else "ml",
              "namespace": "capped" if i % 3 else "open",
              "priority": "high" if i % 4 == 0 else "normal",
              "submit_at": i * 30, "duration": 600, "cpu": "2",
              "memory": "1Gi", "pods": 1} for i in range(24)],
}

# Appended to a copy of the page: measures what Chromium laid out and
# writes it into the DOM for --dump-dom (the report itself has no script).
PROBE = """<script>
const charts = [...document.querySelectorAll('svg')].map(svg => {
  const box = svg.getBoundingClientRect();
  const marks = [...svg.querySelectorAll('path, rect')];
  const drawn = marks.filter(m => {
    const b = m.getBBox(); return b.width > 0 || b.height > 0; }).length;
  return {title: svg.getAttribute('aria-label'), width: box.width,
          height: box.height, marks: marks.length, drawn: drawn,
          texts: svg.querySelectorAll('text').length};
});
const pre = document.createElement('pre');
pre.id = 'probe';
pre.textContent = JSON.stringify(charts);
document.body.appendChild(pre);
</script>"""

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-quic", "--no-first-run",
                  "--disable-background-networking",
                  "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--hide-scrollbars"]


def run_sim(*args):
    r = subprocess.run([SIM, *args], capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout


def stdout_unchanged(scenario, report):
    plain = run_sim(scenario)
    with_report = run_sim("--report", report, scenario)
    assert plain == with_report, "--report changed the event stream"
    assert plain.endswith(b"}}\n") and b'"summary"' in plain.splitlines()[-1]


def self_contained(report):
    with open(report) as f:
        page = f.read()
    assert page.startswith("<!DOCTYPE html>"), page[:40]
    assert "<script" not in page, "the report has a script"
    for pattern in (r"https?://", r"\bsrc=", r"<link\b", r"@import",
                    r"url\("):
        assert not re.search(pattern, page), f"external reference {pattern}"


def chromium(children, *args):
    profile = os.path.join(children.tmp, f"profile-{len(os.listdir(children.tmp))}")
    r = subprocess.run([CHROMIUM, *CHROMIUM_FLAGS,
                        f"--user-data-dir={profile}", *args],
                       capture_output=True, timeout=90)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    return r.stdout.decode()


def measured_charts(children, report):
    probe_page = os.path.join(children.tmp, "probe.html")
    with open(report) as f:
        page = f.read()
    with open(probe_page, "w") as f:
        f.write(page.replace("</body>", PROBE + "</body>"))
    dom = chromium(children, "--dump-dom", "file://" + probe_page)
    m = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert m, "the probe did not run: " + dom[-500:]
    return json.loads(html.unescape(m.group(1)))


def charts_rendered(children, report, expected_titles):
    charts = measured_charts(children, report)
    titles = [c["title"] for c in charts]
    assert titles == expected_titles, titles
    for c in charts:
        assert c["width"] > 100 and c["height"] > 100, c
        assert c["drawn"] >= 1, f"nothing drawn in {c}"
        assert c["texts"] >= 8, f"no axes or legend in {c}"
    print(f"# {len(charts)} charts laid out, e.g. {charts[0]}", flush=True)


def screenshot(children, report, png):
    chromium(children, f"--screenshot={png}", "--window-size=860,4000",
             "file://" + report)
    with open(png, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    # A blank page compresses to a few KB; charts with text do not.
    assert len(data) > 40000, f"suspiciously small screenshot: {len(data)}"
    print(f"# screenshot {png} ({len(data)} bytes)", flush=True)


def report_needs_file():
    r = subprocess.run([SIM, "--report"], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 2, r.returncode
    assert "--report needs a file name" in r.stderr, r.stderr


def unwritable_report_fails_first():
    r = subprocess.run([SIM, "--report", "/nonexistent/dir/report.html",
                        SCENARIO], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1, r.returncode
    assert r.stdout == "", "events were written before the failure"
    assert "cannot write /nonexistent/dir/report.html" in r.stderr, r.stderr


def demo_titles():
    titles = ["Queue length in namespace analytics",
              "Queue length in namespace ml"]
    for ns in ("analytics", "ml"):
        for dim in ("cpu", "memory", "pods", "storage"):
            titles.append(f"{dim} in namespace {ns}: used and quota")
    return titles + ["Wait time from submission to deployment"]


def main():
    global CHROMIUM
    CHROMIUM = need_program("/usr/bin/chromium")
    tap = Tap()
    os.makedirs(OUTDIR, exist_ok=True)
    with Children("jobq-report-test-") as children:
        small = os.path.join(children.tmp, "small.json")
        with open(small, "w") as f:
            json.dump(SMALL, f)
        demo_report = os.path.join(OUTDIR, "demo-report.html")
        small_report = os.path.join(children.tmp, "small-report.html")
        tap.check("--report leaves stdout byte-identical (demo)",
                  stdout_unchanged, SCENARIO, demo_report)
        tap.check("--report leaves stdout byte-identical (small)",
                  stdout_unchanged, small, small_report)
        tap.check("the page is self-contained", self_contained, demo_report)
        tap.check("demo: every chart renders in Chromium", charts_rendered,
                  children, demo_report, demo_titles())
        tap.check("small: only dimensions with a quota get a chart",
                  charts_rendered, children, small_report,
                  ["Queue length in namespace open",
                   "Queue length in namespace capped",
                   "cpu in namespace capped: used and quota",
                   "Wait time from submission to deployment"])
        tap.check("a screenshot of the demo report",
                  screenshot, children, demo_report,
                  os.path.join(OUTDIR, "demo-report.png"))
        tap.check("--report without a file is refused", report_needs_file)
        tap.check("an unwritable report path fails before any output",
                  unwritable_report_fails_first)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
